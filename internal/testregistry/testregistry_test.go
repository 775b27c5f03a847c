package testregistry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// acceptAll is what a client that takes every manifest type sends.
func acceptAll() []string {
	return []string{MediaTypeSchema2, MediaTypeDockerList, imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageIndex, MediaTypeSchema1Signed}
}

func start(t *testing.T, opts ...Option) *Registry {
	t.Helper()
	r, err := Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func push(t *testing.T, r *Registry, spec ImageSpec) Pushed {
	t.Helper()
	p, err := r.Push(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// fetch is a client request, not a seeding one: it is counted.
func fetch(t *testing.T, method, url string, accept ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v in %s", v, err, b)
	}
	return v
}

// checkManifest GETs and HEADs repo:ref and wants p's bytes, digest and type.
func checkManifest(t *testing.T, r *Registry, p Pushed, ref string) {
	t.Helper()
	u := r.URL() + "/v2/" + p.Repository + "/manifests/" + ref
	got := fetch(t, http.MethodGet, u, acceptAll()...)
	if got.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", ref, got.status, got.body)
	}
	if !bytes.Equal(got.body, p.Manifest) {
		t.Errorf("GET %s: body differs from what was pushed:\n%s\nwant\n%s", ref, got.body, p.Manifest)
	}
	if h := got.header.Get("Docker-Content-Digest"); h != p.Digest.String() {
		t.Errorf("GET %s: Docker-Content-Digest %s, want %s", ref, h, p.Digest)
	}
	if ct := got.header.Get("Content-Type"); ct != p.MediaType {
		t.Errorf("GET %s: Content-Type %s, want %s", ref, ct, p.MediaType)
	}
	head := fetch(t, http.MethodHead, u, acceptAll()...)
	if head.status != http.StatusOK || head.header.Get("Docker-Content-Digest") != p.Digest.String() ||
		head.header.Get("Content-Length") != strconv.Itoa(len(p.Manifest)) || len(head.body) != 0 {
		t.Errorf("HEAD %s: %d %v", ref, head.status, head.header)
	}
}

// checkImageBlobs reads back the config and layers of a single image and
// checks the config is a realistic one whose diff_ids match the layers.
func checkImageBlobs(t *testing.T, r *Registry, p Pushed, oci bool) {
	t.Helper()
	base := r.URL() + "/v2/" + p.Repository + "/blobs/"
	cfg := fetch(t, http.MethodGet, base+p.ConfigDigest.String())
	if cfg.status != http.StatusOK || !bytes.Equal(cfg.body, p.Config) || digest.FromBytes(cfg.body) != p.ConfigDigest {
		t.Fatalf("config blob: %d", cfg.status)
	}
	img := decode[imgspecv1.Image](t, p.Config)
	raw := decode[map[string]json.RawMessage](t, p.Config)
	if img.Architecture == "" || img.OS != "linux" || img.Created == nil || img.Author == "" || img.RootFS.Type != "layers" {
		t.Errorf("config lacks platform, created, author or rootfs: %s", p.Config)
	}
	c := img.Config
	if c.User == "" || len(c.Env) == 0 || len(c.Cmd) == 0 || len(c.Entrypoint) == 0 || c.WorkingDir == "" ||
		len(c.ExposedPorts) == 0 || len(c.Volumes) == 0 {
		t.Errorf("config.config incomplete: %+v", c)
	}
	_, hasDockerVersion := raw["docker_version"]
	var cc struct{ Hostname string }
	if raw["container_config"] != nil {
		cc = decode[struct{ Hostname string }](t, raw["container_config"])
	}
	if oci == hasDockerVersion || oci == (cc.Hostname != "") {
		t.Errorf("oci=%v: docker_version %v, container_config %s", oci, hasDockerVersion, raw["container_config"])
	}
	nonEmpty := 0
	for _, h := range img.History {
		if h.Created == nil || h.CreatedBy == "" {
			t.Errorf("history entry %+v", h)
		}
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(p.Layers) || len(img.RootFS.DiffIDs) != len(p.Layers) {
		t.Errorf("%d layers, %d diff_ids, %d non-empty history entries", len(p.Layers), len(img.RootFS.DiffIDs), nonEmpty)
	}
	wantType := MediaTypeSchema2Layer
	if oci {
		wantType = imgspecv1.MediaTypeImageLayerGzip
	}
	for i, l := range p.Layers {
		blob := fetch(t, http.MethodGet, base+l.Digest.String())
		if blob.status != http.StatusOK || int64(len(blob.body)) != l.Size || digest.FromBytes(blob.body) != l.Digest || l.MediaType != wantType {
			t.Fatalf("layer %d %s: %d, %d bytes, type %s", i, l.Digest, blob.status, len(blob.body), l.MediaType)
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob.body))
		if err != nil {
			t.Fatal(err)
		}
		tarBytes, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(img.RootFS.DiffIDs) && digest.FromBytes(tarBytes) != img.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: uncompressed digest is not diff_ids[%d]", i, i)
		}
	}
}

func TestPushEveryFormatAndReadItBack(t *testing.T) {
	r := start(t)
	for _, f := range []Format{Schema2, OCI, DockerList, OCIIndex, Schema1} {
		t.Run(f.String(), func(t *testing.T) {
			repo := "formats/" + f.String()
			p := push(t, r, ImageSpec{Repository: repo, Tags: []string{"v1", "latest"}, Format: f, Seed: 7, Layers: 3,
				Labels: map[string]string{"org.opencontainers.image.title": f.String()}})
			if p.Repository != repo || !slices.Equal(p.Tags, []string{"v1", "latest"}) {
				t.Errorf("pushed %s %v", p.Repository, p.Tags)
			}
			for _, ref := range []string{"v1", "latest", p.Digest.String()} {
				checkManifest(t, r, p, ref)
			}
			switch f {
			case Schema2, OCI:
				if len(p.Layers) != 3 || len(p.Children) != 0 {
					t.Fatalf("%d layers, %d children", len(p.Layers), len(p.Children))
				}
				m := decode[imgspecv1.Manifest](t, p.Manifest)
				wantConfig := map[bool]string{true: imgspecv1.MediaTypeImageConfig, false: MediaTypeSchema2Config}[f == OCI]
				if m.MediaType != p.MediaType || m.Config.MediaType != wantConfig || m.Config.Digest != p.ConfigDigest || len(m.Layers) != 3 {
					t.Errorf("manifest %s", p.Manifest)
				}
				img := decode[imgspecv1.Image](t, p.Config)
				if img.Architecture != "amd64" || img.Config.Labels["org.opencontainers.image.title"] != f.String() ||
					!img.Created.Equal(time.Date(2024, 1, 2, 3, 4, 12, 0, time.UTC)) {
					t.Errorf("config %s", p.Config)
				}
				checkImageBlobs(t, r, p, f == OCI)
			case DockerList, OCIIndex:
				list := decode[imgspecv1.Index](t, p.Manifest)
				if len(p.Children) != 2 || len(list.Manifests) != 2 || p.ConfigDigest != "" || list.MediaType != p.MediaType {
					t.Fatalf("list %s with %d children", p.Manifest, len(p.Children))
				}
				for i, c := range p.Children {
					e, want := list.Manifests[i], DefaultPlatforms()[i]
					if e.Digest != c.Digest || e.MediaType != c.MediaType || e.Size != int64(len(c.Manifest)) || *c.Platform != want ||
						e.Platform == nil || e.Platform.Architecture != want.Architecture || e.Platform.Variant != want.Variant {
						t.Errorf("entry %d: %+v, child %s %+v", i, e, c.Digest, c.Platform)
					}
					checkManifest(t, r, c, c.Digest.String())
					checkImageBlobs(t, r, c, f == OCIIndex)
					if img := decode[imgspecv1.Image](t, c.Config); img.Architecture != want.Architecture || img.Variant != want.Variant {
						t.Errorf("child %d config platform %s/%s", i, img.Architecture, img.Variant)
					}
				}
				if p.Children[0].Layers[0].Digest == p.Children[1].Layers[0].Digest {
					t.Error("children of different platforms share layers")
				}
			}
		})
	}
}

func TestTagsListAndCatalog(t *testing.T) {
	r := start(t)
	push(t, r, ImageSpec{Repository: "a/one", Tags: []string{"2", "1"}, Format: Schema2, Seed: 1})
	push(t, r, ImageSpec{Repository: "a/one", Tags: []string{"old"}, Format: Schema1, Seed: 2})
	push(t, r, ImageSpec{Repository: "b/two", Tags: []string{"x"}, Format: OCIIndex, Seed: 3})
	push(t, r, ImageSpec{Repository: "c/legacy", Tags: []string{"v1", "v2"}, Format: Schema1, Seed: 4})
	untagged := push(t, r, ImageSpec{Repository: "d/untagged", Format: OCI, Seed: 5})
	checkManifest(t, r, untagged, untagged.Digest.String())

	type tagList struct {
		Name string
		Tags []string
	}
	for repo, want := range map[string][]string{"a/one": {"1", "2", "old"}, "b/two": {"x"}, "c/legacy": {"v1", "v2"}} {
		got := fetch(t, http.MethodGet, r.URL()+"/v2/"+repo+"/tags/list")
		if l := decode[tagList](t, got.body); got.status != http.StatusOK || l.Name != repo || !slices.Equal(l.Tags, want) {
			t.Errorf("tags/list %s: %d %s, want %v", repo, got.status, got.body, want)
		}
	}
	// Pagination is the real registry's, schema1 tags included.
	page := fetch(t, http.MethodGet, r.URL()+"/v2/a/one/tags/list?n=2&last=1")
	if l := decode[tagList](t, page.body); !slices.Equal(l.Tags, []string{"2", "old"}) {
		t.Errorf("tags/list page: %s", page.body)
	}
	cat := fetch(t, http.MethodGet, r.URL()+"/v2/_catalog")
	repos := decode[struct{ Repositories []string }](t, cat.body).Repositories
	if !slices.Equal(repos, []string{"a/one", "b/two", "c/legacy", "d/untagged"}) {
		t.Errorf("catalog: %s", cat.body)
	}
	first := fetch(t, http.MethodGet, r.URL()+"/v2/_catalog?n=2")
	if repos := decode[struct{ Repositories []string }](t, first.body).Repositories; len(repos) != 2 || first.header.Get("Link") == "" {
		t.Errorf("catalog page: %s, Link %q", first.body, first.header.Get("Link"))
	}
}

func TestDeterministicContent(t *testing.T) {
	r1, r2 := start(t), start(t)
	for _, f := range []Format{Schema2, OCI, DockerList, OCIIndex, Schema1} {
		spec := ImageSpec{Repository: "det/app", Tags: []string{"v1"}, Format: f, Seed: 42}
		a, b := push(t, r1, spec), push(t, r2, spec)
		if a.Digest != b.Digest || !bytes.Equal(a.Config, b.Config) {
			t.Errorf("%s: same spec, digests %s and %s", f, a.Digest, b.Digest)
		}
		spec.Seed = 43
		if c := push(t, r2, spec); c.Digest == a.Digest {
			t.Errorf("%s: seeds 42 and 43 give the same digest", f)
		}
	}
	created := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	x := push(t, r1, ImageSpec{Repository: "shared/x", Tags: []string{"1"}, Format: Schema2, Seed: 1, SharedBaseLayer: true, Created: created})
	y := push(t, r1, ImageSpec{Repository: "shared/y", Tags: []string{"1"}, Format: OCI, Seed: 2, SharedBaseLayer: true})
	z := push(t, r1, ImageSpec{Repository: "shared/z", Tags: []string{"1"}, Format: OCI, Seed: 3})
	if x.Layers[0].Digest != y.Layers[0].Digest || x.Layers[1].Digest == y.Layers[1].Digest || z.Layers[0].Digest == x.Layers[0].Digest {
		t.Error("SharedBaseLayer: the first layer is not shared exactly when asked")
	}
	if img := decode[imgspecv1.Image](t, x.Config); !img.Created.Equal(created) {
		t.Errorf("created %v, want %v", img.Created, created)
	}
	for _, l := range append(x.Layers, y.Layers...) {
		if l.Size < 200 || l.Size > 1200 {
			t.Errorf("layer of %d bytes: want a few hundred", l.Size)
		}
	}
}
