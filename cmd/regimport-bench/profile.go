package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/regimport/regimport/internal/testregistry"
)

// cpuPart is a part of regimport that a CPU sample is attributed to.
type cpuPart int

// The parts, in order of precedence: a sample belongs to the first part
// that has a frame anywhere on its stack.
const (
	partCatalog cpuPart = iota
	partSignatures
	partNormalize
	partRegistry
	partRest
	numParts
)

var partNames = [numParts]string{
	partCatalog:    "catalog writer (regimport/catalog/..., with SQLite and database/sql under it)",
	partSignatures: "signature verification (regimport/signatures, with OpenPGP under it)",
	partNormalize:  "normalization (importer's Normalize* and normalize* functions)",
	partRegistry:   "registry client (regimport/registry, with net/http and TLS under it)",
	partRest:       "runtime and other (GC, scheduler, net/http's connection goroutines, the importer's own work)",
}

const module = "github.com/regimport/regimport/"

// partOf is the part that function (a pprof function name such as
// "github.com/regimport/regimport/catalog.(*Writer).Put.func1") belongs
// to, or partRest.
func partOf(function string) cpuPart {
	switch {
	case inPackageTree(function, module+"catalog"):
		return partCatalog
	case inPackageTree(function, module+"signatures"):
		return partSignatures
	case isNormalize(function):
		return partNormalize
	case inPackageTree(function, module+"registry"):
		return partRegistry
	}
	return partRest
}

// inPackageTree says whether function is in the package pkg or one below
// it: "pkg.F" and "pkg/sub.F", not "pkgother.F".
func inPackageTree(function, pkg string) bool {
	rest, ok := strings.CutPrefix(function, pkg)
	return ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/"))
}

// isNormalize says whether function is one of the importer package's
// normalization functions or methods (NormalizeImage, NormalizeList,
// normalizeList, (*ImageManifest).Normalize) or a closure in one.
func isNormalize(function string) bool {
	rest, ok := strings.CutPrefix(function, module+"importer.")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "(") { // a method: "(*T).Name"
		if i := strings.Index(rest, ")."); i >= 0 {
			rest = rest[i+2:]
		}
	}
	return strings.HasPrefix(strings.ToLower(rest), "normalize")
}

// cpuBreakdown is a CPU profile's samples, as CPU time, by part.
type cpuBreakdown struct {
	total time.Duration
	parts [numParts]time.Duration
}

// attribute sums p's CPU time by part: each sample goes to the part of
// highest precedence (partCatalog first) that has a frame, inlined ones
// included, anywhere on the sample's stack; a sample with none goes to
// partRest. The CPU time of a sample is its value of type "cpu".
func attribute(p *profile.Profile) (cpuBreakdown, error) {
	var b cpuBreakdown
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return b, fmt.Errorf("the profile has no cpu/nanoseconds sample type, only %v", p.SampleType)
	}
	for _, s := range p.Sample {
		part := partRest
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil {
					part = min(part, partOf(line.Function.Name))
				}
			}
		}
		d := time.Duration(s.Value[idx])
		b.parts[part] += d
		b.total += d
	}
	return b, nil
}

// readBreakdown parses the CPU profile in file and attributes it.
func readBreakdown(file string) (cpuBreakdown, error) {
	f, err := os.Open(file)
	if err != nil {
		return cpuBreakdown{}, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return cpuBreakdown{}, fmt.Errorf("parse the CPU profile %s: %w", file, err)
	}
	b, err := attribute(p)
	if err != nil {
		return b, fmt.Errorf("%s: %w", file, err)
	}
	return b, nil
}

// share is part's share of b's CPU time, as a percentage.
func (b cpuBreakdown) share(part cpuPart) float64 {
	if b.total == 0 {
		return 0
	}
	return 100 * b.parts[part].Seconds() / b.total.Seconds()
}

// profileBench is the profile section: a registry seeded with the largest
// of c.importTags, imported cold once with regimport's CPU profile, then
// every image signed in a lookaside store (as in the signed section) and
// imported again into a new catalog under the policy that requires the
// signatures, also with its CPU profile; both catalogs are checked. The
// block is each profile's CPU time by part (attribute).
func profileBench(ctx context.Context, c config, out io.Writer) (block, error) {
	n := c.importTags[len(c.importTags)-1]
	reg, pushed, err := seed(ctx, c, n, out)
	if err != nil {
		return block{}, err
	}
	defer reg.Close()
	images, tags := testregistry.Count(pushed)
	dir := filepath.Join(c.work, "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return block{}, err
	}
	profiles := dir // with -profile, the profiles are kept there for go tool pprof
	if c.profile != "" {
		profiles = c.profile
		if err := os.MkdirAll(profiles, 0o755); err != nil {
			return block{}, err
		}
	}
	coldProfile := filepath.Join(profiles, "cold-cpu.pprof")
	coldDB := filepath.Join(dir, "cold.db")
	cold, err := runImport(ctx, c, reg, coldDB, "--no-signatures", "--cpu-profile", coldProfile)
	if err != nil {
		return block{}, err
	}
	if err := checkCatalog(coldDB, images, tags); err != nil {
		return block{}, err
	}
	ls, err := signLookaside(reg, pushed, dir)
	if err != nil {
		return block{}, err
	}
	defer ls.close()
	signedProfile := filepath.Join(profiles, "signed-cpu.pprof")
	signedDB := filepath.Join(dir, "signed.db")
	signed, err := runImport(ctx, c, reg, signedDB, "--policy", ls.policy, "--registries.d", ls.regd, "--cpu-profile", signedProfile)
	if err != nil {
		return block{}, err
	}
	if err := checkCatalog(signedDB, images, tags); err != nil {
		return block{}, err
	}
	var bds [2]cpuBreakdown
	for i, file := range []string{coldProfile, signedProfile} {
		if bds[i], err = readBreakdown(file); err != nil {
			return block{}, err
		}
	}
	fmt.Fprintf(out, "profile: cold import %s (CPU %s, %s sampled), signed import %s (CPU %s, %s sampled)\n",
		cold.Wall.Round(time.Millisecond), cold.CPU.Round(time.Millisecond), bds[0].total.Round(time.Millisecond),
		signed.Wall.Round(time.Millisecond), signed.CPU.Round(time.Millisecond), bds[1].total.Round(time.Millisecond))
	cols := []profileColumn{{"cold import", bds[0]}, {"the same with signatures", bds[1]}}
	if c.profileBefore != "" {
		before, err := profileRevision(ctx, c, reg, images, tags, dir, profiles, ls)
		if err != nil {
			return block{}, err
		}
		cols = []profileColumn{{"cold import, before", before[0]}, {"cold import, now", bds[0]},
			{"with signatures, before", before[1]}, {"with signatures, now", bds[1]}}
	}
	return profileBlock(c, n, tags, images, cols), nil
}

// profileRevision builds regimport as it was at c.profileBefore and
// profiles its cold and signed imports of reg, as profileBench does the
// tree's own.
func profileRevision(ctx context.Context, c config, reg *testregistry.Registry, images, tags int, dir, profiles string, ls signedLookaside) ([2]cpuBreakdown, error) {
	var bds [2]cpuBreakdown
	bin, err := buildRevision(ctx, c.profileBefore, dir)
	if err != nil {
		return bds, err
	}
	old := c
	old.bin = bin
	runs := []struct {
		profile string
		args    []string
	}{
		{filepath.Join(profiles, "before-cold-cpu.pprof"), []string{"--no-signatures"}},
		{filepath.Join(profiles, "before-signed-cpu.pprof"), []string{"--policy", ls.policy, "--registries.d", ls.regd}},
	}
	for i, r := range runs {
		db := filepath.Join(dir, fmt.Sprintf("before-%d.db", i))
		if _, err := runImport(ctx, old, reg, db, append(r.args, "--cpu-profile", r.profile)...); err != nil {
			return bds, fmt.Errorf("regimport at %s: %w", c.profileBefore, err)
		}
		if err := checkCatalog(db, images, tags); err != nil {
			return bds, fmt.Errorf("regimport at %s: %w", c.profileBefore, err)
		}
		if bds[i], err = readBreakdown(r.profile); err != nil {
			return bds, err
		}
	}
	return bds, nil
}

// buildRevision builds cmd/regimport as it was at rev, a revision of the
// git checkout the benchmark runs in, through a temporary worktree in dir,
// and returns the binary.
func buildRevision(ctx context.Context, rev, dir string) (string, error) {
	src := filepath.Join(dir, "before-src")
	_ = exec.Command("git", "worktree", "remove", "--force", src).Run() // a run interrupted earlier
	if out, err := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
		return "", fmt.Errorf("check out %s: %v: %s", rev, err, out)
	}
	defer exec.Command("git", "worktree", "remove", "--force", src).Run()
	bin, err := filepath.Abs(filepath.Join(dir, "regimport-before"))
	if err != nil {
		return "", err
	}
	build := exec.CommandContext(ctx, "go", "build", "-tags=containers_image_openpgp", "-o", bin, "./cmd/regimport")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build regimport at %s: %v: %s", rev, err, out)
	}
	return bin, nil
}

// profileColumn is one column of the profile block: a profile and what it
// is of.
type profileColumn struct {
	title string
	bd    cpuBreakdown
}

// profileBlock is the profile section's Markdown.
func profileBlock(c config, n, tags, images int, cols []profileColumn) block {
	var b strings.Builder
	fmt.Fprintf(&b, "Imports of %d tags (%d images).", tags, images)
	if c.profileBefore != "" {
		fmt.Fprintf(&b, " Before: regimport as it was at `%s`, built by the benchmark, against the same registry; now: the tree the benchmark runs in.", c.profileBefore)
	}
	b.WriteString("\n\n| part |")
	for _, col := range cols {
		b.WriteString(" " + col.title + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for part := range numParts {
		fmt.Fprintf(&b, "| %s |", partNames[part])
		for _, col := range cols {
			fmt.Fprintf(&b, " **%.0f%%** |", col.bd.share(part))
		}
		b.WriteString("\n")
	}
	b.WriteString("| CPU time sampled |")
	for _, col := range cols {
		fmt.Fprintf(&b, " %.2f s |", col.bd.total.Seconds())
	}
	b.WriteString("\n\n")
	b.WriteString("Each column is the CPU profile (`regimport import --cpu-profile`) of one import into a new SQLite file: " +
		"first the registry imported cold with `--no-signatures`, then every image signed (simple signing, in a lookaside store served over HTTP on loopback, as in the signed section) and the same registry imported again under a policy that requires the signatures. " +
		"Both catalogs are checked to hold every image and tag. " +
		"A sample goes to one part: the first, in the table's order, that has a frame (inlined frames included) anywhere on the sample's stack; " +
		"so a sample whose stack holds both the catalog and the registry client is the catalog writer's, and SQLite's C code, reached through the catalog, is the catalog writer's. " +
		"net/http reads and writes each connection in goroutines of its own, whose stacks hold no caller's frame: that work is in runtime and other, for the registry's and the lookaside store's connections alike. " +
		"A share is the part's sampled CPU time over all of it; the sampled time is what the profiler saw (100 samples a second), a little under the process's CPU time. " +
		"One run of each: the shares are what to read, not the seconds, on a shared machine.\n")
	return block{
		name:  "profile",
		title: "Profile: where an import's CPU goes",
		flags: profileFlags(c, n),
		body:  b.String(),
	}
}

func profileFlags(c config, n int) string {
	f := fmt.Sprintf("-import-tags %d -concurrency %d -repos %d", n, c.concurrency, c.repos)
	if c.profileBefore != "" {
		f += " -profile-before " + c.profileBefore
	}
	return f
}
