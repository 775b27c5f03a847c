package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// signedBench is the signed section: each round imports the same registry
// (half of -tags) twice, without and with signature verification, every
// image signed (simple signing) in a lookaside store served over HTTP on
// loopback, under a policy that requires the signature; the two take turns
// at going first. Then the shared-repositories case (shared.go).
func signedBench(ctx context.Context, c config, out io.Writer) (block, error) {
	reg, pushed, err := seed(ctx, c, c.tags/2, out)
	if err != nil {
		return block{}, err
	}
	defer reg.Close()
	images, tags := testregistry.Count(pushed)
	dir := filepath.Join(c.work, "signed")
	ls, err := signLookaside(reg, pushed, dir)
	if err != nil {
		return block{}, err
	}
	defer ls.close()
	sign, lookasideRequests, policy, regd := ls.sign, ls.requests, ls.policy, ls.regd

	var plain, signed []measuredRun
	var lookasidePerImage, verifyMs, share []float64
	var accepted, rejected string
	plainRun := func(round int) error {
		db := filepath.Join(dir, fmt.Sprintf("plain-%d.db", round))
		r, err := runImport(ctx, c, reg, db, "--no-signatures")
		if err != nil {
			return err
		}
		plain = append(plain, r)
		return checkCatalog(db, images, tags)
	}
	signedRun := func(round int) error {
		db := filepath.Join(dir, fmt.Sprintf("signed-%d.db", round))
		lookasideRequests.Store(0)
		var stdout strings.Builder
		r, err := runImportCapture(ctx, c, reg, db, &stdout, "--policy", policy, "--registries.d", regd)
		if err != nil {
			return err
		}
		m := regexp.MustCompile(`pairs: (\d+) accepted, (\d+) rejected.*verification took ([0-9.a-zµ]+)`).FindStringSubmatch(stdout.String())
		if m == nil {
			return fmt.Errorf("signed import printed no signature summary:\n%s", stdout.String())
		}
		accepted, rejected = m[1], m[2]
		verify, _ := time.ParseDuration(m[3])
		signed = append(signed, r)
		lookasidePerImage = append(lookasidePerImage, float64(lookasideRequests.Load())/float64(images))
		verifyMs = append(verifyMs, float64(verify.Microseconds())/1000/float64(images))
		return checkCatalog(db, images, tags)
	}
	if err := alternate(c.rounds, plainRun, signedRun); err != nil {
		return block{}, err
	}
	if c.profile != "" {
		if err := profileSigned(ctx, c, reg, dir, policy, regd); err != nil {
			return block{}, err
		}
	}
	for i := range plain {
		share = append(share, (signed[i].CPU-plain[i].CPU).Seconds()/signed[i].CPU.Seconds())
		fmt.Fprintf(out, "signed round %d: unsigned %s, signed %s (%s accepted, %s rejected)\n", i+1, plain[i].Wall.Round(time.Millisecond), signed[i].Wall.Round(time.Millisecond), accepted, rejected)
	}
	perImage := func(runs []measuredRun) []float64 {
		return field(runs, func(r measuredRun) float64 { return perImageMs(r.CPU, images) })
	}
	reqsPerImage := func(runs []measuredRun) []float64 { return scaled(field(runs, requestCount), 1/float64(images)) }

	var b strings.Builder
	b.WriteString("| figure | without signatures | with signatures | with / without |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| import, start to exit | %s | %s | speed **%s** of unsigned |\n",
		over(field(plain, wallSeconds)).value("%.2f s"), over(field(signed, wallSeconds)).value("%.2f s"), ratios(field(plain, wallSeconds), field(signed, wallSeconds)).percent())
	fmt.Fprintf(&b, "| CPU per image (user + system) | %s | %s | %s |\n",
		over(perImage(plain)).value("%.3f ms"), over(perImage(signed)).value("%.3f ms"), ratios(field(signed, cpuSeconds), field(plain, cpuSeconds)).times())
	hostPerImage := func(runs []measuredRun) []float64 {
		return field(runs, func(r measuredRun) float64 { return perImageMs(r.HostCPU, images) })
	}
	fmt.Fprintf(&b, "| CPU per image of the registry and the lookaside store (the benchmark's own process while the import ran) | %s | %s | %s |\n",
		over(hostPerImage(plain)).value("%.3f ms"), over(hostPerImage(signed)).value("%.3f ms"), ratios(field(signed, hostCPUSeconds), field(plain, hostCPUSeconds)).times())
	fmt.Fprintf(&b, "| registry requests per image | %.3f | %.3f | |\n", median(reqsPerImage(plain)), median(reqsPerImage(signed)))
	fmt.Fprintf(&b, "| lookaside requests per image | – | %.3f | |\n", median(lookasidePerImage))
	fmt.Fprintf(&b, "| accepted / rejected (last round) | – | %s / %s | |\n", accepted, rejected)
	fmt.Fprintf(&b, "| verification wall time per image, summed over workers (includes waiting for a CPU) | – | %s | |\n", over(verifyMs).value("%.2f ms"))
	fmt.Fprintf(&b, "| signatures' share of regimport's CPU, (signed − unsigned) / signed, round by round | – | %s | |\n\n", over(scaled(share, 100)).value("%.0f%%"))
	b.WriteString(targetsTable([]target{signedTarget(field(plain, wallSeconds), field(signed, wallSeconds))}) + "\n")
	b.WriteString("Each round imports the registry into a new SQLite file once with `--no-signatures` and once under a policy that requires every image's simple signing signature, from a lookaside store served over HTTP on loopback; the two take turns at going first. Both are measured processes, as in the import section; each catalog is checked to hold every image and tag. The registry and the lookaside store run in the benchmark's process, on the same CPUs as the import, so an import's time follows its CPU and theirs together.\n\n")
	shared, err := sharedCase{reg: reg, pushed: pushed, sign: sign, lookaside: lookasideRequests, policy: policy, regd: regd}.run(ctx, c, dir, out)
	if err != nil {
		return block{}, err
	}
	b.WriteString(shared)
	return block{
		name:  "signed",
		title: "Import with signatures against the same import without",
		flags: fmt.Sprintf("-tags %d -rounds %d -concurrency %d -repos %d", c.tags, c.rounds, c.concurrency, c.repos),
		body:  b.String(),
	}, nil
}

// profileSigned runs one more import of reg each way, without and with
// signatures, with regimport's CPU profiles written to c.profile as
// unsigned-cpu.pprof and signed-cpu.pprof. It is not one of the figures.
func profileSigned(ctx context.Context, c config, reg *testregistry.Registry, dir, policy, regd string) error {
	if err := os.MkdirAll(c.profile, 0o755); err != nil {
		return err
	}
	if _, err := runImport(ctx, c, reg, filepath.Join(dir, "profile-unsigned.db"), "--no-signatures",
		"--cpu-profile", filepath.Join(c.profile, "unsigned-cpu.pprof")); err != nil {
		return err
	}
	_, err := runImport(ctx, c, reg, filepath.Join(dir, "profile-signed.db"), "--policy", policy, "--registries.d", regd,
		"--cpu-profile", filepath.Join(c.profile, "signed-cpu.pprof"))
	return err
}

// signedLookaside is a lookaside store holding a simple signing signature
// of every image of a registry, served over HTTP on loopback, with the
// policy that requires those signatures and the registries.d that points
// at the store.
type signedLookaside struct {
	sign     func(p testregistry.Pushed, identity string) error // signs p and its children for identity
	requests *atomic.Int64                                      // requests the store has served
	policy   string                                             // policy.json
	regd     string                                             // registries.d
	close    func()                                             // stops the server
}

// signLookaside signs every image pushed to reg under dir with a new key
// and serves the signatures, as the signed section's imports read them.
func signLookaside(reg *testregistry.Registry, pushed []testregistry.Pushed, dir string) (signedLookaside, error) {
	lookaside := filepath.Join(dir, "lookaside")
	key, err := sigtest.NewGPGKey("Bench Release", "bench@example.com")
	if err != nil {
		return signedLookaside{}, err
	}
	var sign func(p testregistry.Pushed, identity string) error
	sign = func(p testregistry.Pushed, identity string) error {
		blob, err := key.SignSimple(identity, p.Digest)
		if err != nil {
			return err
		}
		if err := sigtest.WriteLookaside(lookaside, p.Repository, p.Digest, blob); err != nil {
			return err
		}
		for _, ch := range p.Children {
			if err := sign(ch, identity); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range pushed {
		if err := sign(p, reg.Host()+"/"+p.Repository+":"+p.Tags[0]); err != nil {
			return signedLookaside{}, err
		}
	}
	requests := new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return signedLookaside{}, err
	}
	files := http.FileServer(http.Dir(lookaside))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	ls := signedLookaside{sign: sign, requests: requests, close: func() { srv.Close() }}

	ls.regd = filepath.Join(dir, "registries.d")
	if err := os.MkdirAll(ls.regd, 0o755); err != nil {
		ls.close()
		return signedLookaside{}, err
	}
	os.WriteFile(filepath.Join(ls.regd, "bench.yaml"), []byte(fmt.Sprintf("docker:\n  %s:\n    lookaside: http://%s\n", reg.Host(), ln.Addr())), 0o644)
	keyFile := filepath.Join(dir, "release.gpg")
	if err := key.WritePublicKey(keyFile); err != nil {
		ls.close()
		return signedLookaside{}, err
	}
	ls.policy = filepath.Join(dir, "policy.json")
	os.WriteFile(ls.policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}]}}}`, reg.Host(), keyFile)), 0o644)
	return ls, nil
}
