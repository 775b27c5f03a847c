package testregistry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containers/libtrust"
	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
)

// Schema1 support. distribution v3 neither accepts nor serves schema1
// manifests, yet regimport must import them from the older registries that
// still hold some. The layers of a schema1 image are real blobs in the real
// registry; the signed manifest lives in schema1Store, and its middleware
// answers GET and HEAD of it by tag or digest. So that tags/list and
// _catalog (with their pagination) list schema1 tags without being
// rewritten, each tag is also pushed to the real registry as a small
// placeholder OCI artifact, which the middleware hides behind the schema1
// manifest.

// placeholderArtifactType marks the placeholders, should anyone fetch one by digest.
const placeholderArtifactType = "application/vnd.regimport.testregistry.schema1-placeholder"

type schema1Store struct {
	mu        sync.RWMutex
	tags      map[string]map[string]digest.Digest // repo -> tag -> digest
	manifests map[string]map[digest.Digest][]byte // repo -> digest -> signed manifest
}

func newSchema1Store() *schema1Store {
	return &schema1Store{tags: map[string]map[string]digest.Digest{}, manifests: map[string]map[digest.Digest][]byte{}}
}

func (s *schema1Store) put(repo string, tags []string, d digest.Digest, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifests[repo] == nil {
		s.manifests[repo] = map[digest.Digest][]byte{}
		s.tags[repo] = map[string]digest.Digest{}
	}
	s.manifests[repo][d] = raw
	for _, t := range tags {
		s.tags[repo][t] = d
	}
}

// untag forgets a tag that something else is being pushed under.
func (s *schema1Store) untag(repo, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tags[repo], tag)
}

func (s *schema1Store) get(repo, ref string) ([]byte, digest.Digest, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := digest.Parse(ref)
	if err != nil {
		var ok bool
		if d, ok = s.tags[repo][ref]; !ok {
			return nil, "", false
		}
	}
	raw, ok := s.manifests[repo][d]
	return raw, d, ok
}

// middleware serves schema1 manifests the store holds and passes everything else on.
func (s *schema1Store) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, _ := strings.CutPrefix(req.URL.Path, "/v2/")
		i := strings.LastIndex(rest, "/manifests/")
		if i <= 0 {
			next.ServeHTTP(w, req)
			return
		}
		repo, ref := rest[:i], rest[i+len("/manifests/"):]
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			raw, d, ok := s.get(repo, ref)
			if !ok {
				break
			}
			// The headers distribution 2.x sent with a schema1 manifest, whatever the Accept.
			h := w.Header()
			h.Set("Docker-Distribution-Api-Version", "registry/2.0")
			h.Set("Content-Type", MediaTypeSchema1Signed)
			h.Set("Content-Length", strconv.Itoa(len(raw)))
			h.Set("Docker-Content-Digest", d.String())
			h.Set("Etag", `"`+d.String()+`"`)
			w.WriteHeader(http.StatusOK)
			if req.Method == http.MethodGet {
				_, _ = w.Write(raw) // the client went away: nothing to do
			}
			return
		case http.MethodPut:
			if _, err := digest.Parse(ref); err != nil {
				s.untag(repo, ref)
			}
		}
		next.ServeHTTP(w, req)
	})
}

type v1Compatibility struct {
	ID              string           `json:"id"`
	Parent          string           `json:"parent,omitempty"`
	Created         time.Time        `json:"created"`
	Container       string           `json:"container,omitempty"`
	ContainerConfig any              `json:"container_config"` // full for the image, just Cmd for its parents
	DockerVersion   string           `json:"docker_version,omitempty"`
	Author          string           `json:"author,omitempty"`
	Config          *dockerRunConfig `json:"config,omitempty"`
	Architecture    string           `json:"architecture,omitempty"`
	OS              string           `json:"os,omitempty"`
	Size            int64            `json:"Size"`
	ThrowAway       bool             `json:"throwaway,omitempty"`
}

type schema1Manifest struct {
	SchemaVersion int    `json:"schemaVersion"`
	Name          string `json:"name"`
	Tag           string `json:"tag"`
	Architecture  string `json:"architecture"`
	FSLayers      []struct {
		BlobSum digest.Digest `json:"blobSum"`
	} `json:"fsLayers"`
	History []struct {
		V1Compatibility string `json:"v1Compatibility"`
	} `json:"history"`
}

// pushSchema1 uploads the layers to the real registry, signs a schema1
// manifest the way the Docker daemon did (JWS in "signatures", 3-space
// indent) and hands it to the shim under its tags and digest.
func (r *Registry) pushSchema1(ctx context.Context, spec ImageSpec) (Pushed, error) {
	p := spec.platform()
	s := settingsFor(spec)
	created := spec.created()
	// Like Docker 1.10+, metadata-only steps are "throwaway" entries whose
	// blob is an empty tar, the same digest repeated: real schema1 images do
	// that, and importers must count such a layer's size once.
	layers := append(r.layersFor(spec, "schema1"), r.layerNamed("empty-tar", makeEmptyLayer))
	n := len(layers)
	tag := "latest"
	if len(spec.Tags) > 0 {
		tag = spec.Tags[0]
	}
	m := schema1Manifest{SchemaVersion: 1, Name: spec.Repository, Tag: tag, Architecture: p.Architecture}
	ids := make([]string, n+1) // ids[n] is "": the base has no parent
	for i := range n {
		ids[i] = fakeID("v1", spec.Repository, spec.Seed, tag, n-i)
	}
	// schema1 lists the newest layer first: entry i is layers[n-1-i].
	for i := range n {
		l := layers[n-1-i]
		if err := r.ensureBlob(ctx, spec.Repository, l.compressed); err != nil {
			return Pushed{}, err
		}
		step := fmt.Sprintf("/bin/sh -c #(nop) COPY dir:%s in /srv/ ", l.diffID.Encoded())
		if i == 0 {
			step = "/bin/sh -c #(nop)  CMD " + execForm(s.cmd)
		}
		v1 := v1Compatibility{
			ID: ids[i], Parent: ids[i+1], Created: created.Add(-time.Duration(i) * time.Minute),
			ContainerConfig: struct{ Cmd []string }{[]string{step}},
			Size:            int64(len(l.compressed)),
			ThrowAway:       i == 0,
		}
		if spec.Schema1WithoutSizes {
			v1.Size = 0
		}
		if i == 0 { // the image itself: the full config, as Docker wrote it
			v1.Container, v1.DockerVersion, v1.Author = ids[0], "1.13.1", "regimport tests <tests@regimport.invalid>"
			v1.Architecture, v1.OS = p.Architecture, p.OS
			v1.ContainerConfig = dockerRunConfig{Hostname: ids[0][:12], User: s.user, Env: s.env,
				Cmd: []string{"/bin/sh", "-c", "#(nop) ", "CMD " + execForm(s.cmd)}, Image: "sha256:" + ids[1], Labels: s.labels}
			v1.Config = &dockerRunConfig{User: s.user, ExposedPorts: set(fmt.Sprintf("%d/tcp", s.port)), Env: s.env,
				Cmd: s.cmd, Image: "sha256:" + ids[1], Volumes: set(s.volumes...), WorkingDir: s.workdir,
				Entrypoint: s.entrypoint, Labels: s.labels}
		}
		b, err := json.Marshal(v1)
		if err != nil {
			return Pushed{}, fmt.Errorf("marshal v1Compatibility: %w", err)
		}
		m.FSLayers = append(m.FSLayers, struct {
			BlobSum digest.Digest `json:"blobSum"`
		}{l.digest()})
		m.History = append(m.History, struct {
			V1Compatibility string `json:"v1Compatibility"`
		}{string(b)})
	}
	out := Pushed{Repository: spec.Repository, MediaType: MediaTypeSchema1Signed}
	for _, l := range layers {
		out.Layers = append(out.Layers, LayerInfo{Digest: l.digest(), Size: int64(len(l.compressed)), MediaType: MediaTypeSchema1Layer})
	}
	var err error
	if out.Manifest, err = r.signSchema1(m); err != nil {
		return Pushed{}, err
	}
	// The digest of a signed schema1 manifest is that of its payload without
	// the signatures; containers/image computes it the way registries did.
	if out.Digest, err = manifest.Digest(out.Manifest); err != nil {
		return Pushed{}, fmt.Errorf("schema1 digest: %w", err)
	}
	for _, t := range spec.Tags {
		if err := r.pushPlaceholder(ctx, spec.Repository, t, out.Digest); err != nil {
			return Pushed{}, err
		}
	}
	r.schema1.put(spec.Repository, spec.Tags, out.Digest, out.Manifest)
	return out, nil
}

func (r *Registry) signSchema1(m schema1Manifest) ([]byte, error) {
	payload, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		return nil, fmt.Errorf("marshal schema1: %w", err)
	}
	js, err := libtrust.NewJSONSignature(payload)
	if err != nil {
		return nil, fmt.Errorf("sign schema1: %w", err)
	}
	if err := js.Sign(r.signKey); err != nil {
		return nil, fmt.Errorf("sign schema1: %w", err)
	}
	signed, err := js.PrettySignature("signatures")
	if err != nil {
		return nil, fmt.Errorf("sign schema1: %w", err)
	}
	return signed, nil
}

// pushPlaceholder makes tag exist in the real registry (tags/list, _catalog)
// with an empty OCI artifact that names the schema1 digest it stands for.
func (r *Registry) pushPlaceholder(ctx context.Context, repo, tag string, schema1 digest.Digest) error {
	empty := []byte("{}")
	if err := r.ensureBlob(ctx, repo, empty); err != nil {
		return fmt.Errorf("placeholder for %s:%s: %w", repo, tag, err)
	}
	pm := imgspecv1.Manifest{
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: placeholderArtifactType,
		Config:       ociDescriptor(imgspecv1.MediaTypeEmptyJSON, digest.FromBytes(empty), int64(len(empty)), nil),
		Layers:       []imgspecv1.Descriptor{},
		Annotations:  map[string]string{"org.regimport.testregistry.schema1.digest": schema1.String()},
	}
	pm.SchemaVersion = 2
	raw, err := json.Marshal(pm)
	if err != nil {
		return fmt.Errorf("placeholder for %s:%s: %w", repo, tag, err)
	}
	return r.putManifest(ctx, repo, tag, pm.MediaType, raw)
}
