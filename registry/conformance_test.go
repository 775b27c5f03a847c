package registry_test

// The conformance suite: one test per habit of real registries
// (/work/shared/docs/registries.md), each against the real in-process
// registry behind a regfront.Front. Each fails when its behaviour regresses.

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/hermetic"
	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

var ctx = context.Background()

// One 503 on the first ping must not turn auth off: the ping is retried and
// the token auth it then learns is used. A ping that keeps failing is an
// error, never anonymous access.
func TestFlakyFirstPingKeepsAuth(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, FlakyPings: 1})
	p := w.push(t, "team/app", 1, "v1")
	repo, err := client(registry.Options{}).Repository(w.named(t, "team/app"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatalf("after one 503 ping: %v", err)
	}
	if m.Digest != p.Digest || w.front.TokenRequests.Load() == 0 {
		t.Fatalf("digest %s (want %s), %d tokens", m.Digest, p.Digest, w.front.TokenRequests.Load())
	}

	down := newWorld(t, regfront.Options{Token: true, FlakyPings: 1000})
	down.push(t, "team/app", 1, "v1")
	repo, err = client(registry.Options{MaxRetries: 1}).Repository(down.named(t, "team/app"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.GetManifest(ctx, "v1")
	if err == nil || !strings.Contains(err.Error(), "ping") || !errors.Is(err, registry.ErrServer) {
		t.Fatalf("a registry whose ping answers 503 gave %v, want a ping error", err)
	}
}

// Tag lists and catalogs page in every Link style real registries send, to
// the last page.
func TestListingsFollowEveryLinkStyle(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, PageSize: 2, LinkStyles: []regfront.LinkStyle{
		regfront.LinkQuoted, regfront.LinkUnquoted, regfront.LinkAbsolute, regfront.LinkExtraParams}})
	var want []string
	for i := range 9 {
		want = append(want, fmt.Sprintf("v%d", i))
	}
	w.push(t, "team/app", 1, want...)
	for i := range 7 {
		w.push(t, fmt.Sprintf("team/r%d", i), int64(i+2), "x")
	}
	c := client(registry.Options{})
	repo, err := c.Repository(w.named(t, "team/app"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := repo.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("tags %v, want %v", got, want)
	}
	if n := w.reg.Requests().Get(testregistry.KindTagsList); n < 5 {
		t.Fatalf("%d tag-list pages read, want 5 (9 tags, 2 a page)", n)
	}
	repos, err := c.Catalog(ctx, w.reg.Host(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 8 {
		t.Fatalf("catalog %v, want 8 repositories", repos)
	}
}

// Docker's credsStore: a real docker-credential-NAME program answers, once
// per registry per run however many repositories are read.
func TestCredsStoreHelper(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, Users: map[string]string{"alice": "s3cret"}})
	for i := range 3 {
		w.push(t, fmt.Sprintf("team/app%d", i), int64(i+1), "v1")
	}
	calls := credentialHelper(t, "regtest", w.reg.Host(), "alice", "s3cret")
	cfg := writeFile(t, t.TempDir(), "config.json", `{"auths":{},"credsStore":"regtest"}`, 0o600)
	c := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: cfg}})
	for i := range 3 {
		repo, err := c.Repository(w.named(t, fmt.Sprintf("team/app%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.GetManifest(ctx, "v1"); err != nil {
			t.Fatalf("with credsStore: %v", err)
		}
		if _, err := repo.Tags(ctx); err != nil {
			t.Fatalf("with credsStore: %v", err)
		}
	}
	if n := calls(); n != 1 {
		t.Fatalf("the helper ran %d times, want once per registry per run", n)
	}

	// Without the helper's answer, the token server refuses: the
	// credentials above really came from it.
	none := writeFile(t, t.TempDir(), "config.json", `{"auths":{}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: none}}).Repository(w.named(t, "team/app0"))
	if _, err := repo.GetManifest(ctx, "v1"); !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("without credentials: %v, want unauthorized", err)
	}
}

// credHelpers (per registry) and registry tokens of Docker's config.json.
func TestDockerConfigCredHelpersAndRegistryToken(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, Users: map[string]string{"bob": "pw"}})
	w.push(t, "team/app", 1, "v1")
	calls := credentialHelper(t, "perhost", w.reg.Host(), "bob", "pw")
	cfg := writeFile(t, t.TempDir(), "config.json", `{"credHelpers":{"`+w.reg.Host()+`":"perhost"}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: cfg}}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil || calls() != 1 {
		t.Fatalf("credHelpers: %v, %d helper calls", err, calls())
	}

	tok := w.front.Issue([]string{"repository:team/app:pull"}, time.Minute)
	cfg = writeFile(t, t.TempDir(), "config.json", `{"auths":{"`+w.reg.Host()+`":{"registrytoken":"`+tok+`"}}}`, 0o600)
	before := w.front.TokenRequests.Load()
	repo, _ = client(registry.Options{Sys: &types.SystemContext{AuthFilePath: cfg}}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("registrytoken: %v", err)
	}
	if n := w.front.TokenRequests.Load() - before; n != 0 {
		t.Fatalf("with a registry token, %d requests went to the token server", n)
	}
}

// registries.conf mirrors serve image reads, never tag lists: a
// pull-through cache lists only what it has cached. Blocked registries are
// refused before any request.
func TestMirrorsAndBlockedRegistries(t *testing.T) {
	primary := newWorld(t, regfront.Options{})
	mirror := newWorld(t, regfront.Options{})
	p := primary.push(t, "team/app", 1, "v1", "v2", "v3")
	mirror.push(t, "team/app", 1, "v1") // the cache has seen one tag only
	dir := t.TempDir()
	conf := writeFile(t, dir, "registries.conf", fmt.Sprintf(`
[[registry]]
location = %q
insecure = true
[[registry.mirror]]
location = %q
insecure = true

[[registry]]
location = "blocked.example"
blocked = true
`, primary.reg.Host(), mirror.reg.Host()), 0o644)
	// Drop-ins (registries.conf.d) are read under the test binary's root.
	c := client(registry.Options{Sys: &types.SystemContext{SystemRegistriesConfPath: conf, RootForImplicitAbsolutePaths: hermetic.Root()}})
	repo, err := c.Repository(primary.named(t, "team/app"))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 3 || mirror.reg.Requests().Get(testregistry.KindTagsList) != 0 {
		t.Fatalf("tags %v (want 3 from the registry), %d tag lists asked of the mirror", tags, mirror.reg.Requests().Get(testregistry.KindTagsList))
	}
	m, err := repo.GetManifest(ctx, p.Digest.String())
	if err != nil || m.Source.Host() != mirror.reg.Host() {
		t.Fatalf("a digest pull: %v from %v, want the mirror", err, m)
	}
	blocked, _ := reference.ParseNormalizedNamed("blocked.example/team/app")
	if _, err := c.Repository(blocked); !errors.Is(err, registry.ErrBlocked) {
		t.Fatalf("blocked registry: %v", err)
	}
}

// Token fetches for different scopes run in parallel; the same scope is
// fetched once however many ask at once (singleflight).
func TestTokenFetchesRunInParallelPerScope(t *testing.T) {
	const repos, latency = 20, 250 * time.Millisecond
	w := newWorld(t, regfront.Options{Token: true, TokenLatency: latency})
	for i := range repos {
		w.push(t, fmt.Sprintf("team/app%d", i), int64(i+1), "v1")
	}
	c := client(registry.Options{PerHostConcurrency: 4})
	// The ping first, so the figure below is the token round trips alone.
	warm, _ := c.Repository(w.named(t, "team/app0"))
	if _, err := warm.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, repos*3)
	for i := 1; i < repos; i++ {
		for range 3 { // three workers on one repository: one token
			wg.Go(func() {
				repo, err := c.Repository(w.named(t, fmt.Sprintf("team/app%d", i)))
				if err == nil {
					_, err = repo.GetManifest(ctx, "v1")
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.front.TokenRequests.Load(); n != repos {
		t.Fatalf("%d token requests for %d scopes, want one per scope", n, repos)
	}
	if w.front.MaxConcurrentTokens.Load() < 4 {
		t.Fatalf("at most %d token requests at once: fetches of different scopes wait on each other", w.front.MaxConcurrentTokens.Load())
	}
	// 19 scopes one after another would take 4.75 s; in parallel about one
	// round trip. Wall time on this shared machine moves with its load (a
	// full `make test` once took 2.3 s here), so it is logged, not asserted;
	// make bench measures the import's figure.
	t.Logf("19 token scopes in %s (one round trip: %s), at most %d token requests at once", took, latency, w.front.MaxConcurrentTokens.Load())
}

// Short-lived tokens are renewed before they expire (a quarter of a short
// lifetime early), so none is refused.
func TestShortLivedTokens(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, TokenLifetime: 4 * time.Second})
	w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	for i := range 4 { // at 0, 1.5, 3 and 4.5 s
		if i > 0 {
			time.Sleep(1500 * time.Millisecond)
		}
		if _, err := repo.GetManifest(ctx, "v1"); err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
	if n, refused := w.front.TokenRequests.Load(), w.front.Refused.Load(); n < 2 || refused != 0 {
		t.Fatalf("%d tokens in 4.5 s of 4 s tokens, %d requests refused: an expired token was sent", n, refused)
	}
}

// Docker Hub's pull limit: at RateLimit-Remaining 0 with a 6-hour window no
// new request goes to the host, the error says why, and the figures are in
// Stats.
func TestPullLimitStopsTheHost(t *testing.T) {
	w := newWorld(t, regfront.Options{PullLimit: 3})
	var tags []string
	for i := range 6 {
		tags = append(tags, fmt.Sprintf("v%d", i))
		w.push(t, "team/app", int64(i+1), tags[i])
	}
	var log logBuffer
	c := client(registry.Options{Logger: log.logger()})
	repo, _ := c.Repository(w.named(t, "team/app"))
	ok := 0
	for _, tag := range tags {
		_, err := repo.GetManifest(ctx, tag)
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, registry.ErrPullLimit) || !errors.Is(err, registry.ErrRateLimited):
			t.Fatalf("%s: %v, want the pull limit", tag, err)
		}
	}
	if ok != 3 {
		t.Fatalf("%d manifests fetched, want the 3 the limit allows", ok)
	}
	if n := w.reg.Requests().Get(testregistry.KindManifestGet); n != 3 {
		t.Fatalf("%d manifest GETs reached the registry, want 3: pulls went on after the limit ran out", n)
	}
	var st registry.HostStats
	for _, s := range c.Stats() {
		if s.Host == w.reg.Host() {
			st = s
		}
	}
	if !st.RateLimit.Exhausted || st.RateLimit.Limit != 3 || st.RateLimit.Remaining != 0 || st.RateLimit.Window != 6*time.Hour {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(log.String(), "pull limit used up") {
		t.Fatalf("the log does not say the limit ran out:\n%s", log.String())
	}
}

// Artifactory lists digests beside tags, Nexus may list null: neither is
// fetched as a tag, and each is named in a warning.
func TestTagEntriesThatAreNotTags(t *testing.T) {
	const dgst = `"sha256:0123456789012345678901234567890123456789012345678901234567890123"`
	w := newWorld(t, regfront.Options{ExtraTags: []string{"null", dgst}})
	w.push(t, "team/app", 1, "v1", "v2")
	var log logBuffer
	repo, _ := client(registry.Options{Logger: log.logger()}).Repository(w.named(t, "team/app"))
	tags, err := repo.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"v1", "v2"}) {
		t.Fatalf("tags %q", tags)
	}
	out := log.String()
	if !strings.Contains(out, "null is not a tag") || !strings.Contains(out, strings.Trim(dgst, `"`)) {
		t.Fatalf("no warning naming the skipped entries:\n%s", out)
	}
}

// Docker Hub and GHCR refuse _catalog: the error says so and what to do.
func TestNoCatalog(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, NoCatalog: true})
	w.push(t, "team/app", 1, "v1")
	_, err := client(registry.Options{}).Catalog(ctx, w.reg.Host(), "")
	if !errors.Is(err, registry.ErrNoCatalog) || !strings.Contains(err.Error(), "--all-tags") {
		t.Fatalf("no _catalog: %v", err)
	}
}

// Basic-only registries (ECR, Artifactory): credentials from auth.json.
func TestBasicOnlyRegistry(t *testing.T) {
	w := newWorld(t, regfront.Options{Basic: true, Users: map[string]string{"AWS": "ecr-password"}})
	w.push(t, "team/app", 1, "v1")
	auth := writeFile(t, t.TempDir(), "auth.json", `{"auths":{"`+w.reg.Host()+`":{"auth":"QVdTOmVjci1wYXNzd29yZA=="}}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: auth}}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("basic auth: %v", err)
	}
	repo, _ = client(registry.Options{}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("no credentials: %v, want unauthorized", err)
	}
}

// Azure ACR: an identity token is exchanged by an OAuth2 POST with
// grant_type=refresh_token.
func TestOAuth2RefreshToken(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, Users: map[string]string{"nobody": "x"}, RefreshToken: "acr-refresh"})
	w.push(t, "team/app", 1, "v1")
	auth := writeFile(t, t.TempDir(), "auth.json", `{"auths":{"`+w.reg.Host()+`":{"identitytoken":"acr-refresh"}}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: auth}}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("refresh token: %v", err)
	}
}

// Blobs served by a redirect to another host (object storage) are fetched
// without the registry's Authorization.
func TestBlobRedirectCarriesNoAuthorization(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, RedirectBlobs: true})
	p := w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.GetBlob(ctx, m.Source, p.ConfigDigest, registry.MaxManifestBytes); err != nil {
		t.Fatalf("config through a redirect: %v", err)
	}
	if w.front.BlobRequests.Load() == 0 || w.front.BlobAuthorization.Load() != 0 {
		t.Fatalf("%d blob-host requests, %d with Authorization", w.front.BlobRequests.Load(), w.front.BlobAuthorization.Load())
	}
}

// HEAD without Docker-Content-Digest: the digest comes from a GET's body.
func TestHeadWithoutDigest(t *testing.T) {
	w := newWorld(t, regfront.Options{HeadWithoutDigest: true})
	p := w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	d, err := repo.HeadManifest(ctx, "v1")
	if err != nil || d.Digest != p.Digest {
		t.Fatalf("HEAD without digest: %v, %s (want %s)", err, d.Digest, p.Digest)
	}
}

// A token that lacks the scope the registry wants: the 401 names it
// (error="insufficient_scope", scope=...), and one token for it follows.
func TestInsufficientScopeNamesTheScope(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, ExtraScope: "metadata_read"})
	w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("insufficient_scope: %v", err)
	}
}

// A dropped connection to the token server is retried like any request.
func TestTokenServerNetworkErrorsAreRetried(t *testing.T) {
	w := newWorld(t, regfront.Options{Token: true, TokenDrops: 2})
	w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("after two dropped token requests: %v", err)
	}
}

// A plain-http token realm for an https registry is refused before any
// credentials travel. Hand-written TLS registry: the in-process one is plain HTTP.
func TestPlainHTTPRealmOfAnHTTPSRegistryIsRefused(t *testing.T) {
	var realmHits atomic.Int64
	realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realmHits.Add(1)
		fmt.Fprint(w, `{"token":"t"}`)
	}))
	defer realm.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm.URL+`/token",service="s"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	named, _ := reference.ParseNormalizedNamed(strings.TrimPrefix(srv.URL, "https://") + "/team/app")
	repo, _ := registry.New(registry.Options{Sys: &types.SystemContext{DockerCertPath: dir}, CertsDirs: []string{}}).Repository(named)
	_, err := repo.GetManifest(ctx, "v1")
	if err == nil || !strings.Contains(err.Error(), "plain http") || realmHits.Load() != 0 {
		t.Fatalf("http realm of an https registry: %v, %d token requests", err, realmHits.Load())
	}
}

// A plain-HTTP registry marked insecure: the https attempt of its ping is
// not retried (no retry makes a plain-HTTP server speak TLS); plain HTTP
// follows at once.
func TestInsecurePlainHTTPRegistryIsNotRetriedOverHTTPS(t *testing.T) {
	w := newWorld(t, regfront.Options{})
	w.push(t, "team/app", 1, "v1")
	var log logBuffer
	repo, _ := client(registry.Options{Logger: log.logger()}).Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "registry retry") {
		t.Fatalf("the ping was retried:\n%s", log.String())
	}
}
