package testregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReferrersAPI returns a middleware that adds the OCI 1.1 referrers API
// (GET /v2/<name>/referrers/<digest>[?artifactType=]) in front of the
// registry. distribution v3 lacks that API (it answers 404 there, as every
// registry without it does), so this hand-written handler stands in for a
// registry that has it: it watches manifest PUTs that the real registry
// accepted, remembers those with a subject, and answers the referrers
// request with an OCI index of them, filtered as the spec says (with the
// OCI-Filters-Applied header). Everything else goes to the real registry.
func ReferrersAPI() func(http.Handler) http.Handler {
	var mu sync.Mutex
	bySubject := map[string][]imgspecv1.Descriptor{} // "<repo>@<digest>" -> referrers
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			repo, rest, ok := splitV2Path(r.URL.Path)
			switch {
			case ok && r.Method == http.MethodGet && strings.HasPrefix(rest, "referrers/"):
				subject := strings.TrimPrefix(rest, "referrers/")
				if _, err := digest.Parse(subject); err != nil {
					http.Error(w, `{"errors":[{"code":"DIGEST_INVALID"}]}`, http.StatusBadRequest)
					return
				}
				want := r.URL.Query().Get("artifactType")
				mu.Lock()
				all := bySubject[repo+"@"+subject]
				mu.Unlock()
				idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}}
				idx.SchemaVersion = 2
				for _, d := range all {
					if want == "" || d.ArtifactType == want {
						idx.Manifests = append(idx.Manifests, d)
					}
				}
				if want != "" {
					w.Header().Set("OCI-Filters-Applied", "artifactType")
				}
				w.Header().Set("Content-Type", imgspecv1.MediaTypeImageIndex)
				_ = json.NewEncoder(w).Encode(idx)
				return
			case ok && r.Method == http.MethodPut && strings.HasPrefix(rest, "manifests/"):
				body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				rec := &statusRecorder{ResponseWriter: w}
				next.ServeHTTP(rec, r)
				if rec.status != http.StatusCreated {
					return
				}
				var m imgspecv1.Manifest
				if json.Unmarshal(body, &m) != nil || m.Subject == nil {
					return
				}
				artifactType := m.ArtifactType
				if artifactType == "" {
					artifactType = m.Config.MediaType
				}
				d := imgspecv1.Descriptor{MediaType: r.Header.Get("Content-Type"), Digest: digest.FromBytes(body), Size: int64(len(body)),
					ArtifactType: artifactType, Annotations: m.Annotations}
				mu.Lock()
				bySubject[repo+"@"+m.Subject.Digest.String()] = append(bySubject[repo+"@"+m.Subject.Digest.String()], d)
				mu.Unlock()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// splitV2Path splits /v2/<name>/<rest> where rest starts with manifests/ or referrers/.
func splitV2Path(p string) (repo, rest string, ok bool) {
	if !strings.HasPrefix(p, "/v2/") {
		return "", "", false
	}
	p = strings.TrimPrefix(p, "/v2/")
	for _, kw := range []string{"/manifests/", "/referrers/"} {
		if i := strings.LastIndex(p, kw); i > 0 {
			return p[:i], p[i+1:], true
		}
	}
	return "", "", false
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// PushReferrer pushes an artifact manifest (which names its subject) with its
// blobs, by digest, as an OCI 1.1 client does. With tagSchema it also
// maintains the referrers tag schema as clients do on a registry without the
// referrers API (cosign v3, oras, notation): it reads the index tagged
// sha256-<hex> of the subject, adds the artifact and pushes it back.
func (r *Registry) PushReferrer(ctx context.Context, repo string, subject digest.Digest, manifest []byte, tagSchema bool, blobs ...[]byte) (digest.Digest, error) {
	d := digest.FromBytes(manifest)
	if err := r.PushRaw(ctx, repo, d.String(), imgspecv1.MediaTypeImageManifest, manifest, blobs...); err != nil {
		return "", err
	}
	if !tagSchema {
		return d, nil
	}
	var m imgspecv1.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return "", fmt.Errorf("push referrer: %w", err)
	}
	artifactType := m.ArtifactType
	if artifactType == "" {
		artifactType = m.Config.MediaType
	}
	tag := string(subject.Algorithm()) + "-" + subject.Encoded()
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	status, _, body, err := r.do(ctx, http.MethodGet, r.URL()+"/v2/"+repo+"/manifests/"+tag, "", nil)
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &idx); err != nil {
			return "", fmt.Errorf("referrers index %s: %w", tag, err)
		}
	}
	idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d,
		Size: int64(len(manifest)), ArtifactType: artifactType, Annotations: m.Annotations})
	raw, err := json.Marshal(idx)
	if err != nil {
		return "", err
	}
	return d, r.PushRaw(ctx, repo, tag, imgspecv1.MediaTypeImageIndex, raw)
}
