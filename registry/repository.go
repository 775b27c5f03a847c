package registry

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/digests"
	"github.com/regimport/regimport/internal/redact"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
)

// MaxManifestBytes caps manifests and configs, as containers/image does.
const MaxManifestBytes = 4 << 20

// AcceptedManifestTypes are asked for on every manifest request, newest first.
var AcceptedManifestTypes = []string{
	imgspecv1.MediaTypeImageIndex,
	imgspecv1.MediaTypeImageManifest,
	manifest.DockerV2ListMediaType,
	manifest.DockerV2Schema2MediaType,
	manifest.DockerV2Schema1SignedMediaType,
	manifest.DockerV2Schema1MediaType,
}

// Source is one place a repository can be read from: the registry itself or
// a mirror from registries.conf.
type Source struct {
	host     string
	insecure bool
	path     string // repository path on that host
	scope    string
	creds    credentials
}

// Host is the registry host this source talks to.
func (s *Source) Host() string { return s.host }

// Repository reads one repository. It is cheap; create one per repository.
type Repository struct {
	c    *Client
	name reference.Named
	// origin is the registry itself: tag lists come from there only, since
	// a mirror (a pull-through cache) lists only what it has cached.
	origin   *Source
	byTag    []*Source
	byDigest []*Source
}

// Manifest is a manifest as served, with its computed digest.
type Manifest struct {
	// Bytes are the manifest as served. They are read-only: a manifest is
	// shared across targets, and the importer's Images share its memory.
	Bytes     []byte
	MediaType string
	Digest    digest.Digest
	// Source served it; fetch the manifest's blobs from there.
	Source *Source
}

// Repository resolves registries.conf (mirrors, blocked, insecure) and
// credentials for a repository named without tag or digest.
func (c *Client) Repository(name reference.Named) (*Repository, error) {
	name = reference.TrimNamed(name)
	r := &Repository{c: c, name: name}
	var err error
	if r.origin, err = c.origin(name); err != nil {
		return nil, err
	}
	if r.byTag, err = c.sources(reference.TagNameOnly(name)); err != nil {
		return nil, err
	}
	if r.byDigest, err = c.sources(mustDigested(name)); err != nil {
		return nil, err
	}
	return r, nil
}

// mustDigested builds name@sha256:0... only to ask registries.conf which
// mirrors serve digest pulls.
func mustDigested(name reference.Named) reference.Named {
	d, err := reference.WithDigest(name, digest.FromString(""))
	if err != nil {
		panic(err) // a valid name and a valid digest always combine
	}
	return d
}

// origin is the registry a repository names, with registries.conf's
// insecure and blocked settings but none of its mirrors.
func (c *Client) origin(name reference.Named) (*Source, error) {
	reg, err := sysregistriesv2.FindRegistry(c.opts.Sys, name.Name())
	if err != nil {
		return nil, fmt.Errorf("registries.conf for %s: %w", name.Name(), err)
	}
	if reg == nil {
		return c.newSource(name, false), nil
	}
	if reg.Blocked {
		return nil, fmt.Errorf("%s: %w", name.Name(), ErrBlocked)
	}
	// The location may rewrite the prefix (prefix = "example.com/foo",
	// location = "internal.example.com/bar"). containers/image lists the
	// primary endpoint last, after the mirrors.
	pulls, err := reg.PullSourcesFromReference(reference.TagNameOnly(name))
	if err != nil || len(pulls) == 0 {
		return nil, fmt.Errorf("registries.conf for %s: no primary location: %v", name.Name(), err)
	}
	primary := pulls[len(pulls)-1]
	return c.newSource(primary.Reference, primary.Endpoint.Insecure), nil
}

func (c *Client) sources(ref reference.Named) ([]*Source, error) {
	reg, err := sysregistriesv2.FindRegistry(c.opts.Sys, ref.Name())
	if err != nil {
		return nil, fmt.Errorf("registries.conf for %s: %w", ref.Name(), err)
	}
	if reg == nil {
		return []*Source{c.newSource(ref, false)}, nil
	}
	if reg.Blocked {
		return nil, fmt.Errorf("%s: %w", ref.Name(), ErrBlocked)
	}
	pulls, err := reg.PullSourcesFromReference(ref)
	if err != nil {
		return nil, fmt.Errorf("registries.conf for %s: %w", ref.Name(), err)
	}
	out := make([]*Source, 0, len(pulls))
	for _, p := range pulls {
		out = append(out, c.newSource(p.Reference, p.Endpoint.Insecure))
	}
	return out, nil
}

func (c *Client) newSource(ref reference.Named, insecure bool) *Source {
	host := apiHost(reference.Domain(ref))
	path := reference.Path(ref)
	s := &Source{host: host, insecure: insecure, path: path, scope: "repository:" + path + ":pull"}
	// Credentials are looked up by the repository's name on that host, the
	// way podman and skopeo do, including per-repository entries of
	// auth.json; each is resolved once per run.
	s.creds = c.creds.forRepository(context.Background(), reference.TrimNamed(ref))
	return s
}

// TagsOnlyFromOrigin reports whether tags are fetched from the registry
// the tag list comes from and nowhere else. Only then does a complete tag
// list say that a tag missing from it does not exist: a registries.conf
// mirror that serves tag pulls may hold tags its registry does not list.
func (r *Repository) TagsOnlyFromOrigin() bool {
	return len(r.byTag) == 1 && r.byTag[0].host == r.origin.host && r.byTag[0].path == r.origin.path && r.byTag[0].insecure == r.origin.insecure
}

// Name is the repository as the user wrote it (normalized, no tag).
func (r *Repository) Name() reference.Named { return r.name }

// GetManifest fetches a manifest by tag or digest, trying mirrors in order.
// By digest, the content must hash to it; by tag, it must hash to the
// Docker-Content-Digest the registry announced, when it announced one.
func (r *Repository) GetManifest(ctx context.Context, tagOrDigest string) (*Manifest, error) {
	want, byDigest := parseDigest(tagOrDigest)
	sources := r.byTag
	if byDigest {
		sources = r.byDigest
	}
	var lastErr error
	for _, s := range sources {
		m, err := r.getManifestFrom(ctx, s, tagOrDigest, want)
		if err == nil {
			return m, nil
		}
		lastErr = err
		r.c.log.Debug("manifest source failed", "source", s.host, "repository", s.path, "ref", tagOrDigest, "error", err)
	}
	return nil, lastErr
}

func (r *Repository) getManifestFrom(ctx context.Context, s *Source, tagOrDigest string, want digest.Digest) (*Manifest, error) {
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return nil, err
	}
	resp, err := r.c.do(ctx, h, request{
		method: http.MethodGet, url: h.scheme + "://" + s.host + "/v2/" + s.path + "/manifests/" + tagOrDigest,
		accept: AcceptedManifestTypes, scope: s.scope, creds: s.creds, maxBody: MaxManifestBytes,
	})
	if err != nil {
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type")); ct == "text/html" {
		// A proxy's or a login page's answer, never a manifest.
		return nil, fmt.Errorf("manifest %s:%s: the server answered %s, not a manifest", s.path, tagOrDigest, ct)
	}
	mt := manifestType(resp.header.Get("Content-Type"), resp.body)
	got, err := manifestDigest(resp.body, mt)
	if err != nil {
		return nil, fmt.Errorf("digest of manifest %s: %w", tagOrDigest, err)
	}
	if want != "" && got != want {
		return nil, fmt.Errorf("%w: manifest asked by %s hashes to %s", ErrDigestMismatch, want, got)
	}
	if announced := resp.header.Get("Docker-Content-Digest"); announced != "" && want == "" && announced != got.String() {
		return nil, fmt.Errorf("%w: registry announced %s for %s:%s but the manifest hashes to %s", ErrDigestMismatch, redact.Text(truncate(announced, 100)), s.path, tagOrDigest, got)
	}
	return &Manifest{Bytes: resp.body, MediaType: mt, Digest: got, Source: s}, nil
}

// Descriptor is what HEAD tells about a manifest.
type Descriptor struct {
	Digest    digest.Digest
	MediaType string
	Size      int64
}

// HeadManifest asks for a tag's digest without its body: one request, which
// registries such as Docker Hub do not count against pull limits. A registry
// that answers HEAD without Docker-Content-Digest is asked again with GET,
// and the digest is computed from the body.
func (r *Repository) HeadManifest(ctx context.Context, tag string) (Descriptor, error) {
	var lastErr error
	for _, s := range r.byTag {
		h, err := r.c.hostFor(ctx, s.host, s.insecure)
		if err != nil {
			lastErr = err
			continue
		}
		resp, err := r.c.do(ctx, h, request{
			method: http.MethodHead, url: h.scheme + "://" + s.host + "/v2/" + s.path + "/manifests/" + tag,
			accept: AcceptedManifestTypes, scope: s.scope, creds: s.creds, maxBody: MaxManifestBytes,
		})
		if err != nil {
			lastErr = err
			continue
		}
		mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type"))
		if resp.header.Get("Docker-Content-Digest") == "" {
			// Some registries omit the digest on HEAD: the body tells it.
			m, err := r.getManifestFrom(ctx, s, tag, "")
			if err != nil {
				return Descriptor{}, fmt.Errorf("HEAD %s:%s had no Docker-Content-Digest, and GET: %w", s.path, tag, err)
			}
			return Descriptor{Digest: m.Digest, MediaType: m.MediaType, Size: int64(len(m.Bytes))}, nil
		}
		d, err := digests.Parse(resp.header.Get("Docker-Content-Digest"))
		if err != nil {
			return Descriptor{}, fmt.Errorf("HEAD %s:%s: no valid Docker-Content-Digest: %w", s.path, tag, err)
		}
		return Descriptor{Digest: d, MediaType: mt, Size: max(0, int64FromHeader(resp.header.Get("Content-Length")))}, nil
	}
	return Descriptor{}, lastErr
}

// GetBlob fetches a small blob (a config) from the source that served its
// manifest and checks it against its digest.
func (r *Repository) GetBlob(ctx context.Context, s *Source, d digest.Digest, maxBytes int64) ([]byte, error) {
	if err := digests.Validate(d); err != nil {
		return nil, fmt.Errorf("blob digest %q: %w", d, err)
	}
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return nil, err
	}
	resp, err := r.c.do(ctx, h, request{
		method: http.MethodGet, url: h.scheme + "://" + s.host + "/v2/" + s.path + "/blobs/" + d.String(),
		scope: s.scope, creds: s.creds, maxBody: maxBytes,
	})
	if err != nil {
		return nil, err
	}
	if got := digests.FromBytes(d.Algorithm(), resp.body); got != d {
		return nil, fmt.Errorf("%w: blob %s hashes to %s", ErrDigestMismatch, d, got)
	}
	return resp.body, nil
}

func parseDigest(s string) (digest.Digest, bool) {
	if !strings.Contains(s, ":") {
		return "", false
	}
	d, err := digests.Parse(s)
	if err != nil {
		return "", false
	}
	return d, true
}

// manifestType trusts a known Content-Type and otherwise looks at the body,
// since some registries answer text/plain or application/json.
func manifestType(contentType string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case imgspecv1.MediaTypeImageIndex, imgspecv1.MediaTypeImageManifest, manifest.DockerV2ListMediaType,
		manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema1SignedMediaType, manifest.DockerV2Schema1MediaType:
		return mt
	}
	return manifest.GuessMIMEType(body)
}

func int64FromHeader(v string) int64 {
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return -1
	}
	return n
}

// manifestDigest hashes a manifest. Only signed schema1 needs
// containers/image's canonical form (signatures stripped); for every other
// type its Digest would parse the JSON just to find that out, so the bytes
// are hashed directly. A body that lies about its type fails later: its
// digest will not match, or it will not parse as the type it claimed.
func manifestDigest(body []byte, mediaType string) (digest.Digest, error) {
	switch mediaType {
	case manifest.DockerV2Schema1SignedMediaType, manifest.DockerV2Schema1MediaType:
		return manifest.Digest(body)
	}
	return digests.FromBytes(digest.Canonical, body), nil
}
