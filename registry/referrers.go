package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Caps on a referrers answer, the same as for signature sources: the index
// document is a manifest-sized read, and at most MaxReferrers entries that
// match the wanted artifact types are returned (the rest are counted).
const (
	MaxReferrers           = 128
	MaxReferrersIndexBytes = MaxManifestBytes
)

// How a referrers list was found.
const (
	ReferrersViaAPI = "api" // GET /v2/<name>/referrers/<digest>
	ReferrersViaTag = "tag" // the referrers tag schema: an index tagged sha256-<hex>
)

// Referrer is one entry of a referrers index: an artifact whose subject is
// the manifest asked about. Nothing in it is trusted.
type Referrer struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64
	Annotations  map[string]string
}

// ReferrerList is what a registry says refers to a manifest.
type ReferrerList struct {
	Items []Referrer
	// Beyond is how many matching entries were left out by the MaxReferrers cap.
	Beyond int
	// Via is ReferrersViaAPI or ReferrersViaTag.
	Via string
}

// ReferrerLookup finds OCI 1.1 referrers. It remembers, per host, that a
// registry has no referrers API (it answered 404), so that after the first
// manifest each lookup on such a host is one request (the tag schema's) and
// on a host with the API one request too. Safe for concurrent use; the zero
// value is ready.
type ReferrerLookup struct {
	noAPI sync.Map // host name -> struct{}
}

// Find lists the referrers of manifest subject served by s whose
// artifactType is one of artifactTypes (all of them when none is given).
// With exactly one type the registry is asked to filter (artifactType=); the
// answer is filtered here too, since a registry may ignore the filter. A
// registry without the referrers API answers 404 (the distribution spec
// forbids a 404 from one that has it; older registries answer 405 or 400);
// then the referrers tag schema is read,
// and no index there means no referrers.
func (l *ReferrerLookup) Find(ctx context.Context, r *Repository, s *Source, subject digest.Digest, artifactTypes ...string) (ReferrerList, error) {
	return l.FindListed(ctx, r, s, subject, nil, artifactTypes...)
}

// FindListed is Find for a repository whose tags were just listed
// completely: listed reports whether a tag was in that listing (nil: there
// was no listing). A referrers tag the listing did not have does not
// exist, so on a registry without the referrers API no request is sent for
// it (see Repository.TagsOnlyFromOrigin for when a listing can say so).
func (l *ReferrerLookup) FindListed(ctx context.Context, r *Repository, s *Source, subject digest.Digest, listed func(tag string) bool, artifactTypes ...string) (ReferrerList, error) {
	if err := subject.Validate(); err != nil {
		return ReferrerList{}, fmt.Errorf("referrers of %q: %w", subject, err)
	}
	if _, known := l.noAPI.Load(s.host); !known {
		list, err := l.fromAPI(ctx, r, s, subject, artifactTypes)
		if !noReferrersAPI(err) {
			return list, err
		}
		l.noAPI.Store(s.host, struct{}{})
		r.c.log.Debug("registry has no referrers API; reading the referrers tag schema", "host", s.host)
	}
	if listed != nil && r.TagsOnlyFromOrigin() && !listed(ReferrersTag(subject)) {
		return ReferrerList{Via: ReferrersViaTag}, nil
	}
	return l.fromTag(ctx, r, subject, artifactTypes)
}

// noReferrersAPI reports whether err says the registry has no referrers
// API: the distribution spec's 404, or the 405 Method Not Allowed and 400
// Bad Request that registries predating OCI 1.1 give for a route they do not
// know. A registry with the API answers neither to a well-formed request.
func noReferrersAPI(err error) bool {
	var he *HTTPError
	return errors.Is(err, ErrNotFound) ||
		errors.As(err, &he) && (he.StatusCode == http.StatusMethodNotAllowed || he.StatusCode == http.StatusBadRequest)
}

func (l *ReferrerLookup) fromAPI(ctx context.Context, r *Repository, s *Source, subject digest.Digest, types []string) (ReferrerList, error) {
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return ReferrerList{}, err
	}
	u := h.scheme + "://" + s.host + "/v2/" + s.path + "/referrers/" + subject.String()
	if len(types) == 1 {
		u += "?artifactType=" + url.QueryEscape(types[0])
	}
	resp, err := r.c.do(ctx, h, request{
		method: http.MethodGet, url: u, accept: []string{imgspecv1.MediaTypeImageIndex},
		scope: s.scope, creds: s.creds, maxBody: MaxReferrersIndexBytes,
	})
	if err != nil {
		return ReferrerList{}, fmt.Errorf("referrers API: %w", err)
	}
	if mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type")); mt != "" && mt != imgspecv1.MediaTypeImageIndex && mt != "application/json" {
		return ReferrerList{}, fmt.Errorf("referrers API answered %q, not an OCI image index", mt)
	}
	list, err := parseReferrersIndex(resp.body, types)
	list.Via = ReferrersViaAPI
	return list, err
}

func (l *ReferrerLookup) fromTag(ctx context.Context, r *Repository, subject digest.Digest, types []string) (ReferrerList, error) {
	tag := ReferrersTag(subject)
	m, err := r.GetManifest(ctx, tag)
	if errors.Is(err, ErrNotFound) {
		return ReferrerList{Via: ReferrersViaTag}, nil
	}
	if err != nil {
		return ReferrerList{Via: ReferrersViaTag}, fmt.Errorf("referrers tag %s: %w", tag, err)
	}
	if m.MediaType != imgspecv1.MediaTypeImageIndex {
		return ReferrerList{Via: ReferrersViaTag}, fmt.Errorf("referrers tag %s holds a %s, not an OCI image index", tag, m.MediaType)
	}
	list, err := parseReferrersIndex(m.Bytes, types)
	list.Via = ReferrersViaTag
	if err != nil {
		err = fmt.Errorf("referrers tag %s: %w", tag, err)
	}
	return list, err
}

// ReferrersTag is the tag of the referrers tag schema for d: sha256-<hex>.
func ReferrersTag(d digest.Digest) string {
	return string(d.Algorithm()) + "-" + d.Encoded()
}

// parseReferrersIndex keeps the entries of the wanted types, up to the cap.
// An entry with an invalid digest or a negative size is skipped: it could not
// be fetched anyway, and it must not hide the valid ones.
func parseReferrersIndex(body []byte, types []string) (ReferrerList, error) {
	if len(body) > MaxReferrersIndexBytes {
		return ReferrerList{}, fmt.Errorf("%w: referrers index of %d bytes, cap %d", ErrTooLarge, len(body), MaxReferrersIndexBytes)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		return ReferrerList{}, fmt.Errorf("referrers index does not parse: %w", err)
	}
	if idx.MediaType != "" && idx.MediaType != imgspecv1.MediaTypeImageIndex {
		return ReferrerList{}, fmt.Errorf("referrers index has mediaType %q", idx.MediaType)
	}
	var out ReferrerList
	for _, d := range idx.Manifests {
		if len(types) > 0 && !slices.Contains(types, d.ArtifactType) {
			continue
		}
		if d.Digest.Validate() != nil || d.Size < 0 || strings.TrimSpace(d.MediaType) == "" {
			continue
		}
		if len(out.Items) == MaxReferrers {
			out.Beyond++
			continue
		}
		out.Items = append(out.Items, Referrer{Digest: d.Digest, MediaType: d.MediaType, ArtifactType: d.ArtifactType, Size: d.Size, Annotations: d.Annotations})
	}
	return out, nil
}
