package testregistry

import (
	"net/http"
	"strings"
	"sync"
)

// RequestCounts counts served requests by kind: "ping", "manifest-get",
// "manifest-head", "blob-get", "blob-head", "tags-list", "catalog", "upload",
// "manifest-put", "other".
type RequestCounts map[string]int64

// Total is the number of requests of every kind.
func (c RequestCounts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Get is the count of one kind.
func (c RequestCounts) Get(kind string) int64 { return c[kind] }

// Reads is the number of requests an importer can make (uploads excluded).
func (c RequestCounts) Reads() int64 {
	return c.Total() - c["upload"] - c["manifest-put"]
}

type counter struct {
	mu     sync.Mutex
	counts RequestCounts
}

func newCounter() *counter { return &counter{counts: RequestCounts{}} }

func (c *counter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := classify(r)
		c.mu.Lock()
		c.counts[kind]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (c *counter) snapshot() RequestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(RequestCounts, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func (c *counter) reset() {
	c.mu.Lock()
	c.counts = RequestCounts{}
	c.mu.Unlock()
}

func classify(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case p == "/v2/_catalog":
		return "catalog"
	case strings.HasSuffix(p, "/tags/list"):
		return "tags-list"
	case strings.Contains(p, "/blobs/uploads"):
		return "upload"
	case strings.Contains(p, "/manifests/"):
		switch r.Method {
		case http.MethodGet:
			return "manifest-get"
		case http.MethodHead:
			return "manifest-head"
		case http.MethodPut:
			return "manifest-put"
		}
	case strings.Contains(p, "/blobs/"):
		switch r.Method {
		case http.MethodGet:
			return "blob-get"
		case http.MethodHead:
			return "blob-head"
		}
	}
	return "other"
}
