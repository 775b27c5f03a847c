package signatures

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

func TestRegistriesLookasideBase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "default.yaml", []byte(`
default-docker:
  lookaside: file:///var/lib/regimport/sigstore
docker:
  registry.example.com:
    lookaside: https://sigs.example.com/store
    use-sigstore-attachments: true
`))
	writeFile(t, dir, "team.yaml", []byte(`
docker:
  registry.example.com/team:
    lookaside: http://127.0.0.1:5000/team-sigs
    use-sigstore-attachments: false
  quay.io/cosigned:
    use-sigstore-attachments: true
`))
	writeFile(t, dir, "ignored.txt", []byte("not: [yaml"))
	r, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref      string
		base     string
		sigstore bool
	}{
		{"registry.example.com/ns/app:v1", "https://sigs.example.com/store/ns/app", true},
		{"registry.example.com/ns/app", "https://sigs.example.com/store/ns/app", true},
		{"registry.example.com/team/app@" + digest.FromString("x").String(), "http://127.0.0.1:5000/team-sigs/team/app", false},
		{"quay.io/cosigned/app:v1", "file:///var/lib/regimport/sigstore/cosigned/app", true},
		{"docker.io/library/busybox:latest", "file:///var/lib/regimport/sigstore/library/busybox", false},
	}
	for _, tc := range cases {
		for range 2 { // the second time from the cache
			base, sigstore, err := r.LookasideBase(mustRef(t, tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			if base.String() != tc.base || sigstore != tc.sigstore {
				t.Errorf("%s: %s %v, want %s %v", tc.ref, base, sigstore, tc.base, tc.sigstore)
			}
			base.Path = "/mutated" // the caller's copy
		}
		if got := r.UseSigstoreAttachments(mustRef(t, tc.ref)); got != tc.sigstore {
			t.Errorf("%s: UseSigstoreAttachments = %v", tc.ref, got)
		}
	}
}

// TestRegistriesLookasideCacheScope: a namespace that is a host with a port
// keeps the cache per repository (one registries.d lookup per repository,
// not per tag); one that names a tag caches per tag, and still finds the
// tag's own lookaside.
func TestRegistriesLookasideCacheScope(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bench.yaml", []byte(`
docker:
  127.0.0.1:5000:
    lookaside: http://127.0.0.1:6000
  127.0.0.1:5000/ns/app:pinned:
    lookaside: http://127.0.0.1:7000
`))
	writeFile(t, dir, "host.yaml", []byte(`
docker:
  localhost:5000:
    lookaside: http://127.0.0.1:8000
`))
	tagged, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !tagged.tagScoped {
		t.Error("a namespace naming a tag: the cache should be per tag")
	}
	for ref, want := range map[string]string{
		"127.0.0.1:5000/ns/app:pinned": "http://127.0.0.1:7000/ns/app",
		"127.0.0.1:5000/ns/app:v1":     "http://127.0.0.1:6000/ns/app",
		"localhost:5000/ns/app:v1":     "http://127.0.0.1:8000/ns/app",
	} {
		base, _, err := tagged.LookasideBase(mustRef(t, ref))
		if err != nil || base.String() != want {
			t.Errorf("%s: %v %v, want %s", ref, base, err, want)
		}
	}

	os.Remove(filepath.Join(dir, "bench.yaml"))
	hosts, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if hosts.tagScoped {
		t.Error("only a host with a port: the cache should be per repository")
	}
	for _, tag := range []string{"v1", "v2", "v3"} {
		if base, _, err := hosts.LookasideBase(mustRef(t, "localhost:5000/ns/app:"+tag)); err != nil || base.String() != "http://127.0.0.1:8000/ns/app" {
			t.Errorf("%s: %v %v", tag, base, err)
		}
	}
	if len(hosts.bases) != 1 {
		t.Errorf("%d cached lookaside bases for three tags of one repository, want 1", len(hosts.bases))
	}
}

func TestLoadRegistriesErrors(t *testing.T) {
	if _, err := LoadRegistries(&types.SystemContext{}); err == nil {
		t.Error("no RegistriesDirPath: no error")
	}
	dup := t.TempDir()
	writeFile(t, dup, "a.yaml", []byte("docker:\n  registry.example.com:\n    lookaside: https://a\n"))
	writeFile(t, dup, "b.yaml", []byte("docker:\n  registry.example.com:\n    lookaside: https://b\n"))
	if _, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: dup}); err == nil || !strings.Contains(err.Error(), "b.yaml") {
		t.Errorf("namespace defined twice: %v", err)
	}
	bad := t.TempDir()
	writeFile(t, bad, "bad.yaml", []byte("docker: [not, a, map"))
	if _, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: bad}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad YAML: %v", err)
	}
	if _, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: filepath.Join(bad, "absent")}); err != nil {
		t.Errorf("missing directory is an empty configuration: %v", err)
	}
}

// lookasideServer serves blobs at /sigs/ns/app@sha256=<hex>/signature-N and counts requests.
type lookasideServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	blobs    map[string][]byte
	status   int // when non-zero, every answer
}

func newLookasideServer(t *testing.T) *lookasideServer {
	s := &lookasideServer{blobs: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != 0 {
			w.WriteHeader(s.status)
			return
		}
		blob, ok := s.blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(blob)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *lookasideServer) put(d digest.Digest, n int, blob []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[fmt.Sprintf("/sigs/ns/app@sha256=%s/signature-%d", d.Encoded(), n)] = blob
}

func TestFetchLookasideHTTP(t *testing.T) {
	srv := newLookasideServer(t)
	base, err := url.Parse(srv.URL + "/sigs/ns/app")
	if err != nil {
		t.Fatal(err)
	}
	_, d := testManifest("lookaside-http")
	ctx := context.Background()

	// A miss costs exactly one request.
	sigs, err := FetchLookaside(ctx, srv.Client(), base, d)
	if err != nil || len(sigs) != 0 || srv.requests.Load() != 1 {
		t.Fatalf("miss: %d signatures, %v, %d requests", len(sigs), err, srv.requests.Load())
	}

	srv.put(d, 1, []byte("first"))
	srv.put(d, 2, []byte("second"))
	srv.put(d, 4, []byte("after a gap: never read"))
	srv.requests.Store(0)
	sigs, err = FetchLookaside(ctx, srv.Client(), base, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || string(sigs[0].Content) != "first" || string(sigs[1].Content) != "second" || srv.requests.Load() != 3 {
		t.Fatalf("%d signatures, %d requests", len(sigs), srv.requests.Load())
	}
	if sigs[0].Source != SourceLookaside || sigs[0].Type != TypeAtomic || sigs[0].Name != digest.FromString("first").Encoded() {
		t.Errorf("signature %+v", sigs[0])
	}

	srv.put(d, 3, bytes.Repeat([]byte("x"), MaxSignatureSize+1))
	if _, err := FetchLookaside(ctx, srv.Client(), base, d); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}

	srv.mu.Lock()
	srv.status = http.StatusInternalServerError
	srv.mu.Unlock()
	if _, err := FetchLookaside(ctx, srv.Client(), base, d); err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "signature-1") {
		t.Errorf("server error: %v", err)
	}
}

func TestFetchLookasideFile(t *testing.T) {
	root := t.TempDir()
	_, d := testManifest("lookaside-file")
	base := &url.URL{Scheme: "file", Path: filepath.Join(root, "ns/app")}
	if sigs, err := FetchLookaside(context.Background(), nil, base, d); err != nil || len(sigs) != 0 {
		t.Fatalf("miss: %v %v", sigs, err)
	}
	dir := filepath.Join(root, "ns", "app@sha256="+d.Encoded())
	mkdir(t, dir)
	writeFile(t, dir, "signature-1", []byte("one"))
	// The persisted format of containers/image, with a sigstore signature in it.
	env := []byte(storedSigstorePrefix + `{"mimeType":"` + SigstoreSignatureMIMEType + `","payload":"e30=","annotations":{"` + SigstoreSignatureAnnotation + `":"c2ln"}}`)
	writeFile(t, dir, "signature-2", env)
	sigs, err := FetchLookaside(context.Background(), nil, base, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || string(sigs[0].Content) != "one" || sigs[1].Type != TypeSigstore || string(sigs[1].Content) != "{}" || sigs[1].SigstoreSignature != "c2ln" {
		t.Fatalf("%+v", sigs)
	}

	for n := 1; n <= MaxSignatures+1; n++ {
		writeFile(t, dir, fmt.Sprintf("signature-%d", n), []byte{byte(n)})
	}
	if _, err := FetchLookaside(context.Background(), nil, base, d); !errors.Is(err, ErrTooManySignatures) {
		t.Errorf("%d signatures: %v", MaxSignatures+1, err)
	}
	if err := os.Remove(filepath.Join(dir, fmt.Sprintf("signature-%d", MaxSignatures+1))); err != nil {
		t.Fatal(err)
	}
	if sigs, err := FetchLookaside(context.Background(), nil, base, d); err != nil || len(sigs) != MaxSignatures {
		t.Errorf("exactly %d signatures: %d, %v", MaxSignatures, len(sigs), err)
	}

	if _, err := FetchLookaside(context.Background(), nil, &url.URL{Scheme: "ftp", Host: "x"}, d); err == nil {
		t.Error("ftp: no error")
	}
	if _, err := FetchLookaside(context.Background(), nil, base, digest.Digest("sha256:../../etc")); err == nil {
		t.Error("invalid digest: no error")
	}
}

// TestLookasideToVerify runs the importer's path: registries.d, lookaside over
// HTTP on loopback, verification.
func TestLookasideToVerify(t *testing.T) {
	srv := newLookasideServer(t)
	regDir := t.TempDir()
	writeFile(t, regDir, "default.yaml", []byte("docker:\n  registry.example.com:\n    lookaside: "+srv.URL+"/sigs\n"))
	regs, err := LoadRegistries(&types.SystemContext{RegistriesDirPath: regDir})
	if err != nil {
		t.Fatal(err)
	}
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("end-to-end")
	srv.put(d, 1, signSimple(t, keys.release, "registry.example.com/ns/app:v1", d).Content)

	ref := mustRef(t, "registry.example.com/ns/app:v1")
	base, _, err := regs.LookasideBase(ref)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := FetchLookaside(context.Background(), srv.Client(), base, d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), Image{Reference: ref, Manifest: m, ManifestDigest: d}, sigs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
}
