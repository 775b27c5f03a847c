package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
)

// methodCounter counts a registry's requests by HTTP method.
type methodCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *methodCounter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !testregistry.IsSeedRequest(r) {
			c.mu.Lock()
			c.n[r.Method]++
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// writes is the number of requests that are neither GET nor HEAD.
func (c *methodCounter) writes() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for m, k := range c.n {
		if m != http.MethodGet && m != http.MethodHead {
			n += k
		}
	}
	return n, c.n
}

func (c *methodCounter) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

// mirrorEnv is a signed source registry imported into a catalog, and an
// empty destination registry whose requests are counted by method.
type mirrorEnv struct {
	src, dst         *testregistry.Registry
	dstCount         *methodCounter
	db, dir, regd    string
	policy           string
	dstLookaside     string
	app, multi, bare testregistry.Pushed
	bundle, notation digest.Digest
	gpgSig           []byte
}

func newMirrorEnv(t *testing.T) *mirrorEnv {
	t.Helper()
	ctx := context.Background()
	e := &mirrorEnv{dir: t.TempDir(), dstCount: &methodCounter{n: map[string]int{}}}
	var err error
	if e.src, err = testregistry.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.src.Close)
	if e.dst, err = testregistry.Start(ctx, testregistry.WithMiddleware(e.dstCount.middleware)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.dst.Close)
	push := func(spec testregistry.ImageSpec) testregistry.Pushed {
		p, err := e.src.Push(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e.app = push(testregistry.ImageSpec{Repository: "sig/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 501})
	e.multi = push(testregistry.ImageSpec{Repository: "sig/app", Tags: []string{"multi"}, Format: testregistry.OCIIndex, Seed: 502})
	e.bare = push(testregistry.ImageSpec{Repository: "sig/bare", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 503})
	host := e.src.Host()

	// Simple signing in a file lookaside, for v1 and for the list and each
	// of its instances.
	gpg, err := sigtest.NewGPGKey("Release Team", "release@example.com")
	if err != nil {
		t.Fatal(err)
	}
	srcLookaside := filepath.Join(e.dir, "src-lookaside")
	e.dstLookaside = filepath.Join(e.dir, "dst-lookaside")
	sign := func(p testregistry.Pushed, tag string) []byte {
		blob, err := gpg.SignSimple(host+"/sig/app:"+tag, p.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigtest.WriteLookaside(srcLookaside, "sig/app", p.Digest, blob); err != nil {
			t.Fatal(err)
		}
		return blob
	}
	e.gpgSig = sign(e.app, "v1")
	sign(e.multi, "multi")
	for _, c := range e.multi.Children {
		sign(c, "multi")
	}
	// A cosign .sig attachment for v1.
	cosign, err := sigtest.NewCosignKey()
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, err := cosign.Sign(host+"/sig/app", e.app.Digest)
	if err != nil {
		t.Fatal(err)
	}
	sigTag, _ := signatures.SigstoreAttachmentTag(e.app.Digest)
	if err := e.src.PushRaw(ctx, "sig/app", sigTag, imgspecv1.MediaTypeImageManifest,
		sigtest.AttachmentManifest([][]byte{payload}, []string{sig}), sigtest.AttachmentConfig(), payload); err != nil {
		t.Fatal(err)
	}
	// A cosign v3 bundle and a notation signature, as referrers of v1
	// under the referrers tag schema.
	subject := imgspecv1.Descriptor{MediaType: e.app.MediaType, Digest: e.app.Digest, Size: int64(len(e.app.Manifest))}
	key, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := key.SignDSSE(refsigtest.Statement(host+"/sig/app", e.app.Digest, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	m, blobs := refsigtest.BundleManifest(subject, b, refsigtest.CosignSignPredicate)
	if e.bundle, err = e.src.PushReferrer(ctx, "sig/app", e.app.Digest, m, true, blobs...); err != nil {
		t.Fatal(err)
	}
	ns, err := refsigtest.NewNotationSigner("Release", "Example")
	if err != nil {
		t.Fatal(err)
	}
	env, err := ns.Sign(ctx, subject, refsigtest.NotationJWS)
	if err != nil {
		t.Fatal(err)
	}
	nm, nblobs := refsigtest.NotationManifest(subject, refsigtest.NotationJWS, env)
	if e.notation, err = e.src.PushReferrer(ctx, "sig/app", e.app.Digest, nm, true, nblobs...); err != nil {
		t.Fatal(err)
	}

	e.regd = filepath.Join(e.dir, "registries.d")
	os.MkdirAll(e.regd, 0o755)
	writeFile(t, filepath.Join(e.regd, "mirror.yaml"), fmt.Sprintf("docker:\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n",
		host, srcLookaside, e.dst.Host(), e.dstLookaside))
	keyPath := filepath.Join(e.dir, "release.gpg")
	if err := gpg.WritePublicKey(keyPath); err != nil {
		t.Fatal(err)
	}
	// sig/app must be signed by the release key; sig/bare is not signed,
	// so --require accepted holds it back.
	e.policy = filepath.Join(e.dir, "policy.json")
	writeFile(t, e.policy, fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{
		%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}], %q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}]}}}`,
		host+"/sig/app", keyPath, host+"/sig/bare", keyPath))
	e.db = dbtest.New(t)
	e.importAll(t)
	return e
}

func (e *mirrorEnv) importAll(t *testing.T) {
	t.Helper()
	code, out, errOut := runCLI(t, "import", "--db", e.db, "--tls-verify=false", "--policy", e.policy, "--registries.d", e.regd,
		"--all-tags", e.src.Host()+"/sig/app", e.src.Host()+"/sig/bare")
	if code != ExitOK && code != ExitRejected {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *mirrorEnv) apply(t *testing.T, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"mirror", "apply", "--db", e.db, "--tls-verify=false", "--registries.d", e.regd, "--to", e.dst.Host() + "/mirror", "--progress", "never"}, extra...)
	return runCLI(t, args...)
}

// headDigest asks a registry what a reference points at.
func headDigest(t *testing.T, reg *testregistry.Registry, repo, ref string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, reg.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	req.Header.Set("Accept", strings.Join([]string{imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"}, ", "))
	req.Header.Set("User-Agent", "regimport-test-seeder") // not counted
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// The "done when": plan --format mapping lists one line per current
// tag; apply copies them with their digests and signatures of every kind;
// a second apply with nothing changed writes nothing to the destination;
// --require accepted holds back what the policy rejected, with the reason.
func TestMirrorPlanAndApply(t *testing.T) {
	e := newMirrorEnv(t)
	src, dstPrefix := e.src.Host(), e.dst.Host()+"/mirror"

	code, out, errOut := runCLI(t, "mirror", "plan", "--db", e.db, "--to", dstPrefix, "--format", "mapping")
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	want := []string{
		fmt.Sprintf("%s/sig/app@%s=%s/sig/app:multi", src, e.multi.Digest, dstPrefix),
		fmt.Sprintf("%s/sig/app@%s=%s/sig/app:v1", src, e.app.Digest, dstPrefix),
		fmt.Sprintf("%s/sig/bare@%s=%s/sig/bare:v1", src, e.bare.Digest, dstPrefix),
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mapping:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}

	code, out, errOut = runCLI(t, "mirror", "plan", "--db", e.db, "--to", dstPrefix, "--require", "accepted")
	if code != ExitOK || strings.Contains(out, "sig/bare@") || !strings.Contains(out, "# held back "+src+"/sig/bare:v1 (rejected)") || !strings.Contains(errOut, "held back "+src+"/sig/bare:v1 (rejected)") {
		t.Fatalf("plan --require accepted: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = e.apply(t, "--require", "accepted")
	if code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "2 copied, 0 already present, 0 failed") || !strings.Contains(out, "held back "+src+"/sig/bare:v1") {
		t.Fatalf("apply:\n%s", out)
	}
	// Digests kept, every platform of the list.
	if d := headDigest(t, e.dst, "mirror/sig/app", "v1"); d != e.app.Digest.String() {
		t.Fatalf("destination v1 = %q, want %s", d, e.app.Digest)
	}
	if d := headDigest(t, e.dst, "mirror/sig/app", "multi"); d != e.multi.Digest.String() {
		t.Fatalf("destination multi = %q, want %s", d, e.multi.Digest)
	}
	for _, c := range e.multi.Children {
		if d := headDigest(t, e.dst, "mirror/sig/app", c.Digest.String()); d != c.Digest.String() {
			t.Fatalf("platform %s of the list is missing at the destination", c.Digest)
		}
	}
	if headDigest(t, e.dst, "mirror/sig/bare", "v1") != "" {
		t.Fatal("the held-back tag was copied")
	}
	// Simple signatures in the destination's lookaside, byte for byte.
	got, err := os.ReadFile(filepath.Join(e.dstLookaside, "mirror/sig/app@sha256="+e.app.Digest.Encoded(), "signature-1"))
	if err != nil || !bytes.Equal(got, e.gpgSig) {
		t.Fatalf("simple signature at the destination: %v (equal: %v)", err, bytes.Equal(got, e.gpgSig))
	}
	for _, c := range e.multi.Children {
		if _, err := os.Stat(filepath.Join(e.dstLookaside, "mirror/sig/app@sha256="+c.Digest.Encoded(), "signature-1")); err != nil {
			t.Fatalf("instance signature: %v", err)
		}
	}
	// The cosign attachment, and both referrers by digest with the
	// referrers tag index that lists them.
	sigTag, _ := signatures.SigstoreAttachmentTag(e.app.Digest)
	if headDigest(t, e.dst, "mirror/sig/app", sigTag) == "" {
		t.Fatalf("cosign attachment %s not copied", sigTag)
	}
	for _, r := range []digest.Digest{e.bundle, e.notation} {
		if d := headDigest(t, e.dst, "mirror/sig/app", r.String()); d != r.String() {
			t.Fatalf("referrer %s not copied", r)
		}
	}
	refTag := "sha256-" + e.app.Digest.Encoded()
	if headDigest(t, e.dst, "mirror/sig/app", refTag) != headDigest(t, e.src, "sig/app", refTag) {
		t.Fatal("the referrers tag index differs at the destination")
	}

	// get -o wide says where each image is mirrored.
	code, out, _ = runCLI(t, "get", "images", "--db", e.db, "-o", "wide", e.app.Digest.String(), e.bare.Digest.String())
	lines := strings.Split(out, "\n")
	if code != ExitOK || !strings.HasSuffix(strings.TrimSpace(lines[0]), "MIRRORED") {
		t.Fatalf("get -o wide: exit %d\n%s", code, out)
	}
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, e.app.Digest.String()) && !strings.HasSuffix(l, dstPrefix+"/sig/app:v1"),
			strings.HasPrefix(l, e.bare.Digest.String()) && !strings.HasSuffix(l, " -"):
			t.Fatalf("get -o wide MIRRORED column:\n%s", out)
		}
	}

	// Nothing changed: one HEAD per tag, no write, and no new record of
	// the tags (only the run's own row).
	e.dstCount.reset()
	before := len(dbtest.Dump(t, e.db)["mirrored_tags"])
	code, out, errOut = e.apply(t, "--require", "accepted")
	if code != ExitOK || !strings.Contains(out, "0 copied, 2 already present") {
		t.Fatalf("second apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if n, all := e.dstCount.writes(); n != 0 || all[http.MethodHead] != 2 {
		t.Fatalf("second apply made %d write requests to the destination (by method: %v), want none and 2 HEADs", n, all)
	}
	if after := len(dbtest.Dump(t, e.db)["mirrored_tags"]); after != before || before != 2 {
		t.Fatalf("mirrored_tags: %d rows after the first apply (want 2), %d after the second", before, after)
	}
}
