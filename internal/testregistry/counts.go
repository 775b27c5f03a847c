package testregistry

import (
	"maps"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Request kinds counted by Requests.
const (
	KindPing         = "ping"          // GET /v2/
	KindManifestGet  = "manifest-get"  // GET /v2/<name>/manifests/<ref>
	KindManifestHead = "manifest-head" // HEAD /v2/<name>/manifests/<ref>
	KindManifestPut  = "manifest-put"  // PUT /v2/<name>/manifests/<ref>
	KindBlobGet      = "blob-get"      // GET /v2/<name>/blobs/<digest>
	KindBlobHead     = "blob-head"     // HEAD /v2/<name>/blobs/<digest>
	KindUpload       = "upload"        // /v2/<name>/blobs/uploads/...
	KindTagsList     = "tags-list"     // GET /v2/<name>/tags/list
	KindCatalog      = "catalog"       // GET /v2/_catalog
	KindReferrers    = "referrers"     // OCI 1.1 referrer discovery: GET /v2/<name>/referrers/<digest>, or the tag schema's GET/HEAD /v2/<name>/manifests/sha256-<hex>
	KindOther        = "other"         // anything else (DELETE, non-/v2/ paths)
)

// RequestCounts is a snapshot of the requests a Registry served, by kind.
// The Registry's own seeding requests (Push, SeedMixed) are not in it: the
// counts measure the client under test.
type RequestCounts map[string]int64

// Total is the number of requests of every kind.
func (c RequestCounts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Get is the count of one kind (0 if none).
func (c RequestCounts) Get(kind string) int64 { return c[kind] }

// Reads is the number of requests that do not write (uploads and manifest
// PUTs excluded): what an importer is expected to make.
func (c RequestCounts) Reads() int64 {
	return c.Total() - c[KindUpload] - c[KindManifestPut]
}

// counter is the Requests tally, shared by all of a server's goroutines.
type counter struct {
	mu     sync.Mutex
	counts RequestCounts
}

func newCounter() *counter { return &counter{counts: RequestCounts{}} }

// middleware counts a request before anything else sees it, so requests
// that a caller's middleware answers (faults, auth) count too.
func (c *counter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !IsSeedRequest(req) {
			kind := classify(req.Method, req.URL.Path)
			c.mu.Lock()
			c.counts[kind]++
			c.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

func (c *counter) snapshot() RequestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

func (c *counter) reset() {
	c.mu.Lock()
	c.counts = RequestCounts{}
	c.mu.Unlock()
}

// classify names a request by its route. It looks at the last path
// segments, because repository names may themselves contain "manifests" or
// "blobs" as components.
func classify(method, path string) string {
	if path == "/v2/" || path == "/v2" {
		if method == http.MethodGet || method == http.MethodHead {
			return KindPing
		}
		return KindOther
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return KindOther
	}
	if rest == "_catalog" {
		return KindCatalog
	}
	if strings.HasSuffix(rest, "/tags/list") {
		return KindTagsList
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if n := len(segs); n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads" ||
		n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads" {
		return KindUpload
	}
	if len(segs) < 3 {
		return KindOther
	}
	if last := segs[len(segs)-1]; segs[len(segs)-2] == "referrers" && method == http.MethodGet ||
		segs[len(segs)-2] == "manifests" && (method == http.MethodGet || method == http.MethodHead) && referrersTag.MatchString(last) {
		return KindReferrers
	}
	switch segs[len(segs)-2] + " " + method {
	case "manifests GET":
		return KindManifestGet
	case "manifests HEAD":
		return KindManifestHead
	case "manifests PUT":
		return KindManifestPut
	case "blobs GET":
		return KindBlobGet
	case "blobs HEAD":
		return KindBlobHead
	}
	return KindOther
}

// referrersTag is the OCI 1.1 referrers tag schema's tag: sha256-<hex>, no
// suffix (cosign's sha256-<hex>.sig attachments are ordinary manifest reads).
var referrersTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}$`)
