package registry_test

// The hostile-registry suite: what a registry (or whatever answers in its
// name) may send to stall, exhaust or mislead a run, and where credentials
// must not go. Each test fails on the behaviour it guards against.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// bounded runs f under a deadline and fails the test when f outlives it, so
// a regression shows as a failure naming the case, not as a hung package.
func bounded[T any](t *testing.T, limit time.Duration, f func(context.Context) (T, error)) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() { v, err := f(ctx); done <- result{v, err} }()
	select {
	case r := <-done:
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
		return r.v, r.err
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("still running after %s", limit+5*time.Second)
		panic("unreachable")
	}
}

// A 401 whose WWW-Authenticate is 1 MB of parameters fails its repository
// within seconds, naming the header cap; the registry's other repositories
// are read as usual.
func TestChallengeFloodFailsWithinSeconds(t *testing.T) {
	w := newWorld(t, regfront.Options{FloodRepository: "team/flood"})
	p := w.push(t, "team/app", 1, "v1")
	w.push(t, "team/flood", 2, "v1")
	c := client(registry.Options{})
	flood, _ := c.Repository(w.named(t, "team/flood"))
	start := time.Now()
	_, err := bounded(t, 20*time.Second, func(ctx context.Context) (*registry.Manifest, error) { return flood.GetManifest(ctx, "v1") })
	if took := time.Since(start); err == nil || took > 10*time.Second {
		t.Fatalf("the flood gave %v after %s, want a failure within seconds", err, took)
	}
	if !errors.Is(err, registry.ErrTooLarge) || !strings.Contains(err.Error(), "response header") {
		t.Fatalf("the flood gave %v, want ErrTooLarge naming the response header cap", err)
	}
	app, _ := c.Repository(w.named(t, "team/app"))
	if m, err := app.GetManifest(ctx, "v1"); err != nil || m.Digest != p.Digest {
		t.Fatalf("the other repository: %v", err)
	}
}

// A tag list whose pages link on forever with new query strings but no new
// tag fails at the first page that makes no progress.
func TestEndlessTagListFails(t *testing.T) {
	w := newWorld(t, regfront.Options{EndlessTags: "team/app"})
	w.push(t, "team/app", 1, "v1", "v2", "v3")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	tags, err := bounded(t, 20*time.Second, func(ctx context.Context) ([]string, error) { return repo.Tags(ctx) })
	if err == nil || !strings.Contains(err.Error(), "no new tag") {
		t.Fatalf("endless tag list: %d tags, %v; want an error saying a page added no new tag", len(tags), err)
	}
	if n := w.front.EndlessPages.Load(); n > 3 {
		t.Fatalf("%d pages read, want the run to stop at the second", n)
	}
}

// More tags than the cap fail the listing with a message naming the cap and
// its setting: never a short list that looks complete.
func TestTagCapFailsTheListing(t *testing.T) {
	w := newWorld(t, regfront.Options{PageSize: 4})
	var all []string
	for i := range 11 {
		all = append(all, fmt.Sprintf("v%d", i))
	}
	w.push(t, "team/app", 1, all...)
	repo, _ := client(registry.Options{MaxTags: 10}).Repository(w.named(t, "team/app"))
	tags, err := repo.Tags(ctx)
	if err == nil || !errors.Is(err, registry.ErrTooLarge) || !strings.Contains(err.Error(), "10 tags") || !strings.Contains(err.Error(), "max-listed-tags") {
		t.Fatalf("11 tags with a cap of 10: %d tags, %v; want an error naming the cap", len(tags), err)
	}
	repo, _ = client(registry.Options{MaxTags: 11}).Repository(w.named(t, "team/app"))
	if tags, err := repo.Tags(ctx); err != nil || len(tags) != 11 {
		t.Fatalf("11 tags with a cap of 11: %d tags, %v", len(tags), err)
	}
}

// The signature extension API's answer is read up to what its parser
// accepts, not ~683 MiB.
func TestSignatureExtensionReadIsCapped(t *testing.T) {
	if registry.MaxSignatureListBytes != signatures.MaxManifestSize {
		t.Fatalf("MaxSignatureListBytes %d, but signatures.ParseExtensionResponse accepts %d", registry.MaxSignatureListBytes, signatures.MaxManifestSize)
	}
	body := []byte(`{"signatures":[` + strings.Repeat(" ", signatures.MaxManifestSize) + `]}`)
	w := newWorld(t, regfront.Options{SignatureExtension: body})
	w.push(t, "team/app", 1, "v1")
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	got, supported, err := repo.SignaturesExtension(ctx, m.Source, m.Digest)
	if !supported || !errors.Is(err, registry.ErrTooLarge) {
		t.Fatalf("a %d-byte extension answer: %d bytes read, supported %v, %v; want ErrTooLarge", len(body), len(got), supported, err)
	}
}

// A HEAD's Content-Length is the blob's size, not a body to read: a 5 MiB
// layer's size is reported (schema1 images need it), not refused.
func TestBlobSizeOfALargeLayer(t *testing.T) {
	w := newWorld(t, regfront.Options{})
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := bytes.Repeat([]byte{7}, 5<<20)
	man, _ := json.Marshal(imgspecv1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers: []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}}})
	if err := w.reg.PushRaw(ctx, "team/app", "v1", imgspecv1.MediaTypeImageManifest, man, cfg, layer); err != nil {
		t.Fatal(err)
	}
	repo, _ := client(registry.Options{}).Repository(w.named(t, "team/app"))
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	n, err := repo.BlobSize(ctx, m.Source, digest.FromBytes(layer))
	if err != nil || n != int64(len(layer)) {
		t.Fatalf("BlobSize of a %d-byte layer: %d, %v", len(layer), n, err)
	}
}

// A blob host the registry redirects to (a CDN) that answers 401 with a
// challenge of its own gets no credentials, and neither does its realm:
// only realms the registry itself announced do.
func TestRedirectTargetChallengeGetsNoCredentials(t *testing.T) {
	var realmHits, realmAuth atomic.Int64
	realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realmHits.Add(1)
		if r.Header.Get("Authorization") != "" {
			realmAuth.Add(1)
		}
		fmt.Fprint(w, `{"token":"stolen"}`)
	}))
	defer realm.Close()
	w := newWorld(t, regfront.Options{RedirectBlobs: true, BlobRealm: realm.URL + "/token"})
	p := w.push(t, "team/app", 1, "v1")
	auth := writeFile(t, t.TempDir(), "auth.json", `{"auths":{"`+w.reg.Host()+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))+`"}}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: auth}}).Repository(w.named(t, "team/app"))
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.GetBlob(ctx, m.Source, p.ConfigDigest, registry.MaxManifestBytes)
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("a CDN answering 401: %v, want unauthorized", err)
	}
	if realmHits.Load() != 0 || w.front.BlobAuthorization.Load() != 0 {
		t.Fatalf("the CDN's realm was asked %d times (%d with credentials), the CDN got %d requests with Authorization",
			realmHits.Load(), realmAuth.Load(), w.front.BlobAuthorization.Load())
	}
}

// A registry's error text reaches errors without its control characters:
// no escape sequence gets to a terminal. Hand-written: the real registry's
// messages are fixed strings.
func TestRegistryErrorTextLosesControlCharacters(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN\u001b[8m","message":"\u001b[2J\u001b[31mgone\u009b0m\r\nFAKE LINE"}]}`)
	}))
	defer srv.Close()
	repo, _ := client(registry.Options{}).Repository(mustNamed(t, strings.TrimPrefix(srv.URL, "http://")+"/team/app"))
	_, err := repo.GetManifest(ctx, "v1")
	if err == nil || !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("GetManifest: %v", err)
	}
	if strings.ContainsAny(err.Error(), "\x1b\u009b\r\n") {
		t.Fatalf("the error keeps control characters: %q", err.Error())
	}
}

// A lookaside store's failure names its URL once, without the password of
// its userinfo, and the store's text loses its control characters; an HTML
// page is not taken for a signature. Hand-written: a lookaside store is a
// plain web server.
func TestLookasideErrorsNameTheURLOnceWithoutCredentials(t *testing.T) {
	var status atomic.Int64
	status.Store(http.StatusInternalServerError)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := int(status.Load()); s != http.StatusOK {
			w.WriteHeader(s)
			fmt.Fprint(w, "\x1b[2Jdown")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body>Sign in</body></html>")
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, _ := url.Parse("http://alice:s3cret@" + host + "/sigs/team/app")
	c := client(registry.Options{MaxRetries: 1})
	d := digest.FromString("manifest")
	_, err := signatures.FetchLookaside(ctx, c.BlobClient(false), base, d)
	if err == nil {
		t.Fatal("a lookaside answering 500 gave no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cret") || strings.Count(msg, host) != 1 || !strings.Contains(msg, "500") || strings.ContainsAny(msg, "\x1b") {
		t.Fatalf("a lookaside answering 500: %q; want the URL once, no password, the status", msg)
	}

	status.Store(http.StatusOK)
	sigs, err := signatures.FetchLookaside(ctx, c.BlobClient(false), base, d)
	if err == nil || !strings.Contains(err.Error(), "text/html") {
		t.Fatalf("a lookaside answering an HTML page: %d signatures, %v; want an error naming the type", len(sigs), err)
	}
}

func mustNamed(t *testing.T, s string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A ping redirected to another origin that answers 401 learns no
// challenge from it: its realm never sees the registry's credentials.
// Hand-written: the real registry does not redirect /v2/.
func TestRedirectedPingChallengeIsNotTheRegistrys(t *testing.T) {
	var realmHits atomic.Int64
	realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		realmHits.Add(1)
		fmt.Fprint(w, `{"token":"stolen"}`)
	}))
	defer realm.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm.URL+`/token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer other.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	auth := writeFile(t, t.TempDir(), "auth.json", `{"auths":{"`+host+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))+`"}}}`, 0o600)
	repo, _ := client(registry.Options{Sys: &types.SystemContext{AuthFilePath: auth}, MaxRetries: 1}).Repository(mustNamed(t, host+"/team/app"))
	_, err := repo.GetManifest(ctx, "v1")
	if err == nil || realmHits.Load() != 0 {
		t.Fatalf("a ping redirected to a host that asks for credentials: %v, %d requests to its realm", err, realmHits.Load())
	}
}
