package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/redact"
	"go.podman.io/image/v5/pkg/tlsclientconfig"
	"go.podman.io/image/v5/types"
	"golang.org/x/sync/singleflight"
)

// Options configure a Client. The zero value works: no auth file beyond the
// defaults containers/image reads, TLS verified, 8 requests at a time per host.
type Options struct {
	// Sys carries containers/image settings: AuthFilePath,
	// SystemRegistriesConfPath, DockerInsecureSkipTLSVerify, DockerCertPath,
	// DockerPerHostCertDirPath, RootForImplicitAbsolutePaths.
	Sys *types.SystemContext
	// Logger receives debug lines about pings, tokens and retries; nil discards.
	Logger *slog.Logger
	// PerHostConcurrency caps requests in flight to one host (default 8).
	PerHostConcurrency int
	// MaxRetries bounds retries of one request after 429, 5xx or a network error (default 4).
	MaxRetries int
	// RequestTimeout bounds one attempt, body included (default 60s).
	RequestTimeout time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one fails the request (default 60s).
	MaxRetryAfter time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Hosts tune single registry hosts (concurrency, request rate, HTTP/1.1),
	// keyed by host[:port]; Docker Hub's names are one key (CanonicalHost).
	Hosts map[string]HostOptions
	// CertsDirs are searched for <dir>/<host[:port]>/ with that host's CAs
	// and client certificates, as containers/image does; nil means
	// Sys.DockerPerHostCertDirPath when set, else /etc/containers/certs.d
	// and /etc/docker/certs.d under Sys.RootForImplicitAbsolutePaths.
	CertsDirs []string
	// ThrottleCoolDown is how long a permit parked after a 429 stays parked
	// (default 5s, times its rank).
	ThrottleCoolDown time.Duration
	// DockerConfig is Docker's config.json to read credsStore, credHelpers
	// and tokens from; "" means the default places ($DOCKER_CONFIG,
	// ~/.docker). When Sys.AuthFilePath names a Docker config.json, pass it
	// here too.
	DockerConfig string
	// MaxTags caps the tags of one repository's tag list (default
	// DefaultMaxTags); a list with more fails, naming the cap.
	MaxTags int
}

// Client talks to registries. Create one per run and share it.
type Client struct {
	opts     Options
	log      *slog.Logger
	secure   *http.Client
	insecure *http.Client // for hosts where TLS verification is off
	creds    *credentialStore

	mu    sync.Mutex
	hosts map[string]*host // registries, pinged
	web   map[string]*host // lookaside stores and other plain web hosts

	initErr error // a setting that makes every request fail (unreadable certificates)
}

// host is what the client learned about one registry host.
type host struct {
	name     string // host[:port] requests go to
	insecure bool   // plain HTTP fallback and unverified TLS allowed
	flow     *flow
	client   *http.Client // nil: the Client's shared ones

	ready      chan struct{} // closed when the ping finished
	scheme     string
	challenge  atomic.Pointer[challenge] // nil: anonymous access works
	pingErr    error
	signatures bool // /v2/ carried X-Registry-Supports-Signatures: 1 (OpenShift)

	tokensMu    sync.Mutex
	tokens      map[string]*token // by scope
	tokenFlight singleflight.Group

	requests, throttled atomic.Int64
}

// New builds a Client with one shared transport.
func New(opts Options) *Client {
	if opts.PerHostConcurrency <= 0 {
		opts.PerHostConcurrency = 8
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 4
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 60 * time.Second
	}
	if opts.ThrottleCoolDown <= 0 {
		opts.ThrottleCoolDown = 5 * time.Second
	}
	if opts.MaxTags <= 0 {
		opts.MaxTags = DefaultMaxTags
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "regimport"
	}
	if opts.Sys == nil {
		opts.Sys = &types.SystemContext{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hosts := make(map[string]HostOptions, len(opts.Hosts))
	for k, v := range opts.Hosts {
		hosts[CanonicalHost(k)] = v
	}
	opts.Hosts = hosts
	c := &Client{
		opts:     opts,
		log:      log,
		secure:   newHTTPClient(opts.PerHostConcurrency, false),
		insecure: newHTTPClient(opts.PerHostConcurrency, true),
		hosts:    map[string]*host{},
		web:      map[string]*host{},
	}
	c.creds = newCredentialStore(opts.Sys, opts.DockerConfig, log)
	if dir := opts.Sys.DockerCertPath; dir != "" {
		// CA certificates (*.crt) and client key pairs (*.cert/*.key), read
		// the way containers/image reads a certs.d directory.
		for _, hc := range []*http.Client{c.secure, c.insecure} {
			if err := tlsclientconfig.SetupCertificates(dir, hc.Transport.(*http.Transport).TLSClientConfig); err != nil {
				c.initErr = fmt.Errorf("certificates in %s: %w", dir, err)
			}
		}
	}
	return c
}

// MaxResponseHeaderBytes caps the header of every answer: registries send
// a few KiB (a signed redirect URL, a challenge, a Link); Go would accept
// 10 MiB, and a header that size is a flood, not an answer.
const MaxResponseHeaderBytes = 256 << 10

func newHTTPClient(perHost int, skipVerify bool) *http.Client {
	t := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    perHost * 2,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  60 * time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12}, //nolint:gosec // only for hosts the user marked insecure
	}
	return &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return checkRedirect(req, via, skipVerify)
	}}
}

// checkRedirect keeps credentials to the origin (scheme, host and port)
// they were meant for. Go keeps the Authorization header on a redirect to
// the same host name on another port, and to the same host over plain
// HTTP; it is dropped here for any other origin. A redirect from https to
// plain http is refused, unless the host is one the user marked insecure
// (insecure); even then a request body (a token POST carrying a refresh
// token) is never resent over it.
func checkRedirect(req *http.Request, via []*http.Request, insecure bool) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	first := via[0].URL
	if !sameOrigin(req.URL, first) {
		req.Header.Del("Authorization")
	}
	if downgrade(first, req.URL) && (!insecure || req.Body != nil && req.Body != http.NoBody) {
		return fmt.Errorf("%w to plain http (%s): what it carries would travel unencrypted", errDowngrade, redact.URL(req.URL.String()))
	}
	return nil
}

// errDowngrade: a redirect from https to http was refused; no retry helps.
var errDowngrade = errors.New("refused a redirect from https")

// downgrade reports whether a request that started over https goes on over
// plain http.
func downgrade(from, to *url.URL) bool {
	return from.Scheme == "https" && to.Scheme != "https"
}

// sameOrigin reports whether two URLs share scheme, host and port: only an
// answer from the origin a request was sent to speaks for that registry.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && hostPort(a) == hostPort(b)
}

// transportError classifies an error of http.Client.Do: a response header
// over MaxResponseHeaderBytes is ErrTooLarge (no retry makes it smaller);
// anything else is a network error, retried. The URL Go names (the last
// one of a redirect chain, perhaps a presigned one) is redacted.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s %s: %w", strings.ToUpper(ue.Op), redactURL(ue.URL), ue.Err)
	}
	msg := err.Error()
	if strings.Contains(msg, "response headers exceeded") || strings.Contains(msg, "header list larger than") {
		var where string
		if ue != nil {
			where = strings.ToUpper(ue.Op) + " " + redactURL(ue.URL) + ": "
		}
		return fmt.Errorf("%s%w: response header over %d bytes (MaxResponseHeaderBytes)", where, ErrTooLarge, MaxResponseHeaderBytes)
	}
	if errors.Is(err, errDowngrade) {
		return err
	}
	return &netError{err}
}

// CanonicalHost is the name a registry host is configured by: Docker Hub's
// docker.io, index.docker.io and registry-1.docker.io are all "docker.io";
// other hosts are returned as given.
func CanonicalHost(h string) string {
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return h
}

// hostAliases are the names a host's certs.d directory may be under.
func hostAliases(h string) []string {
	if CanonicalHost(h) == "docker.io" {
		return []string{"docker.io", "index.docker.io", "registry-1.docker.io"}
	}
	return []string{h}
}

// apiHost maps Docker Hub's names to its API host, as every client does.
func apiHost(domain string) string {
	if CanonicalHost(domain) == "docker.io" {
		return "registry-1.docker.io"
	}
	return domain
}

// hostFor returns the host state, pinging it once on first use.
func (c *Client) hostFor(ctx context.Context, name string, insecure bool) (*host, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	c.mu.Lock()
	h, ok := c.hosts[name]
	if !ok {
		var err error
		if h, err = c.newHost(name, insecure); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.hosts[name] = h
		go func() {
			defer close(h.ready)
			// The ping outlives the first caller's context: others wait on it.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RequestTimeout*time.Duration(c.opts.MaxRetries+1))
			defer cancel()
			h.pingErr = c.ping(pctx, h)
			if h.pingErr != nil {
				// Forget a failed host so the next image tries again
				// instead of inheriting a passing fault for the whole run.
				c.mu.Lock()
				if c.hosts[name] == h {
					delete(c.hosts, name)
				}
				c.mu.Unlock()
			}
		}()
	}
	c.mu.Unlock()
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if h.pingErr != nil {
		return nil, h.pingErr
	}
	return h, nil
}

// newHost builds the state of a host; c.mu is held.
func (c *Client) newHost(name string, insecure bool) (*host, error) {
	ho := c.opts.Hosts[CanonicalHost(name)]
	conc := ho.Concurrency
	if conc <= 0 {
		conc = c.opts.PerHostConcurrency
	}
	skipVerify := c.opts.Sys.DockerInsecureSkipTLSVerify == types.OptionalBoolTrue
	if ho.TLSVerify != nil { // a per-registry tlsVerify replaces the global one
		skipVerify = !*ho.TLSVerify
	}
	h := &host{
		name:     name,
		insecure: insecure || skipVerify,
		flow:     newFlow(conc, ho.RequestsPerSecond),
		ready:    make(chan struct{}),
		tokens:   map[string]*token{},
	}
	certsDir := c.hostCertsDir(name)
	if ho.HTTP1 || certsDir != "" || ho.Concurrency > 0 {
		h.client = newHTTPClient(conc, h.insecure)
		t := h.client.Transport.(*http.Transport)
		if ho.HTTP1 {
			t.ForceAttemptHTTP2 = false
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
		}
		if c.opts.Sys.DockerCertPath != "" {
			_ = tlsclientconfig.SetupCertificates(c.opts.Sys.DockerCertPath, t.TLSClientConfig) // checked in New
		}
		if certsDir != "" {
			if err := tlsclientconfig.SetupCertificates(certsDir, t.TLSClientConfig); err != nil {
				return nil, fmt.Errorf("certificates in %s: %w", certsDir, err)
			}
		}
	}
	return h, nil
}

// hostCertsDir finds the per-host certificate directory, if any.
func (c *Client) hostCertsDir(name string) string {
	roots := c.opts.CertsDirs
	switch {
	case roots != nil:
	case c.opts.Sys.DockerPerHostCertDirPath != "":
		roots = []string{c.opts.Sys.DockerPerHostCertDirPath}
	default:
		// The system's directories, under RootForImplicitAbsolutePaths as
		// containers/image reads them.
		for _, dir := range []string{"/etc/containers/certs.d", "/etc/docker/certs.d"} {
			roots = append(roots, filepath.Join("/", c.opts.Sys.RootForImplicitAbsolutePaths, dir))
		}
	}
	for _, root := range roots {
		for _, alias := range hostAliases(name) {
			dir := filepath.Join(root, alias)
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				return dir
			}
		}
	}
	return ""
}

func (c *Client) httpClient(h *host) *http.Client {
	if h.client != nil {
		return h.client
	}
	if h.insecure {
		return c.insecure
	}
	return c.secure
}

// HostStats are per-host request totals for metrics and the run summary.
type HostStats struct {
	Host                string
	Requests, Throttled int64
	// Concurrency is the host's effective concurrency now (lower after 429s).
	Concurrency int
	// RateLimit is what the host's RateLimit-* headers said last; Seen is
	// false when it sent none.
	RateLimit RateLimit
}

// Stats returns request totals per host, sorted by host.
func (c *Client) Stats() []HostStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]HostStats, 0, len(c.hosts)+len(c.web))
	all := slices.Concat(slices.Collect(maps.Values(c.hosts)), slices.Collect(maps.Values(c.web)))
	for _, h := range all {
		out = append(out, HostStats{Host: h.name, Requests: h.requests.Load(), Throttled: h.throttled.Load(),
			Concurrency: h.flow.effective(), RateLimit: h.flow.rateLimit()})
	}
	sortStats(out)
	return out
}
