package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
)

// importDoc is one ImageStreamImport document that imports (import: true)
// the given references into team/app.
func importDoc(refs ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: image.openshift.io/v1\nkind: ImageStreamImport\nmetadata: {namespace: team, name: app}\nspec:\n  import: true\n  images:\n")
	for _, r := range refs {
		fmt.Fprintf(&b, "  - from: {kind: DockerImage, name: %s}\n", r)
	}
	return b.String()
}

// Every import mode (REF, --config, -f) refuses each bad shared flag with
// exit 2, a message naming the flag, and nothing created next to the
// catalog: no catalog, no lock file, no profile. `import -f` used to
// ignore or skip most of these checks. -f does not shard: any shard flag
// is refused there (wantF); env is the environment of the command.
func TestBothImportModesRefuseBadSharedFlagsBeforeTouchingTheCatalog(t *testing.T) {
	doc := importDoc("r.example.com/team/app:v1")
	config := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(config, []byte("apiVersion: regimport.io/v1\nkind: Config\nsources:\n  - images: [r.example.com/team/app:v1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const noShards = "-f does not shard"
	index := func(v string) map[string]string { return map[string]string{envJobIndex: v} }
	for name, c := range map[string]struct {
		flags []string
		want  string
		wantF string            // for -f, when it differs
		env   map[string]string // nil: an empty environment
	}{
		"concurrency 0":      {[]string{"--concurrency", "0"}, "--concurrency", "", nil},
		"per-registry -1":    {[]string{"--per-registry", "-1"}, "--per-registry", "", nil},
		"progress bogus":     {[]string{"--progress", "bogus"}, `--progress "bogus"`, "", nil},
		"missing authfile":   {[]string{"--authfile", "/nonexistent/auth.json"}, "--authfile /nonexistent/auth.json", "", nil},
		"missing regconf":    {[]string{"--registries-conf", "/nonexistent/registries.conf"}, "--registries-conf /nonexistent/registries.conf", "", nil},
		"missing cert-dir":   {[]string{"--cert-dir", "/nonexistent/certs"}, "--cert-dir /nonexistent/certs", "", nil},
		"metrics nowhere":    {[]string{"--metrics-file", "/nonexistent/dir/run.prom"}, "--metrics-file", "", nil},
		"cpu profile":        {[]string{"--cpu-profile", "/nonexistent/dir/cpu.prof"}, "--cpu-profile", "", nil},
		"bad log level":      {[]string{"--log-level", "loud"}, "--log-level", "", nil},
		"bad log format":     {[]string{"--log-format", "xml"}, "--log-format", "", nil},
		"missing policy":     {[]string{"--policy", "/nonexistent/policy.json"}, "--policy", "", nil},
		"bad tag expression": {[]string{"--include", "("}, "(", "", nil},

		"shard index = N":      {[]string{"--shard", "3/3"}, `--shard "3/3": want 0 <= I < N`, noShards, nil},
		"shard index > N":      {[]string{"--shard", "5/2"}, `--shard "5/2": want 0 <= I < N`, noShards, nil},
		"shard of 0":           {[]string{"--shard", "0/0"}, `--shard "0/0": want 0 <= I < N and N >= 1`, noShards, nil},
		"shard not numbers":    {[]string{"--shard", "a/b"}, `--shard "a/b": want I/N`, noShards, nil},
		"shard negative":       {[]string{"--shard=-1/3"}, `--shard "-1/3": want I/N`, noShards, nil},
		"shard without N":      {[]string{"--shard", "1"}, `--shard "1": want I/N`, noShards, nil},
		"shard too big":        {[]string{"--shard", "0/99999999999999999999"}, `--shard "0/99999999999999999999"`, noShards, nil},
		"shards 0":             {[]string{"--shards", "0"}, "--shards 0: want at least 1", noShards, index("0")},
		"shards without index": {[]string{"--shards", "3"}, "--shards 3: JOB_COMPLETION_INDEX is not set", noShards, nil},
		"shards index = N":     {[]string{"--shards", "3"}, `JOB_COMPLETION_INDEX="3" is not a shard index from 0 to 2`, noShards, index("3")},
		"shards index text":    {[]string{"--shards", "3"}, `JOB_COMPLETION_INDEX="one" is not a shard index`, noShards, index("one")},
		"shards index -1":      {[]string{"--shards", "3"}, `JOB_COMPLETION_INDEX="-1" is not a shard index`, noShards, index("-1")},
		"shard and shards":     {[]string{"--shard", "0/3", "--shards", "3"}, "--shard I/N and --shards N exclude each other", noShards, index("0")},
		"run group alone":      {[]string{"--run-group", "nightly"}, "--run-group names the sharded run of a shard", noShards, nil},
		"good shard with -f":   {[]string{"--shard", "0/3"}, "", noShards, nil},
	} {
		for _, mode := range []string{"-f", "REF", "--config"} {
			if c.want == "" && mode != "-f" {
				continue // a good flag: only -f refuses it
			}
			t.Run(name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				args := append([]string{"import", "--db", filepath.Join(dir, "c.db")}, c.flags...)
				switch mode {
				case "-f":
					args = append(args, "-f", "-")
				case "--config":
					args = append(args, "--config", config)
				default:
					args = append(args, "--all-tags", "r.example.com/team/app")
				}
				want := c.want
				if mode == "-f" && c.wantF != "" {
					want = c.wantF
				}
				var out, errOut bytes.Buffer
				code := Main(context.Background(), args, Streams{In: strings.NewReader(doc), Out: &out, Err: &errOut,
					Env: func(k string) string { return c.env[k] }})
				if code != ExitUsage {
					t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, ExitUsage, &out, &errOut)
				}
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr does not name %q:\n%s", want, &errOut)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("a bad flag left %v behind", left)
				}
			})
		}
	}
}

// `import -f` honours the metrics file, -v and the profile flags as
// `import REF` does.
func TestImportSpecWritesMetricsVerboseLinesAndProfiles(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	var digests []string
	for i, tag := range []string{"v1", "v2"} {
		pushed, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, pushed.Digest.String())
	}
	dir := t.TempDir()
	prom, cpu, mem := filepath.Join(dir, "run.prom"), filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	doc := importDoc(reg.Host()+"/team/app:v1", reg.Host()+"/team/app:v2", reg.Host()+"/team/app:gone")
	code, out, errOut := runCLIWithInput(t, doc, "import", "--db", filepath.Join(dir, "c.db"), "--tls-verify=false", "--progress", "never",
		"--metrics-file", prom, "-v", "--cpu-profile", cpu, "--mem-profile", mem, "-f", "-")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitPartial, errOut, out)
	}
	if !strings.Contains(out, "kind: ImageStreamImport") {
		t.Errorf("stdout is not the documents: %s", out)
	}

	for i, tag := range []string{"v1", "v2"} {
		want := fmt.Sprintf("imported  team/app %s/team/app:%s -> %s\n", reg.Host(), tag, digests[i])
		if !strings.Contains(errOut, want) {
			t.Errorf("-v: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "imported  team/app "+reg.Host()+"/team/app:gone") {
		t.Errorf("-v lists the failed reference as imported:\n%s", errOut)
	}

	metrics, err := os.ReadFile(prom)
	if err != nil {
		t.Fatalf("--metrics-file: %v", err)
	}
	for _, want := range []string{
		`regimport_last_run_exit_code 3`,
		`regimport_last_run_references{outcome="imported"} 2`,
		`regimport_last_run_references{outcome="failed"} 1`,
		`regimport_last_run_images{state="new"} 2`,
		`regimport_last_run_id 1`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	// One series per host, though the run has a secure and an insecure client.
	requests := regexp.MustCompile(`(?m)^regimport_last_run_registry_requests\{host="` + regexp.QuoteMeta(reg.Host()) + `"\} [1-9]`)
	if n := len(requests.FindAll(metrics, -1)); n != 1 {
		t.Errorf("%d request series for %s:\n%s", n, reg.Host(), metrics)
	}

	for _, p := range []string{cpu, mem} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("profile: %v", err)
			continue
		}
		// pprof writes gzip-compressed protocol buffers.
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Errorf("%s is not a pprof profile (%d bytes)", p, len(data))
		}
	}
}

// The secure and insecure clients of `import -f` may both reach a host;
// the metrics file has one series per host, so their totals are added.
func TestMergeHostStatsAddsTheTotalsOfAHostBothClientsReached(t *testing.T) {
	seen := registry.RateLimit{Seen: true, Limit: 100, Remaining: 40}
	got := mergeHostStats(
		[]registry.HostStats{{Host: "a.example", Requests: 3, Throttled: 1}, {Host: "b.example", Requests: 2, RateLimit: seen}},
		[]registry.HostStats{{Host: "a.example", Requests: 5, Throttled: 2, RateLimit: seen}, {Host: "c.example", Requests: 7}},
	)
	want := []registry.HostStats{
		{Host: "a.example", Requests: 8, Throttled: 3, RateLimit: seen}, // only the second client saw a limit
		{Host: "b.example", Requests: 2, RateLimit: seen},
		{Host: "c.example", Requests: 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged\n%+v\nwant\n%+v", got, want)
	}
}

// `import -f --progress always` draws the bar as `import REF` does: the
// documents' references as the total, each settled fetch counted, failures
// named.
func TestImportSpecDrawsProgress(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	for i, tag := range []string{"v1", "v2"} {
		if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	doc := importDoc(reg.Host()+"/team/app:v1", reg.Host()+"/team/app:v2", reg.Host()+"/team/app:gone")
	code, _, errOut := runCLIWithInput(t, doc, "import", "--db", filepath.Join(t.TempDir(), "c.db"), "--tls-verify=false",
		"--progress", "always", "-f", "-")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, errOut)
	}
	// The bar redraws with \r; its last state is the last segment that has an ETA.
	var final string
	for _, seg := range strings.Split(errOut, "\r") {
		if line, _, _ := strings.Cut(seg, "\x1b[K"); strings.Contains(line, "ETA") {
			final = line
		}
	}
	if !strings.Contains(final, "3/3") || !strings.Contains(final, "1 failed") {
		t.Errorf("the bar's last state is %q, want 3/3 with 1 failed; stderr:\n%q", final, errOut)
	}
}
