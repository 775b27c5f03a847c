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

// Both modes refuse each bad shared flag with exit 2, a message naming the
// flag, and nothing created next to the catalog: no catalog, no lock file,
// no profile. `import -f` used to ignore or skip most of these checks.
func TestBothImportModesRefuseBadSharedFlagsBeforeTouchingTheCatalog(t *testing.T) {
	doc := importDoc("r.example.com/team/app:v1")
	for name, c := range map[string]struct {
		flags []string
		want  string
	}{
		"concurrency 0":      {[]string{"--concurrency", "0"}, "--concurrency"},
		"per-registry -1":    {[]string{"--per-registry", "-1"}, "--per-registry"},
		"progress bogus":     {[]string{"--progress", "bogus"}, `--progress "bogus"`},
		"missing authfile":   {[]string{"--authfile", "/nonexistent/auth.json"}, "--authfile /nonexistent/auth.json"},
		"missing regconf":    {[]string{"--registries-conf", "/nonexistent/registries.conf"}, "--registries-conf /nonexistent/registries.conf"},
		"missing cert-dir":   {[]string{"--cert-dir", "/nonexistent/certs"}, "--cert-dir /nonexistent/certs"},
		"metrics nowhere":    {[]string{"--metrics-file", "/nonexistent/dir/run.prom"}, "--metrics-file"},
		"cpu profile":        {[]string{"--cpu-profile", "/nonexistent/dir/cpu.prof"}, "--cpu-profile"},
		"bad log level":      {[]string{"--log-level", "loud"}, "--log-level"},
		"bad log format":     {[]string{"--log-format", "xml"}, "--log-format"},
		"missing policy":     {[]string{"--policy", "/nonexistent/policy.json"}, "--policy"},
		"bad tag expression": {[]string{"--include", "("}, "("},
	} {
		for _, mode := range []string{"-f", "REF"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				args := append([]string{"import", "--db", filepath.Join(dir, "c.db")}, c.flags...)
				if mode == "-f" {
					args = append(args, "-f", "-")
				} else {
					args = append(args, "--all-tags", "r.example.com/team/app")
				}
				code, out, errOut := runCLIWithInput(t, doc, args...)
				if code != ExitUsage {
					t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, ExitUsage, out, errOut)
				}
				if !strings.Contains(errOut, c.want) {
					t.Errorf("stderr does not name %q:\n%s", c.want, errOut)
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
