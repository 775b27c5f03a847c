package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// runCLIEnv runs the command line with its own environment, which keeps
// the test binary's config root (internal/hermetic) unless env names one.
func runCLIEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) string {
		if v, ok := env[k]; ok || k != envConfigRoot {
			return v
		}
		return os.Getenv(k)
	}
	code := Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Env: lookup})
	return code, out.String(), errOut.String()
}

// holdings is what a catalog holds: current tags (repository:tag ->
// image) of every known repository, and every image's name.
func holdings(t *testing.T, db, host string) (map[string]string, []string) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	tags := map[string]string{}
	repos, err := cat.KnownRepositories(ctx, host+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range repos {
		cur, err := cat.CurrentTags(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		for tag, img := range cur {
			tags[repo+":"+tag] = img
		}
	}
	page, err := cat.ListImages(ctx, catalog.ListOptions{WithoutRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, img := range page.Items {
		images = append(images, img.Name)
	}
	sort.Strings(images)
	return tags, images
}

// shardedRegistry is startRegistry's team/app plus six repositories, one
// for each pair (shard of 3, shard of 2), so that every shard of either
// split has some: a name's shard depends on the registry's random port.
func shardedRegistry(t *testing.T) (*testregistry.Registry, []string) {
	t.Helper()
	reg := startRegistry(t)
	var names []string
	cell := map[[2]int]bool{}
	for k := 0; len(names) < 6; k++ {
		name := fmt.Sprintf("team/r%d", k)
		c := [2]int{importer.ShardOf(reg.Host()+"/"+name, 3), importer.ShardOf(reg.Host()+"/"+name, 2)}
		if cell[c] {
			continue
		}
		cell[c] = true
		names = append(names, name)
		if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: name, Tags: []string{"v1"},
			Format: testregistry.OCI, Seed: int64(50 + k)}); err != nil {
			t.Fatal(err)
		}
	}
	return reg, names
}

// Done when: three shards of an Indexed Job (--shards 3 with
// JOB_COMPLETION_INDEX), run at once on one catalog, a SQLite file or a
// PostgreSQL database, hold exactly the images and tags one run on a
// SQLite file holds; `runs` shows them as one sharded run.
func TestThreeShardsAtOnceHoldWhatOneRunHolds(t *testing.T) {
	testThreeShardsAtOnce(t, dbtest.New(t))
}

func testThreeShardsAtOnce(t *testing.T, sharded string) {
	reg, _ := shardedRegistry(t)
	one := filepath.Join(t.TempDir(), "one.db")
	common := []string{"--tls-verify=false", "--progress", "never", "--catalog", reg.Host()}
	if code, out, errOut := runCLI(t, append([]string{"import", "--db", one}, common...)...); code != ExitOK {
		t.Fatalf("one run: exit %d\n%s\n%s", code, out, errOut)
	}
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i := range 3 {
		wg.Go(func() {
			env := map[string]string{envJobIndex: fmt.Sprint(i), envRunGroup: "nightly-1"}
			code, out, errOut := runCLIEnv(t, env, append([]string{"import", "--db", sharded, "--shards", "3"}, common...)...)
			if code != ExitOK {
				t.Errorf("shard %d: exit %d\n%s\n%s", i, code, out, errOut)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	for i, out := range outs {
		if !strings.Contains(out, fmt.Sprintf(`(shard %d/3 of "nightly-1")`, i)) {
			t.Errorf("shard %d's summary does not say which shard it ran: %s", i, out)
		}
	}
	wantTags, wantImages := holdings(t, one, reg.Host())
	gotTags, gotImages := holdings(t, sharded, reg.Host())
	if len(wantTags) != 9 || !reflect.DeepEqual(gotTags, wantTags) || !reflect.DeepEqual(gotImages, wantImages) {
		t.Errorf("three shards hold\n%v\n%v\none run holds\n%v\n%v", gotTags, gotImages, wantTags, wantImages)
	}

	code, out, errOut := runCLI(t, "runs", "--db", sharded)
	if code != ExitOK {
		t.Fatalf("runs: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("runs shows %d lines, want a header, the sharded run and its 3 shards:\n%s", len(lines), out)
	}
	group := regexp.MustCompile(`^1-3\s+\S+ \S+\s+\S+\s+succeeded\s+(\d+)\s+0\s+0\s+sharded run "nightly-1": 3/3 shards$`).FindStringSubmatch(lines[1])
	if group == nil || group[1] != "9" {
		t.Errorf("the sharded run's line is %q; want runs 1-3, succeeded, 9 imported in all, 3/3 shards", lines[1])
	}
	seen := map[string]bool{}
	for _, l := range lines[2:] {
		m := regexp.MustCompile(`^  ([123])\s.*\ssucceeded\s.*shard ([012])/3: import --db \S+ --shards 3 `).FindStringSubmatch(l)
		if m == nil {
			t.Errorf("shard line %q", l)
			continue
		}
		seen[m[2]] = true
	}
	if len(seen) != 3 {
		t.Errorf("shard lines do not show shards 0, 1 and 2:\n%s", out)
	}
}

// The run groups of shards run one after another, and `runs` with them:
// with no --run-group and no REGIMPORT_RUN_GROUP, the group is the
// command without its shard flags and N, and a second execution of the
// same command is a second sharded run; a failure in one shard makes the
// whole run partial and shows with --failures; --limit counts a sharded
// run as one.
func TestRunsShowsShardedRunsWithTheirShards(t *testing.T) {
	reg, names := shardedRegistry(t)
	db := dbtest.New(t)
	missing := reg.Host() + "/" + names[0] + ":nope"
	refs := []string{missing}
	for _, name := range names {
		refs = append(refs, reg.Host()+"/"+name+":v1")
	}
	owner := importer.ShardOf(reg.Host()+"/"+names[0], 2)
	for execution := range 2 {
		for i := range 2 {
			args := append([]string{"import", "--db", db, "--tls-verify=false", "--progress", "never", "--shard", fmt.Sprintf("%d/2", i)}, refs...)
			code, out, errOut := runCLIEnv(t, nil, args...)
			want := ExitOK
			if i == owner {
				want = ExitPartial
			}
			if code != want {
				t.Fatalf("execution %d, shard %d: exit %d, want %d\n%s\n%s", execution, i, code, want, out, errOut)
			}
		}
	}
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", refs[1]); code != ExitOK {
		t.Fatalf("unsharded run: %d %s %s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "runs", "--db", db, "--failures")
	if code != ExitOK {
		t.Fatalf("runs: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantGroup := fmt.Sprintf(`sharded run "import --db %s --tls-verify=false --progress never %s (2 shards)": 2/2 shards`, catalog.RedactDB(db), strings.Join(refs, " "))
	var groups, shards int
	for _, l := range lines {
		switch {
		case strings.HasSuffix(l, wantGroup):
			groups++
			if !regexp.MustCompile(`^(1-2|3-4)\s.*\spartial\s+(6\s+0|0\s+6)\s+1\s`).MatchString(l) {
				t.Errorf("sharded run line %q; want partial, 6 imported or unchanged, 1 failed", l)
			}
		case strings.HasPrefix(l, "  "):
			shards++
		}
	}
	if groups != 2 || shards != 4 {
		t.Errorf("runs shows %d sharded runs and %d shard lines, want 2 and 4:\n%s", groups, shards, out)
	}
	if !regexp.MustCompile(`^5\s.*succeeded.*\s+import --db`).MatchString(lines[1]) {
		t.Errorf("the newest line is %q, want the unsharded run 5", lines[1])
	}
	for _, run := range []int{1 + owner, 3 + owner} {
		if !strings.Contains(out, fmt.Sprintf("run %d: %s: ", run, missing)) {
			t.Errorf("--failures lacks run %d's failure of %s:\n%s", run, missing, out)
		}
	}
	if strings.Count(out, missing+": ") != 2 {
		t.Errorf("the failure is listed other than once per execution:\n%s", out)
	}
	if code, out, _ := runCLI(t, "runs", "--db", db, "--limit", "2"); code != ExitOK || strings.Count(out, "sharded run") != 1 || strings.Count(out, "\n  ") != 2 {
		t.Errorf("--limit 2 shows\n%s\nwant the unsharded run and the newest sharded run with its 2 shards", out)
	}
}

// A second copy of a shard is refused (exit 5) naming the first, a
// different shard runs beside it, and an unsharded import is refused
// naming the shard that runs.
func TestShardLocksFromTheCommandLine(t *testing.T) {
	reg, _ := shardedRegistry(t)
	db := dbtest.New(t)
	// A short command: PostgreSQL keeps 63 bytes of the holder's
	// application_name, where its pid, host and command are written.
	held, err := catalogdb.LockRuns(db, "import --shard 1/3 nightly", catalog.Shard{Index: 1, Count: 3, Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	common := []string{"import", "--db", db, "--tls-verify=false", "--progress", "never", "--catalog", reg.Host()}
	code, _, errOut := runCLI(t, append(common, "--shard", "1/3")...)
	if code != ExitLocked || !strings.Contains(errOut, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(errOut, "--shard 1/3 nightly") {
		t.Errorf("the same shard again: exit %d %q; want %d naming the holder", code, errOut, ExitLocked)
	}
	if code, out, errOut := runCLI(t, append(common, "--shard", "0/3")...); code != ExitOK {
		t.Errorf("another shard beside it: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, common...)
	if code != ExitLocked || !strings.Contains(errOut, "--shard 1/3 nightly") {
		t.Errorf("an unsharded import while a shard runs: exit %d %q", code, errOut)
	}
}

// A default run group drops the shard flags in every spelling and keeps
// the rest, so that the shards of one command line share it.
func TestDefaultRunGroupDropsShardFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--shard", "0/3", "--catalog", "r.example.com"},
		{"--catalog", "--shard=2/3", "r.example.com"},
		{"-shards", "3", "--catalog", "r.example.com"},
		{"--catalog", "--run-group", "x", "-shard=1/3", "r.example.com"},
	} {
		if got, want := defaultRunGroup(args, 3), "import --catalog r.example.com (3 shards)"; got != want {
			t.Errorf("%q: %q, want %q", args, got, want)
		}
	}
}

// How records become sharded runs: a shard index again while the others
// still run is a retry (its latest attempt counts); again after all ended
// is the next execution; a missing shard makes the run incomplete; a run
// is running while a shard runs, else the worst of its shards.
func TestGroupRunsSplitsExecutionsAndCombinesShards(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 30, 1, min, 0, 0, time.UTC) }
	shard := func(id int64, i int, status string, start, end int, imported int) catalog.Run {
		r := catalog.Run{ID: id, StartedAt: at(start), Status: status, Imported: imported, Shard: catalog.Shard{Index: i, Count: 3, Group: "g"}}
		if end >= 0 {
			r.FinishedAt = at(end)
		}
		return r
	}
	runs := []catalog.Run{
		// execution 1: shard 2 fails at 3 and is retried at 4 while 0 runs
		shard(1, 0, catalog.RunSucceeded, 0, 10, 1),
		shard(2, 1, catalog.RunSucceeded, 0, 5, 2),
		shard(3, 2, catalog.RunFailed, 0, 3, 4),
		shard(4, 2, catalog.RunPartial, 4, 8, 8),
		// an unsharded run in between
		{ID: 5, StartedAt: at(20), FinishedAt: at(21), Status: catalog.RunSucceeded, Imported: 100},
		// execution 2: shard 0 again after everything ended; shard 2 never ran
		shard(6, 0, catalog.RunSucceeded, 30, 31, 16),
		shard(7, 1, catalog.RunInterrupted, 30, 32, 32),
		// execution 3: one shard still running
		shard(8, 0, catalog.RunSucceeded, 40, 41, 0),
		shard(9, 1, catalog.RunRunning, 40, -1, 0),
	}
	type want struct {
		first    int64
		shards   int
		present  int
		status   string
		imported int
		finished time.Time
	}
	var got []want
	for _, l := range groupRuns(runs) {
		got = append(got, want{l.run.ID, len(l.shards), l.present, l.run.Status, l.run.Imported, l.run.FinishedAt})
	}
	expected := []want{
		{8, 2, 2, catalog.RunRunning, 0, time.Time{}},
		{6, 2, 2, statusIncomplete, 48, at(32)},
		{5, 0, 0, catalog.RunSucceeded, 100, at(21)},
		{1, 4, 3, catalog.RunPartial, 11, at(10)}, // the retry's partial replaces the failure
	}
	if !reflect.DeepEqual(got, expected) {
		t.Errorf("lines\n%+v\nwant\n%+v", got, expected)
	}
}

// Cron mode shards too: --config with --shards, each shard taking its
// share of the file's image and repository sources (and only that, as -v
// shows), together hold what one run of the file holds.
func TestConfigModeShards(t *testing.T) {
	reg, names := shardedRegistry(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: regimport.io/v1
kind: Config
tlsVerify: false
sources:
  - images: [%[1]s/%[2]s:v1, %[1]s/%[3]s:v1, %[1]s/%[4]s:v1]
  - repository: %[1]s/team/app
  - repository: %[1]s/%[5]s
  - repository: %[1]s/%[6]s
  - repository: %[1]s/%[7]s
`, reg.Host(), names[0], names[1], names[2], names[3], names[4], names[5])), 0o644); err != nil {
		t.Fatal(err)
	}
	one, sharded := filepath.Join(dir, "one.db"), dbtest.New(t)
	if code, out, errOut := runCLI(t, "import", "--config", cfg, "--db", one, "--progress", "never"); code != ExitOK {
		t.Fatalf("one run: exit %d\n%s\n%s", code, out, errOut)
	}
	for i := range 2 {
		code, out, errOut := runCLIEnv(t, map[string]string{envJobIndex: fmt.Sprint(i)}, "import", "--config", cfg, "--db", sharded, "--progress", "never", "--shards", "2", "-v")
		if code != ExitOK || !strings.Contains(out, fmt.Sprintf("(shard %d/2 of ", i)) {
			t.Fatalf("shard %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
		refs := regexp.MustCompile(`(?m)^imported  (\S+)/(team/\w+):\S+ -> `).FindAllStringSubmatch(out, -1)
		if len(refs) == 0 {
			t.Errorf("shard %d imported nothing:\n%s", i, out)
		}
		for _, m := range refs {
			if got := importer.ShardOf(m[1]+"/"+m[2], 2); got != i {
				t.Errorf("shard %d imported %s, which is shard %d's", i, m[0], got)
			}
		}
	}
	wantTags, wantImages := holdings(t, one, reg.Host())
	gotTags, gotImages := holdings(t, sharded, reg.Host())
	if len(wantTags) != 9 || !reflect.DeepEqual(gotTags, wantTags) || !reflect.DeepEqual(gotImages, wantImages) {
		t.Errorf("two shards of the config hold\n%v\n%v\none run holds\n%v\n%v", gotTags, gotImages, wantTags, wantImages)
	}
}
