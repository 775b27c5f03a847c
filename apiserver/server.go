package apiserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

// Reader is the part of the catalog the server reads. catalog.Catalog
// satisfies it; the server has no way to write or to reach a registry.
type Reader interface {
	// GetImage returns one image or an error wrapping catalog.ErrNotFound.
	GetImage(ctx context.Context, name string) (*imagev1.Image, error)
	// ListImages returns a keyset page of images in name order.
	ListImages(ctx context.Context, opts catalog.ListOptions) (catalog.ImagePage, error)
	// ResourceVersion is the newest resourceVersion of the catalog.
	ResourceVersion(ctx context.Context) (int64, error)
	// Changes returns up to limit changes of a resource after a resourceVersion, oldest first.
	Changes(ctx context.Context, resource string, after int64, limit int) ([]catalog.Change, error)
}

// ChangeLogHorizon may be implemented by a Reader whose change log drops old
// entries. OldestResourceVersion is the oldest change still held (0 or 1: the
// whole log). Watches and continue tokens older than it get 410 Expired. A
// Reader without it is taken to keep its whole log, as the catalog does today.
type ChangeLogHorizon interface {
	OldestResourceVersion(ctx context.Context) (int64, error)
}

// ChangeNotifier wakes watches when the change log grows, sooner than the
// next poll. *postgres.ChangeFeed (catalogdb.ListenForChanges) implements it on PostgreSQL. Changed
// returns a channel closed at the next notice; the server takes it before
// reading the change log, so a change committed after that read is never
// waited on for longer than a poll.
type ChangeNotifier interface {
	Changed() <-chan struct{}
}

// ImageStreamReader serves image streams. New uses the Reader itself when it
// implements this (a catalog with image streams), else one that has none.
type ImageStreamReader interface {
	// ListImageStreams returns the streams of a namespace ("" for all) in
	// namespace/name order after the stream `after` ("namespace/name"; ""
	// from the start), at most limit (0: all), with the resourceVersion read
	// with them and how many streams follow.
	ListImageStreams(ctx context.Context, namespace, after string, limit int) (items []imagev1.ImageStream, rv, remaining int64, err error)
	// GetImageStream returns one stream or an error wrapping catalog.ErrNotFound.
	GetImageStream(ctx context.Context, namespace, name string) (*imagev1.ImageStream, error)
}

// Options configure a Server. The zero value serves without authentication,
// logs nothing and uses the defaults below.
type Options struct {
	// Logger receives one line per failed request and per watch; nil discards.
	Logger *slog.Logger
	// Token, when set, is the bearer token every request but the health
	// checks must present. It is compared in constant time.
	Token string
	// WatchPollInterval is how often a watch polls the change log (default 250ms).
	WatchPollInterval time.Duration
	// Changes, when set, wakes watches as soon as a writer commits; polling
	// stays as the fallback (a lost notice costs at most one poll interval).
	Changes ChangeNotifier
	// BookmarkInterval is how often a watch that allows bookmarks gets one (default 30s).
	BookmarkInterval time.Duration
	// ResourceVersionWait bounds how long a request for a resourceVersion newer
	// than the catalog waits for it before 504 Timeout (default 3s).
	ResourceVersionWait time.Duration
	// ImageStreams serves image streams; nil uses the Reader if it is an
	// ImageStreamReader, else serves none (empty lists).
	ImageStreams ImageStreamReader
	// Now is the clock for ages in tables; nil uses time.Now.
	Now func() time.Time
	// Limits bound time, watches and page sizes; zero fields take defaults.
	Limits Limits
	// AllowedHosts, when not nil, are the only Host headers answered (403
	// for others): names, matched on the port the request came in on, or
	// name:port. Set it on loopback, where a web page could otherwise read
	// the catalog through DNS rebinding.
	AllowedHosts []string
}

// maxQueryBytes caps the query string: selectors and tokens are far shorter.
const maxQueryBytes = 8 << 10

// Server answers Image API requests from a catalog. Create it with New.
type Server struct {
	cat      Reader
	streams  ImageStreamReader
	log      *slog.Logger
	token    [sha256.Size]byte
	hasToken bool
	poll     time.Duration
	changes  ChangeNotifier // nil: poll only
	bookmark time.Duration
	rvWait   time.Duration
	now      func() time.Time
	metrics  *metrics
	openAPI  *openAPI
	limits   Limits
	slots    *watchSlots
	hosts    *hostAllowlist // nil: any Host
	poller   *versionPoller

	stopOnce sync.Once
	stop     chan struct{} // closed by StopWatches
}

// New returns a Server reading cat.
func New(cat Reader, opts Options) (*Server, error) {
	if cat == nil {
		return nil, errors.New("apiserver: nil catalog reader")
	}
	if opts.WatchPollInterval < 0 || opts.BookmarkInterval < 0 || opts.ResourceVersionWait < 0 {
		return nil, errors.New("apiserver: negative interval in options")
	}
	limits, err := opts.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	hosts, err := newHostAllowlist(opts.AllowedHosts)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(opts.Token) != opts.Token {
		return nil, errors.New("apiserver: the token has leading or trailing white space")
	}
	s := &Server{
		cat:      cat,
		streams:  opts.ImageStreams,
		log:      opts.Logger,
		poll:     opts.WatchPollInterval,
		changes:  opts.Changes,
		bookmark: opts.BookmarkInterval,
		rvWait:   opts.ResourceVersionWait,
		now:      opts.Now,
		stop:     make(chan struct{}),
		openAPI:  newOpenAPI(),
		limits:   limits,
		slots:    &watchSlots{byClient: map[string]int{}, max: limits.MaxWatches, perClient: limits.MaxWatchesPerClient},
		hosts:    hosts,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.streams == nil {
		if sr, ok := cat.(ImageStreamReader); ok {
			s.streams = sr
		} else {
			s.streams = noImageStreams{cat: cat}
		}
	}
	if s.poll == 0 {
		s.poll = 250 * time.Millisecond
	}
	if s.bookmark == 0 {
		s.bookmark = 30 * time.Second
	}
	if s.rvWait == 0 {
		s.rvWait = 3 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Token != "" {
		s.token, s.hasToken = sha256.Sum256([]byte(opts.Token)), true
	}
	s.poller = &versionPoller{cat: cat, interval: s.poll, notifier: opts.Changes, log: s.log, stop: s.stop}
	m, err := newMetrics(s.countImages)
	if err != nil {
		return nil, fmt.Errorf("apiserver: metrics: %w", err)
	}
	s.metrics = m
	return s, nil
}

// changeNotice returns a channel closed when the change log may have grown:
// the notifier's next notice, or nil (never) without one.
func (s *Server) changeNotice() <-chan struct{} {
	if s.changes == nil {
		return nil
	}
	return s.changes.Changed()
}

// Handler returns the HTTP handler serving every path of the API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// StopWatches ends every watch in progress and makes new ones end at once,
// so that http.Server.Shutdown does not wait for them (register it with
// RegisterOnShutdown). Other requests are still answered.
func (s *Server) StopWatches() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// requestInfo is what the router learns about a request, for metrics and logs.
type requestInfo struct {
	verb     string // GET, LIST, WATCH, CREATE... as the apiserver's metrics name them
	resource string // images, imagestreams, or "" for other paths
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	info := &requestInfo{verb: r.Method}
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			if rec.wrote {
				p = http.ErrAbortHandler // never let a cut response look whole
			} else {
				s.writeError(rec, r, fmt.Errorf("panic: %v", p))
			}
		}
		s.metrics.observe(info, rec.code(), time.Since(start))
		if p == http.ErrAbortHandler {
			panic(p) // the server closes the connection: the client sees a cut response
		}
	}()

	if len(r.URL.RawQuery) > maxQueryBytes {
		s.writeError(rec, r, badRequest("the query string is %d bytes long; at most %d are accepted", len(r.URL.RawQuery), maxQueryBytes))
		return
	}
	if err := s.hosts.check(r); err != nil {
		s.writeError(rec, r, err)
		return
	}
	switch r.URL.Path {
	case "/healthz", "/livez":
		s.health(rec, r, false)
		return
	case "/readyz":
		s.health(rec, r, true)
		return
	}
	if !s.authorized(r) {
		s.writeError(rec, r, unauthorized())
		return
	}
	s.route(rec, r, info)
}

// authorized checks the bearer token in constant time; both sides are
// hashed first so that neither the length nor a prefix of it leaks.
func (s *Server) authorized(r *http.Request) bool {
	if !s.hasToken {
		return true
	}
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

// health answers the probes: /healthz and /livez say the process serves,
// /readyz also reads the catalog.
func (s *Server) health(w http.ResponseWriter, r *http.Request, ready bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, methodNotAllowed())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if ready {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := s.cat.ResourceVersion(ctx); err != nil {
			s.log.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "[-]catalog failed: reason withheld\nreadyz check failed\n")
			return
		}
	}
	io.WriteString(w, "ok")
}

// countImages is the apiserver_storage_objects figure.
func (s *Server) countImages(ctx context.Context) (int64, error) {
	page, err := s.cat.ListImages(ctx, catalog.ListOptions{Limit: 1})
	if err != nil {
		return 0, err
	}
	return int64(len(page.Items)) + page.Remaining, nil
}

// statusRecorder remembers the status code for metrics and passes Flush on,
// which watches need.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
