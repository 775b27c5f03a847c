package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
)

// frontedRegistry starts the real registry behind a regfront.Front.
func frontedRegistry(t *testing.T, opts regfront.Options) (*testregistry.Registry, *regfront.Front) {
	t.Helper()
	f := regfront.New(opts)
	t.Cleanup(f.Close)
	reg, err := testregistry.Start(context.Background(), f.Option())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return reg, f
}

// credsStore writes a real docker-credential-NAME program (a shell script
// speaking the helper protocol) on PATH and a Docker config.json naming it.
func credsStore(t *testing.T, server, user, secret string) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n"+
		"if [ \"$server\" = %q ]; then printf '{\"ServerURL\":\"%%s\",\"Username\":%q,\"Secret\":%q}\\n' \"$server\"; exit 0; fi\n"+
		"echo 'credentials not found in native keychain'; exit 1\n", server, user, secret)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-regtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{},"credsStore":"regtest"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Done when: an import through a front with Docker Hub-style token auth and
// short-lived tokens, a flaky first ping, tag lists and the catalog paged in
// each Link style, and credentials from a credsStore helper imports every
// tag of every repository and exits 0; the re-run is one HEAD per tag.
func TestImportThroughARealWorldRegistryFront(t *testing.T) {
	reg, front := frontedRegistry(t, regfront.Options{
		Token: true, TokenLifetime: time.Second, TokenLatency: 20 * time.Millisecond,
		Users: map[string]string{"alice": "s3cret"}, FlakyPings: 1, PageSize: 2,
		LinkStyles: []regfront.LinkStyle{regfront.LinkQuoted, regfront.LinkUnquoted, regfront.LinkAbsolute, regfront.LinkExtraParams},
	})
	want := map[string][]string{}
	for r := range 3 {
		repo := fmt.Sprintf("team/app%d", r)
		for i := range 5 {
			tag := fmt.Sprintf("v%d", i)
			if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: repo, Tags: []string{tag},
				Format: testregistry.MixedFormat(i), Seed: int64(100*r + i + 1)}); err != nil {
				t.Fatal(err)
			}
			want[repo] = append(want[repo], tag)
		}
	}
	cfg := credsStore(t, reg.Host(), "alice", "s3cret")
	db := dbtest.New(t)
	code, out, errOut := runCLI(t, "import", "--db", db, "--authfile", cfg, "--tls-verify=false", "--progress", "never", "--catalog", reg.Host())
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	cat, err := catalogdb.Open(context.Background(), db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for repo, tags := range want {
		for _, tag := range tags {
			if img, err := cat.TagImage(context.Background(), reg.Host()+"/"+repo, tag); err != nil || img == "" {
				t.Errorf("%s:%s not in the catalog (%v)", repo, tag, err)
			}
		}
	}
	cat.Close()
	if front.TokenRequests.Load() == 0 {
		t.Fatal("no token was asked for: the front's auth was bypassed")
	}

	reg.ResetRequests()
	code, out, errOut = runCLI(t, "import", "--db", db, "--authfile", cfg, "--tls-verify=false", "--progress", "never", "--catalog", reg.Host())
	if code != ExitOK || !strings.Contains(out, "15 unchanged") {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := reg.Requests().Get(testregistry.KindManifestHead); n != 15 || reg.Requests().Get(testregistry.KindManifestGet) != 0 {
		t.Fatalf("re-run: %d HEADs and %d GETs, want one HEAD per tag", n, reg.Requests().Get(testregistry.KindManifestGet))
	}
}

// Docker Hub's pull limit running out: no new work for that host, a clear
// message, exit 3, and the RateLimit figures in the summary and metrics.
func TestPullLimitEndsWithPartialFailure(t *testing.T) {
	reg, _ := frontedRegistry(t, regfront.Options{PullLimit: 3})
	for i := range 6 {
		if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: "team/app", Tags: []string{fmt.Sprintf("v%d", i)},
			Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	prom := filepath.Join(dir, "run.prom")
	code, out, errOut := runCLI(t, "import", "--db", dbtest.New(t), "--tls-verify=false", "--progress", "never",
		"--metrics-file", prom, "--concurrency", "1", "--all-tags", reg.Host()+"/team/app")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitPartial, out, errOut)
	}
	if !strings.Contains(errOut, "pull limit used up") || !strings.Contains(out, "rate limit: 0 of 3 left (window 6h0m0s); used up: no new pulls") {
		t.Fatalf("the run does not say the limit ran out:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(out, "3 imported") || !strings.Contains(out, "3 failed") || !strings.Contains(out, "rate limited: the registry's pull limit is used up") {
		t.Fatalf("summary:\n%s", out)
	}
	if n := reg.Requests().Get(testregistry.KindManifestGet); n != 3 {
		t.Fatalf("%d manifest GETs, want 3: pulls went on after the limit ran out", n)
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf(`regimport_last_run_registry_ratelimit_exhausted{host=%q} 1`, reg.Host()),
		fmt.Sprintf(`regimport_last_run_registry_ratelimit_remaining{host=%q} 0`, reg.Host()),
		fmt.Sprintf(`regimport_last_run_registry_ratelimit_limit{host=%q} 3`, reg.Host()),
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

// Two entries for Docker Hub under different names are one host: refused.
func TestConfigDockerHubNamesAreOneHost(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "job.yaml")
	os.WriteFile(cfg, []byte(`apiVersion: regimport.io/v1
kind: Config
catalog: job.db
registries:
  - host: docker.io
    concurrency: 2
  - host: registry-1.docker.io
    concurrency: 4
sources:
  - images: [docker.io/library/busybox:latest]
`), 0o644)
	code, _, errOut := runCLI(t, "import", "--config", cfg, "--progress", "never")
	if code != ExitUsage || !strings.Contains(errOut, `"docker.io" and "registry-1.docker.io" are the same registry`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// Speed: 20 repositories on a token registry whose token server takes
// 250 ms cost about one token round trip, not 20: token fetches for
// different scopes run in parallel. On this shared 2-core machine the
// import's own wall time moves by seconds with the load, so the test
// asserts what cannot flake (one token per repository, most of them fetched
// at once) and logs the wall time; registry's
// TestTokenFetchesRunInParallelPerScope bounds the token round trips alone.
func TestTwentyRepositoriesCostAboutOneTokenRoundTrip(t *testing.T) {
	const latency = 250 * time.Millisecond
	reg, front := frontedRegistry(t, regfront.Options{Token: true, TokenLatency: latency})
	var refs []string
	for r := range 20 {
		repo := fmt.Sprintf("team/app%d", r)
		if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: repo, Tags: []string{"v1"},
			Format: testregistry.Schema2, Seed: int64(r + 1)}); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, "--all-tags", reg.Host()+"/"+repo)
	}
	args := append([]string{"import", "--db", dbtest.New(t), "--tls-verify=false", "--progress", "never", "--concurrency", "20"}, refs...)
	start := time.Now()
	code, out, errOut := runCLI(t, args...)
	took := time.Since(start)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if n := front.TokenRequests.Load(); n != 20 {
		t.Fatalf("%d token requests for 20 repositories, want one each", n)
	}
	t.Logf("20 repositories, token server %s: import took %s, at most %d token requests at once", latency, took, front.MaxConcurrentTokens.Load())
	if n := front.MaxConcurrentTokens.Load(); n < 10 {
		t.Fatalf("at most %d token requests at once for 20 repositories listed by 20 workers: fetches wait on each other", n)
	}
}
