package importer_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
)

// listingEnv is a registry whose requests are logged by path, with
// repositories under a policy that requires a cosign signature (sigstore
// attachments on), so every image's lookups are a .sig tag and, on this
// registry without the referrers API, a sha256-<hex> referrers tag.
type listingEnv struct {
	*env
	dir    string
	cosign *sigtest.CosignKey

	mu sync.Mutex
	// gets counts manifest GETs by "<repository>:<reference>".
	gets map[string]int
	// onGet, when set, runs before a manifest GET is served (not for the
	// test's own pushes).
	onGet func(repo, ref string)
	// failTags makes the tag list of these repositories fail: "all" with a
	// 500, "page2" after a first page that links to a second.
	failTags map[string]string
}

func newListingEnv(t *testing.T) *listingEnv {
	t.Helper()
	e := &listingEnv{dir: t.TempDir(), gets: map[string]int{}, failTags: map[string]string{}}
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			path := strings.TrimPrefix(r.URL.Path, "/v2/")
			if repo, ok := strings.CutSuffix(path, "/tags/list"); ok {
				e.mu.Lock()
				mode := e.failTags[repo]
				e.mu.Unlock()
				switch {
				case mode == "all":
					http.Error(w, "listing broke", http.StatusInternalServerError)
					return
				case mode == "page2" && r.URL.Query().Get("last") == "":
					w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?n=1&last=v1>; rel="next"`, repo))
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprintf(w, `{"name":%q,"tags":["v1"]}`, repo)
					return
				case mode == "page2":
					http.Error(w, "second page broke", http.StatusInternalServerError)
					return
				}
			}
			if repo, ref, ok := strings.Cut(path, "/manifests/"); ok && r.Method == http.MethodGet {
				e.mu.Lock()
				e.gets[repo+":"+ref]++
				hook := e.onGet
				e.mu.Unlock()
				if hook != nil {
					hook(repo, ref)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	e.env = newEnv(t, testregistry.WithMiddleware(mw))
	var err error
	if e.cosign, err = sigtest.NewCosignKey(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "cosign.pub"), e.cosign.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	regd := filepath.Join(e.dir, "registries.d")
	if err := os.MkdirAll(regd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(regd, "default.yaml"), []byte("default-docker:\n  use-sigstore-attachments: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}]}}}`,
		e.reg.Host()+"/lst", filepath.Join(e.dir, "cosign.pub"))
	if err := os.WriteFile(filepath.Join(e.dir, "policy.json"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// importer is a fresh Importer (a fresh client, as each `regimport import`
// has) with the cosign policy.
func (e *listingEnv) importer(t *testing.T) *importer.Importer {
	t.Helper()
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: filepath.Join(e.dir, "policy.json")})
	if err != nil {
		t.Fatal(err)
	}
	regs, err := signatures.LoadRegistries(&types.SystemContext{RegistriesDirPath: filepath.Join(e.dir, "registries.d")})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4,
		Signatures: importer.SignatureOptions{Verifier: v, Registries: regs}})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// sign pushes a cosign signature of p into repo under its .sig tag.
func (e *listingEnv) sign(t *testing.T, repo string, p testregistry.Pushed) {
	t.Helper()
	payload, sig, err := e.cosign.Sign(e.reg.Host()+"/"+repo, p.Digest)
	if err != nil {
		t.Error(err)
		return
	}
	tag, _ := signatures.SigstoreAttachmentTag(p.Digest)
	if err := e.reg.PushRaw(context.Background(), repo, tag, "application/vnd.oci.image.manifest.v1+json",
		sigtest.AttachmentManifest([][]byte{payload}, []string{sig}), sigtest.AttachmentConfig(), payload); err != nil {
		t.Error(err)
	}
}

// lookups is how many GETs the .sig tag and the referrers tag of p got
// in repo since the last reset.
func (e *listingEnv) lookups(repo string, p testregistry.Pushed) (sig, referrers int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := "sha256-" + p.Digest.Encoded()
	return e.gets[repo+":"+ref+".sig"], e.gets[repo+":"+ref]
}

func (e *listingEnv) reset() {
	e.mu.Lock()
	e.gets = map[string]int{}
	e.mu.Unlock()
}

func (e *listingEnv) verdict(t *testing.T, p testregistry.Pushed) (string, int) {
	t.Helper()
	img, err := e.cat.GetImage(context.Background(), p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	return img.Annotations[catalog.AnnotationSignatureVerdict], len(img.Signatures)
}

func TestCompleteListingSkipsSignatureTagsItDoesNotHave(t *testing.T) {
	e := newListingEnv(t)
	host := e.reg.Host()
	signed := e.push(t, testregistry.ImageSpec{Repository: "lst/signed", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 1})
	plain := e.push(t, testregistry.ImageSpec{Repository: "lst/plain", Tags: []string{"v1", "v2"}, Format: testregistry.OCI, Seed: 2})
	e.sign(t, "lst/signed", signed)

	s, err := e.importer(t).Run(context.Background(), importer.Request{Repositories: []string{host + "/lst/signed", host + "/lst/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failures) != 0 || s.ImagesCreated != 2 {
		t.Fatalf("failures %+v, %d images created", s.Failures, s.ImagesCreated)
	}
	// The listed .sig tag is fetched; no referrers tag is listed, and the
	// plain repository lists no artifact tag at all: nothing else is asked.
	if sig, ref := e.lookups("lst/signed", signed); sig != 1 || ref != 0 {
		t.Errorf("signed image: %d .sig and %d referrers-tag GETs, want 1 and 0", sig, ref)
	}
	if sig, ref := e.lookups("lst/plain", plain); sig != 0 || ref != 0 {
		t.Errorf("plain image: %d .sig and %d referrers-tag GETs, want none", sig, ref)
	}
	if v, n := e.verdict(t, signed); v != "accepted" || n != 1 {
		t.Errorf("signed image: verdict %q with %d signatures, want accepted with 1", v, n)
	}
	if v, n := e.verdict(t, plain); v != "rejected" || n != 0 {
		t.Errorf("plain image: verdict %q with %d signatures, want rejected with none", v, n)
	}
}

// TestNoLookupSkippedWithoutCompleteListing: an image imported by tag or by
// digest from a repository this run did not list completely (not listed at
// all, a listing that failed, a listing whose second page failed) keeps
// both lookups.
func TestNoLookupSkippedWithoutCompleteListing(t *testing.T) {
	e := newListingEnv(t)
	host := e.reg.Host()
	cases := []struct {
		name string
		fail string // how the repository's tag list fails; "" = not listed
		ref  func(p testregistry.Pushed, repo string) string
	}{
		{"by tag", "", func(_ testregistry.Pushed, repo string) string { return host + "/" + repo + ":v1" }},
		{"by digest", "", func(p testregistry.Pushed, repo string) string { return host + "/" + repo + "@" + p.Digest.String() }},
		{"by tag, listing failed", "all", func(_ testregistry.Pushed, repo string) string { return host + "/" + repo + ":v1" }},
		{"by tag, listing partial", "page2", func(_ testregistry.Pushed, repo string) string { return host + "/" + repo + ":v1" }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("lst/case%d", i)
			p := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{"v1", "v2"}, Format: testregistry.Schema2, Seed: int64(10 + i)})
			req := importer.Request{References: []string{c.ref(p, repo)}}
			if c.fail != "" {
				e.mu.Lock()
				e.failTags[repo] = c.fail
				e.mu.Unlock()
				req.Repositories = []string{host + "/" + repo} // the listing is tried in the same run, and fails
			}
			e.reset()
			s, err := e.importer(t).Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantFailures := 0
			if c.fail != "" {
				wantFailures = 1 // the repository's listing
			}
			if len(s.Failures) != wantFailures || s.ImagesCreated != 1 {
				t.Fatalf("failures %+v, %d images created; want %d failures, 1 image", s.Failures, s.ImagesCreated, wantFailures)
			}
			if c.fail != "" && !strings.Contains(s.Failures[0].Reason, "list tags") {
				t.Errorf("failure %+v, want the tag list's", s.Failures[0])
			}
			if sig, ref := e.lookups(repo, p); sig != 1 || ref != 1 {
				t.Errorf("%d .sig and %d referrers-tag GETs, want 1 of each", sig, ref)
			}
		})
	}
}

// TestSignaturePushedAfterListingIsFoundByTheNextRun: the signature is
// pushed after the run listed the repository and before it looked the
// image up. That run skips the lookup (the listing did not have the tag)
// and records the image as unsigned; the next run's listing has the tag,
// so the pair is looked up again and the signature found; the run after
// that asks for nothing more.
func TestSignaturePushedAfterListingIsFoundByTheNextRun(t *testing.T) {
	e := newListingEnv(t)
	host := e.reg.Host()
	repo := "lst/late"
	p := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 7})
	var pushed atomic.Bool
	e.mu.Lock()
	e.onGet = func(r, ref string) {
		if r == repo && ref == "v1" && pushed.CompareAndSwap(false, true) {
			e.sign(t, repo, p) // after the tag list, before the lookup
		}
	}
	e.mu.Unlock()
	req := importer.Request{Repositories: []string{host + "/" + repo}}

	first, err := e.importer(t).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !pushed.Load() || len(first.Failures) != 0 || first.ImagesCreated != 1 {
		t.Fatalf("first run: pushed %v, failures %+v, %d created", pushed.Load(), first.Failures, first.ImagesCreated)
	}
	if sig, _ := e.lookups(repo, p); sig != 0 {
		t.Errorf("first run: %d .sig GETs, want the lookup skipped", sig)
	}
	if v, n := e.verdict(t, p); v != "rejected" || n != 0 {
		t.Errorf("first run recorded verdict %q with %d signatures, want rejected with none (the signature came after the listing)", v, n)
	}

	e.reset()
	second, err := e.importer(t).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Failures) != 0 || second.ImagesCreated != 0 {
		t.Fatalf("second run: failures %+v, %d created", second.Failures, second.ImagesCreated)
	}
	if sig, _ := e.lookups(repo, p); sig != 1 {
		t.Errorf("second run: %d .sig GETs, want 1", sig)
	}
	if v, n := e.verdict(t, p); v != "accepted" || n != 1 {
		t.Errorf("second run: verdict %q with %d signatures, want accepted with the late signature", v, n)
	}

	e.reset()
	e.reg.ResetRequests()
	if _, err := e.importer(t).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	c := e.reg.Requests()
	if sig, ref := e.lookups(repo, p); sig != 0 || ref != 0 || c.Get(testregistry.KindManifestHead) != 1 || c.Get(testregistry.KindManifestGet) != 0 {
		t.Errorf("third run: %d .sig and %d referrers-tag GETs, requests %v; want one HEAD and no manifest GET", sig, ref, c)
	}
}
