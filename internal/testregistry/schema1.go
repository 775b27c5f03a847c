package testregistry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
)

// schema1Store serves signed schema1 manifests in front of distribution v3,
// which no longer accepts or serves them. Their layers live in the real registry.
type schema1Store struct {
	mu        sync.RWMutex
	manifests map[string]map[string][]byte // repo -> tag or digest -> bytes
}

func newSchema1Store() *schema1Store {
	return &schema1Store{manifests: map[string]map[string][]byte{}}
}

func (s *schema1Store) put(repo string, refs []string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifests[repo] == nil {
		s.manifests[repo] = map[string][]byte{}
	}
	for _, ref := range refs {
		s.manifests[repo][ref] = raw
	}
}

func (s *schema1Store) get(repo, ref string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	raw, ok := s.manifests[repo][ref]
	return raw, ok
}

func (s *schema1Store) tags(repo string) ([]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	refs, ok := s.manifests[repo]
	var tags []string
	for ref := range refs {
		if !strings.Contains(ref, ":") {
			tags = append(tags, ref)
		}
	}
	return tags, ok
}

func (s *schema1Store) repos() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for r := range s.manifests {
		out = append(out, r)
	}
	return out
}

func (s *schema1Store) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/v2/")
		switch {
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(p, "/manifests/"):
			i := strings.LastIndex(p, "/manifests/")
			if raw, ok := s.get(p[:i], p[i+len("/manifests/"):]); ok {
				d, _ := manifest.Digest(raw)
				w.Header().Set("Content-Type", MediaTypeSchema1Signed)
				w.Header().Set("Docker-Content-Digest", d.String())
				w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
				if r.Method == http.MethodGet {
					w.Write(raw)
				}
				return
			}
		case r.Method == http.MethodGet && strings.HasSuffix(p, "/tags/list"):
			repo := strings.TrimSuffix(p, "/tags/list")
			if extra, ok := s.tags(repo); ok {
				s.merge(w, r, next, "tags", extra, map[string]any{"name": repo})
				return
			}
		case r.Method == http.MethodGet && p == "_catalog" && r.URL.Query().Get("last") == "":
			if extra := s.repos(); len(extra) > 0 {
				s.merge(w, r, next, "repositories", extra, map[string]any{})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// merge adds names to the JSON list the real registry answers (or would
// answer, when it knows nothing of the repository).
func (s *schema1Store) merge(w http.ResponseWriter, r *http.Request, next http.Handler, key string, extra []string, base map[string]any) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	names := map[string]bool{}
	if rec.Code == http.StatusOK {
		var body map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
			base = body
			if list, ok := body[key].([]any); ok {
				for _, n := range list {
					names[fmt.Sprint(n)] = true
				}
			}
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
	}
	for _, n := range extra {
		names[n] = true
	}
	all := make([]string, 0, len(names))
	for n := range names {
		all = append(all, n)
	}
	sort.Strings(all)
	base[key] = all
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(base)
}

// pushSchema1 uploads the layers to the real registry and registers a signed
// schema1 manifest for the tags and its digest with the shim.
func (r *Registry) pushSchema1(ctx context.Context, spec ImageSpec) (Pushed, error) {
	layers := layersFor(spec, "schema1")
	created := spec.Created
	if created.IsZero() {
		created = time.Date(2016, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(spec.Seed) * time.Second)
	}
	out := Pushed{Repository: spec.Repository, MediaType: MediaTypeSchema1Signed}
	n := len(layers)
	type fsLayer struct {
		BlobSum digest.Digest `json:"blobSum"`
	}
	type history struct {
		V1Compatibility string `json:"v1Compatibility"`
	}
	fsLayers := make([]fsLayer, n)
	hist := make([]history, n)
	ids := make([]string, n+1)
	for i := range n {
		ids[i] = fmt.Sprintf("%064x", hash64(fmt.Sprintf("%s/%d/%d", spec.Repository, spec.Seed, i)))
	}
	// Newest first, as schema1 lists them; layers[n-1] is the top.
	for i := range n {
		l := layers[n-1-i]
		if err := r.uploadBlob(ctx, spec.Repository, l.compressed); err != nil {
			return Pushed{}, err
		}
		v1 := map[string]any{
			"id": ids[i], "created": created.Add(-time.Duration(i) * time.Minute), "architecture": "amd64", "os": "linux",
			"container_config": map[string]any{"Cmd": []string{"/bin/sh", "-c", fmt.Sprintf("#(nop) layer %d", n-1-i)}},
			"Size":             len(l.compressed),
		}
		if ids[i+1] != "" {
			v1["parent"] = ids[i+1]
		}
		if i == 0 {
			v1["docker_version"] = "1.9.1"
			v1["author"] = "regimport tests"
			v1["config"] = map[string]any{"Cmd": []string{"serve"}, "Env": []string{"PATH=/usr/bin"}, "Labels": spec.Labels}
		}
		b, _ := json.Marshal(v1)
		fsLayers[i] = fsLayer{BlobSum: digest.FromBytes(l.compressed)}
		hist[i] = history{V1Compatibility: string(b)}
	}
	for i := n - 1; i >= 0; i-- {
		l := layers[n-1-i]
		out.Layers = append(out.Layers, LayerInfo{Digest: digest.FromBytes(l.compressed), Size: int64(len(l.compressed)),
			MediaType: "application/vnd.docker.container.image.rootfs.diff+x-gtar"})
	}
	tag := "latest"
	if len(spec.Tags) > 0 {
		tag = spec.Tags[0]
	}
	unsigned, _ := json.MarshalIndent(map[string]any{
		"schemaVersion": 1, "name": spec.Repository, "tag": tag, "architecture": "amd64",
		"fsLayers": fsLayers, "history": hist,
	}, "", "   ")
	signed, err := manifest.AddDummyV2S1Signature(unsigned)
	if err != nil {
		return Pushed{}, err
	}
	d, err := manifest.Digest(signed)
	if err != nil {
		return Pushed{}, err
	}
	out.Manifest, out.Digest = signed, d
	r.schema1.put(spec.Repository, append(append([]string{}, spec.Tags...), d.String()), signed)
	return out, nil
}
