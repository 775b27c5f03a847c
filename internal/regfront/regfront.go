// Package regfront puts the habits of public registries in front of the
// in-process distribution registry (internal/testregistry), for tests: a
// token server with short-lived tokens and latency, Basic-only auth, OAuth2
// refresh tokens, flaky pings, Link headers in each style seen in the wild,
// Docker Hub's RateLimit headers and pull limit, no _catalog, blob
// redirects to another host, HEAD without Docker-Content-Digest, and tag
// lists with entries that are not tags; and the hostile ones: a challenge
// header flood, a tag list whose pages never end, a blob host that answers
// with a challenge of its own, and a signature extension API answer of any
// size.
//
// Hand-written because the real registry cannot be made to behave like
// Docker Hub, GHCR, Quay, ECR, ACR, Harbor or Artifactory; everything else
// (manifests, blobs, tag lists and their paging) is the real registry's
// answer. Servers listen on loopback only.
package regfront

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

// LinkStyle is how a paging Link header is written.
type LinkStyle int

const (
	LinkQuoted      LinkStyle = iota // </v2/...?n=2&last=x>; rel="next" (distribution)
	LinkUnquoted                     // </v2/...>; rel=next
	LinkAbsolute                     // <http://HOST:PORT/v2/...>; rel="next"
	LinkExtraParams                  // <...>; type="application/json"; rel="next prefetch"
)

// Options choose the behaviours; the zero value passes everything through.
type Options struct {
	// Token turns on Docker Hub-style bearer auth with a token server.
	Token bool
	// TokenLatency delays every token answer (Docker Hub's is a few hundred ms).
	TokenLatency time.Duration
	// TokenLifetime is the expires_in of tokens; they are refused after it (default 300s).
	TokenLifetime time.Duration
	// Users, when set, are the only credentials the token server (or Basic
	// auth) accepts; empty allows anonymous tokens.
	Users map[string]string
	// TokenDrops drop the connection of the first N token requests without an answer.
	TokenDrops int
	// RefreshToken is accepted by the token server's OAuth2 POST
	// (grant_type=refresh_token), as Azure ACR does.
	RefreshToken string
	// Basic turns on Basic-only auth (ECR, Artifactory): every request needs Users' credentials.
	Basic bool
	// FlakyPings answer the first N GET /v2/ with 503.
	FlakyPings int
	// PageSize overrides the n= of tag and catalog listings, so that they page.
	PageSize int
	// LinkStyles are used in turn for the pages of a listing.
	LinkStyles []LinkStyle
	// NoCatalog answers /v2/_catalog as Docker Hub does: 401 insufficient_scope whatever the token.
	NoCatalog bool
	// PullLimit, when > 0, is the number of manifest GETs allowed; answers
	// carry RateLimit-Limit/Remaining ("N;w=21600"), and past the limit
	// manifest GETs answer 429 with no reset. HEADs do not count.
	PullLimit int
	// HeadWithoutDigest strips Docker-Content-Digest from manifest HEADs.
	HeadWithoutDigest bool
	// RedirectBlobs sends blob GETs to another host:port (object storage).
	RedirectBlobs bool
	// ExtraScope is a second action a repository's token must hold
	// ("repository:NAME:pull,ExtraScope"): a token for the plain pull scope
	// gets 401 error="insufficient_scope" naming the scope to ask for.
	ExtraScope string
	// ExtraTags are appended to every tag list's last page as raw JSON
	// values (`null`, `"sha256:..."`).
	ExtraTags []string

	// FloodRepository's requests are answered 401 with a WWW-Authenticate
	// of FloodParams (default 250,000) "a=b," parameters, 1 MB: a header no
	// registry needs, which a parser that copies the rest of the header per
	// parameter takes minutes over.
	FloodRepository string
	FloodParams     int
	// EndlessTags is a repository whose tag list never ends: every page is
	// the real registry's first page, linking to a "next" page that differs
	// only in its query string. EndlessPages counts the pages served.
	EndlessTags string
	// BlobRealm, with RedirectBlobs, makes the blob host answer 401 with a
	// Bearer challenge of its own naming this realm, as a hostile or
	// misconfigured CDN might: credentials must never follow it.
	BlobRealm string
	// SignatureExtension, when not nil, is the body of every answer of the
	// registry signature extension API (GET /extensions/v2/.../signatures/...),
	// and /v2/ announces the API (X-Registry-Supports-Signatures: 1), as
	// OpenShift's registry does. ExtensionBytes counts the bytes written.
	SignatureExtension []byte
}

// Front is the running set of behaviours.
type Front struct {
	opts   Options
	tokens *httptest.Server
	blobs  *httptest.Server
	next   http.Handler // the real registry, for the blob host

	// TokenRequests counts token answers; MaxConcurrentTokens is the most
	// token requests the token server saw at once.
	TokenRequests, MaxConcurrentTokens atomic.Int64
	inFlightTokens                     atomic.Int64
	// BlobAuthorization counts blob-host requests that carried an Authorization header.
	BlobAuthorization, BlobRequests atomic.Int64
	// Refused counts requests for repositories or the catalog answered 401
	// (no, expired or too narrow a token; bad Basic credentials).
	Refused atomic.Int64
	// PullLimitRefused counts manifest GETs answered 429 after the limit.
	PullLimitRefused atomic.Int64
	// EndlessPages counts the pages of EndlessTags served; ExtensionBytes
	// the bytes of SignatureExtension answers written.
	EndlessPages, ExtensionBytes atomic.Int64

	mu         sync.Mutex
	issued     map[string]issued
	pings      int
	tokenCalls int
	pulls      int
	pageTurn   map[string]int
}

type issued struct {
	scopes  []string
	expires time.Time
}

// New starts the front's own servers (token server, blob host) on loopback;
// pass Option to testregistry.Start, then call Close.
func New(opts Options) *Front {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 300 * time.Second
	}
	f := &Front{opts: opts, issued: map[string]issued{}, pageTurn: map[string]int{}}
	if opts.Token {
		f.tokens = httptest.NewServer(http.HandlerFunc(f.serveToken))
	}
	if opts.RedirectBlobs {
		f.blobs = httptest.NewServer(http.HandlerFunc(f.serveBlob))
	}
	return f
}

// Close stops the front's servers.
func (f *Front) Close() {
	if f.tokens != nil {
		f.tokens.Close()
	}
	if f.blobs != nil {
		f.blobs.Close()
	}
}

// TokenURL is the token realm.
func (f *Front) TokenURL() string { return f.tokens.URL + "/token" }

// Option installs the front as the registry's outermost middleware.
func (f *Front) Option() testregistry.Option {
	return testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		f.mu.Lock()
		f.next = next
		f.mu.Unlock()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			f.serve(next, w, r)
		})
	})
}

func (f *Front) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if f.opts.SignatureExtension != nil {
		w.Header().Set("X-Registry-Supports-Signatures", "1")
		if strings.HasPrefix(r.URL.Path, "/extensions/v2/") {
			w.Header().Set("Content-Type", "application/json")
			n, _ := w.Write(f.opts.SignatureExtension)
			f.ExtensionBytes.Add(int64(n))
			return
		}
	}
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		f.mu.Lock()
		f.pings++
		flaky := f.pings <= f.opts.FlakyPings
		f.mu.Unlock()
		if flaky {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
			return
		}
	}
	name, kind := parsePath(r.URL.Path)
	scope := ""
	switch {
	case kind == "catalog":
		scope = "registry:catalog:*"
	case name != "":
		scope = "repository:" + name + ":pull"
		if f.opts.ExtraScope != "" {
			scope += "," + f.opts.ExtraScope
		}
	}
	if name != "" && name == f.opts.FloodRepository {
		f.flood(w)
		return
	}
	if !f.authorized(w, r, scope) {
		return
	}
	if kind == "tags" && name == f.opts.EndlessTags {
		f.serveEndless(next, w, r)
		return
	}
	if kind == "catalog" && f.opts.NoCatalog {
		w.Header().Set("WWW-Authenticate", f.challenge(scope, "insufficient_scope"))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	if kind == "manifest" && f.opts.PullLimit > 0 && !f.pull(w, r) {
		return
	}
	if kind == "blob" && f.opts.RedirectBlobs && r.Method == http.MethodGet {
		http.Redirect(w, r, f.blobs.URL+r.URL.Path, http.StatusTemporaryRedirect)
		return
	}
	if (kind == "tags" || kind == "catalog") && (f.opts.PageSize > 0 || len(f.opts.LinkStyles) > 0 || len(f.opts.ExtraTags) > 0) {
		f.serveListing(next, w, r, kind)
		return
	}
	if kind == "manifest" && r.Method == http.MethodHead && f.opts.HeadWithoutDigest {
		next.ServeHTTP(stripDigest{w}, r)
		return
	}
	next.ServeHTTP(w, r)
}

// authorized checks the request's credentials; on failure it has answered.
func (f *Front) authorized(w http.ResponseWriter, r *http.Request, scope string) bool {
	switch {
	case f.opts.Basic:
		u, p, ok := r.BasicAuth()
		if ok && f.opts.Users[u] == p && p != "" {
			return true
		}
		f.Refused.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="regfront"`)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	case f.opts.Token:
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		is, known := f.issued[tok]
		f.mu.Unlock()
		if ok && known && time.Now().Before(is.expires) && (scope == "" || contains(is.scopes, scope)) {
			return true
		}
		errParam := ""
		if ok && known && time.Now().Before(is.expires) {
			errParam = "insufficient_scope"
		}
		if scope != "" { // a ping's 401 is the challenge, not a refusal
			f.Refused.Add(1)
		}
		w.Header().Set("WWW-Authenticate", f.challenge(scope, errParam))
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
	return true
}

func (f *Front) challenge(scope, errParam string) string {
	c := `Bearer realm="` + f.TokenURL() + `",service="regfront"`
	if scope != "" {
		c += `,scope="` + scope + `"`
	}
	if errParam != "" {
		c += `,error="` + errParam + `"`
	}
	return c
}

// serveToken is the token server: GET with Basic credentials (or none), or
// an OAuth2 POST with a refresh token.
func (f *Front) serveToken(w http.ResponseWriter, r *http.Request) {
	n := f.inFlightTokens.Add(1)
	defer f.inFlightTokens.Add(-1)
	for {
		m := f.MaxConcurrentTokens.Load()
		if n <= m || f.MaxConcurrentTokens.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.tokenCalls++
	drop := f.tokenCalls <= f.opts.TokenDrops
	f.mu.Unlock()
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	time.Sleep(f.opts.TokenLatency)
	var scopes []string
	accessToken := false
	switch r.Method {
	case http.MethodGet:
		if len(f.opts.Users) > 0 {
			u, p, ok := r.BasicAuth()
			if !ok || f.opts.Users[u] != p || r.URL.Query().Get("account") != u {
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials or account")
				return
			}
		}
		scopes = r.URL.Query()["scope"]
	case http.MethodPost:
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" ||
			f.opts.RefreshToken == "" || r.PostForm.Get("refresh_token") != f.opts.RefreshToken {
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad refresh token")
			return
		}
		scopes = r.PostForm["scope"]
		accessToken = true
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var all []string
	for _, s := range scopes {
		all = append(all, strings.Fields(s)...)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	f.mu.Lock()
	f.issued[tok] = issued{scopes: all, expires: time.Now().Add(f.opts.TokenLifetime)}
	f.mu.Unlock()
	f.TokenRequests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	key := "token"
	if accessToken {
		key = "access_token"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{key: tok, "expires_in": int(f.opts.TokenLifetime / time.Second), "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

// Issue makes a token the registry accepts without the token server, as a
// registry token (Docker config.json registrytoken) is.
func (f *Front) Issue(scopes []string, life time.Duration) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	f.mu.Lock()
	f.issued[tok] = issued{scopes: scopes, expires: time.Now().Add(life)}
	f.mu.Unlock()
	return tok
}

// pull counts a manifest GET against the pull limit; false when refused.
// As Docker Hub does, the last allowed pull is served with Remaining 0 and
// the ones after it get 429 without any reset time.
func (f *Front) pull(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return true
	}
	f.mu.Lock()
	allowed := f.pulls < f.opts.PullLimit
	if allowed {
		f.pulls++
	}
	left := f.opts.PullLimit - f.pulls
	f.mu.Unlock()
	w.Header().Set("RateLimit-Limit", fmt.Sprintf("%d;w=21600", f.opts.PullLimit))
	w.Header().Set("RateLimit-Remaining", fmt.Sprintf("%d;w=21600", left))
	if !allowed {
		f.PullLimitRefused.Add(1)
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "You have reached your pull rate limit.")
	}
	return allowed
}

// flood answers 401 with a 1 MB challenge.
func (f *Front) flood(w http.ResponseWriter) {
	n := f.opts.FloodParams
	if n <= 0 {
		n = 250000
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="http://127.0.0.1:1/token",`+strings.Repeat("a=b,", n))
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// serveEndless serves the real first page of a tag list with a Link to a
// "next" page whose query string is new each time.
func (f *Front) serveEndless(next http.Handler, w http.ResponseWriter, r *http.Request) {
	page := f.EndlessPages.Add(1)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = ""
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r2)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Link", fmt.Sprintf(`<%s?n=1000&page=%d>; rel="next"`, r.URL.Path, page+1))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// serveBlob is the other host blobs are redirected to.
func (f *Front) serveBlob(w http.ResponseWriter, r *http.Request) {
	f.BlobRequests.Add(1)
	if r.Header.Get("Authorization") != "" {
		f.BlobAuthorization.Add(1)
	}
	if f.opts.BlobRealm != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.opts.BlobRealm+`",service="cdn"`)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	f.mu.Lock()
	next := f.next
	f.mu.Unlock()
	next.ServeHTTP(w, r)
}

// serveListing pages a tag list or catalog with a small n and rewrites the
// real registry's Link header into the style of this page.
func (f *Front) serveListing(next http.Handler, w http.ResponseWriter, r *http.Request, kind string) {
	q := r.URL.Query()
	if f.opts.PageSize > 0 {
		q.Set("n", strconv.Itoa(f.opts.PageSize))
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r2)
	body := rec.Body.Bytes()
	link := rec.Header().Get("Link")
	for k, v := range rec.Header() {
		if k != "Link" && k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	if link != "" && len(f.opts.LinkStyles) > 0 {
		target := strings.TrimPrefix(strings.SplitN(link, ">", 2)[0], "<")
		f.mu.Lock()
		turn := f.pageTurn[r.URL.Path]
		f.pageTurn[r.URL.Path]++
		f.mu.Unlock()
		switch f.opts.LinkStyles[turn%len(f.opts.LinkStyles)] {
		case LinkQuoted:
			link = "<" + target + `>; rel="next"`
		case LinkUnquoted:
			link = "<" + target + ">; rel=next"
		case LinkAbsolute:
			link = "<http://" + r.Host + target + `>; rel="next"`
		case LinkExtraParams:
			link = "<" + target + `>; type="application/json"; rel="next prefetch"`
		}
	}
	if link != "" {
		w.Header().Set("Link", link)
	}
	if link == "" && kind == "tags" && len(f.opts.ExtraTags) > 0 && rec.Code == http.StatusOK {
		var page map[string]json.RawMessage
		if json.Unmarshal(body, &page) == nil {
			var tags []json.RawMessage
			_ = json.Unmarshal(page["tags"], &tags)
			for _, t := range f.opts.ExtraTags {
				tags = append(tags, json.RawMessage(t))
			}
			page["tags"], _ = json.Marshal(tags)
			body, _ = json.Marshal(page)
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// stripDigest drops Docker-Content-Digest from an answer.
type stripDigest struct{ http.ResponseWriter }

func (s stripDigest) WriteHeader(code int) {
	s.Header().Del("Docker-Content-Digest")
	s.ResponseWriter.WriteHeader(code)
}

func (s stripDigest) Write(b []byte) (int, error) {
	s.Header().Del("Docker-Content-Digest")
	return s.ResponseWriter.Write(b)
}

// parsePath returns the repository and the kind of a /v2/ path.
func parsePath(p string) (name, kind string) {
	if p == "/v2/_catalog" {
		return "", "catalog"
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", ""
	}
	for _, k := range []struct{ sep, kind string }{{"/manifests/", "manifest"}, {"/blobs/", "blob"}, {"/tags/list", "tags"}, {"/referrers/", "referrers"}} {
		if i := strings.LastIndex(rest, k.sep); i > 0 {
			return rest[:i], k.kind
		}
	}
	return "", ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, errCode, msg)
}
