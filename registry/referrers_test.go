package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

const (
	bundleType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	notationType = "application/vnd.cncf.notary.signature"
)

// artifact is a minimal OCI 1.1 artifact manifest referring to subject.
func artifact(t *testing.T, subject digest.Digest, artifactType, payload string) ([]byte, [][]byte) {
	t.Helper()
	blob := []byte(payload)
	empty := []byte("{}")
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest, ArtifactType: artifactType,
		Config:  imgspecv1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromBytes(empty), Size: 2},
		Layers:  []imgspecv1.Descriptor{{MediaType: artifactType, Digest: digest.FromBytes(blob), Size: int64(len(blob))}},
		Subject: &imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: subject, Size: 1}}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw, [][]byte{blob, empty}
}

type referrersEnv struct {
	reg      *testregistry.Registry
	repo     *registry.Repository
	manifest *registry.Manifest
	apiCalls *atomic.Int64 // GET .../referrers/... requests sent to the registry
}

// startReferrersEnv starts a registry with one image; withAPI puts the
// referrers-API handler in front, and front (when set) in front of that;
// apiCalls counts every referrers request, front's answers included.
func startReferrersEnv(t *testing.T, withAPI bool, front ...testregistry.Option) referrersEnv {
	t.Helper()
	ctx := context.Background()
	var calls atomic.Int64
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/referrers/") {
				calls.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	opts := []testregistry.Option{}
	if withAPI {
		opts = append(opts, testregistry.WithMiddleware(testregistry.ReferrersAPI()))
	}
	opts = append(opts, front...)
	opts = append(opts, testregistry.WithMiddleware(count)) // counts what front answers too
	reg, err := testregistry.Start(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI}); err != nil {
		t.Fatal(err)
	}
	named, _ := reference.ParseNormalizedNamed(reg.Host() + "/team/app")
	c := registry.New(registry.Options{Sys: &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}, MaxRetries: 1})
	repo, err := c.Repository(named)
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.GetManifest(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return referrersEnv{reg: reg, repo: repo, manifest: m, apiCalls: &calls}
}

// Both ways a registry can tell referrers: the referrers API (a handler in
// front of distribution, which lacks it) and the referrers tag schema
// (distribution as it is). Each finds the pushed artifacts, filtered by type,
// and a manifest without referrers costs one request.
func TestReferrersThroughTheAPIAndTheTagSchema(t *testing.T) {
	for _, withAPI := range []bool{true, false} {
		t.Run(fmt.Sprintf("api=%v", withAPI), func(t *testing.T) {
			ctx := context.Background()
			e := startReferrersEnv(t, withAPI)
			var l registry.ReferrerLookup
			subject := e.manifest.Digest

			list, err := l.Find(ctx, e.repo, e.manifest.Source, subject, bundleType)
			if err != nil || len(list.Items) != 0 {
				t.Fatalf("before any push: %+v, %v", list, err)
			}
			for i, typ := range []string{bundleType, notationType, bundleType} {
				raw, blob := artifact(t, subject, typ, fmt.Sprintf("payload-%d", i))
				if _, err := e.reg.PushReferrer(ctx, "team/app", subject, raw, !withAPI, blob...); err != nil {
					t.Fatal(err)
				}
			}
			list, err = l.Find(ctx, e.repo, e.manifest.Source, subject, bundleType)
			if err != nil {
				t.Fatal(err)
			}
			wantVia := registry.ReferrersViaTag
			if withAPI {
				wantVia = registry.ReferrersViaAPI
			}
			if len(list.Items) != 2 || list.Via != wantVia {
				t.Fatalf("bundles: %+v, want 2 via %s", list, wantVia)
			}
			for _, it := range list.Items {
				if it.ArtifactType != bundleType {
					t.Errorf("filter let through %s", it.ArtifactType)
				}
				m, err := e.repo.GetManifest(ctx, it.Digest.String())
				if err != nil {
					t.Fatalf("fetching the referrer %s: %v", it.Digest, err)
				}
				if !strings.Contains(string(m.Bytes), subject.String()) {
					t.Errorf("referrer %s does not name its subject", it.Digest)
				}
			}
			all, err := l.Find(ctx, e.repo, e.manifest.Source, subject, bundleType, notationType)
			if err != nil || len(all.Items) != 3 {
				t.Fatalf("both types: %+v, %v", all, err)
			}

			// A manifest with no referrers: exactly one request once the host is known.
			other, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v2"}, Format: testregistry.OCI, Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			otherDigest := other.Digest
			e.reg.ResetRequests()
			before := e.apiCalls.Load()
			list, err = l.Find(ctx, e.repo, e.manifest.Source, otherDigest, bundleType)
			if err != nil || len(list.Items) != 0 {
				t.Fatalf("unsigned manifest: %+v, %v", list, err)
			}
			if got := e.reg.Requests().Total(); got != 1 {
				t.Errorf("%d requests for a manifest without referrers, want 1 (%v)", got, e.reg.Requests())
			}
			apiAsked := e.apiCalls.Load() - before
			if withAPI && apiAsked != 1 || !withAPI && apiAsked != 0 {
				t.Errorf("referrers API asked %d times (has API: %v)", apiAsked, withAPI)
			}
		})
	}
}

// A referrers index of 10,000 entries is read up to the cap; the rest is
// counted, not returned. distribution refuses to store an index whose
// children it lacks, so a handler in front serves this hostile index at the
// referrers tag, as a misbehaving registry would.
func TestReferrersIndexIsCapped(t *testing.T) {
	ctx := context.Background()
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for i := range 10000 {
		idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest,
			Digest: digest.FromString(fmt.Sprint(i)), Size: 500, ArtifactType: bundleType})
	}
	raw, _ := json.Marshal(idx)
	hostile := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/sha256-") {
				w.Header().Set("Content-Type", imgspecv1.MediaTypeImageIndex)
				w.Header().Set("Docker-Content-Digest", digest.FromBytes(raw).String())
				w.Write(raw)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(hostile))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pushed, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI})
	if err != nil {
		t.Fatal(err)
	}
	named, _ := reference.ParseNormalizedNamed(reg.Host() + "/team/app")
	repo, err := registry.New(registry.Options{Sys: &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}, MaxRetries: 1}).Repository(named)
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.GetManifest(ctx, pushed.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	var l registry.ReferrerLookup
	list, err := l.Find(ctx, repo, m.Source, pushed.Digest, bundleType)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != registry.MaxReferrers || list.Beyond != 10000-registry.MaxReferrers || list.Via != registry.ReferrersViaTag {
		t.Fatalf("%d items, %d beyond, via %s; want %d and %d via the tag", len(list.Items), list.Beyond, list.Via, registry.MaxReferrers, 10000-registry.MaxReferrers)
	}
}

// Registries that predate OCI 1.1 answer the referrers route with 405 or
// 400 rather than the spec's 404: that too means "no API", so the tag schema
// is read, and the host is remembered (one request per manifest after it).
// A handler in front of distribution gives those answers, which it never
// does itself.
func TestReferrersFallBackToTheTagSchemaOn405And400(t *testing.T) {
	for _, status := range []int{http.StatusMethodNotAllowed, http.StatusBadRequest} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			refuse := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.URL.Path, "/referrers/") {
						http.Error(w, http.StatusText(status), status)
						return
					}
					next.ServeHTTP(w, r)
				})
			}
			e := startReferrersEnv(t, false, testregistry.WithMiddleware(refuse))
			reg, repo, m := e.reg, e.repo, e.manifest
			raw, blob := artifact(t, m.Digest, bundleType, "payload")
			if _, err := reg.PushReferrer(ctx, "team/app", m.Digest, raw, true, blob...); err != nil {
				t.Fatal(err)
			}
			var l registry.ReferrerLookup
			for range 2 {
				list, err := l.Find(ctx, repo, m.Source, m.Digest, bundleType)
				if err != nil || len(list.Items) != 1 || list.Via != registry.ReferrersViaTag {
					t.Fatalf("referrers: %+v, %v; want the bundle via the tag schema", list, err)
				}
			}
			if n := e.apiCalls.Load(); n != 1 {
				t.Errorf("the referrers API was asked %d times, want once (then the host is remembered)", n)
			}
		})
	}
}
