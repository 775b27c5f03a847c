// Package testregistry runs a real Docker registry (distribution/distribution
// v3) in-process on loopback and seeds it with generated images, for tests,
// `make demo` and `make bench`.
//
// The registry is the real thing: manifests and blobs go through its HTTP API
// and its storage (the in-memory driver). Two things it cannot do are added
// in front of it, and only those: serving Docker schema1 manifests (v3
// dropped them; regimport must still import them from older registries) and
// counting requests so benchmarks can report requests per image.
package testregistry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // registers "inmemory"
	"github.com/sirupsen/logrus"
)

// Registry is a running in-process registry.
type Registry struct {
	srv      *http.Server
	ln       net.Listener
	app      *handlers.App
	cancel   context.CancelFunc
	counts   *counter
	schema1  *schema1Store
	client   *http.Client
	uploaded sync.Map // repo@digest of blobs already pushed
	closeOne sync.Once
}

type options struct {
	middleware []func(http.Handler) http.Handler
	listen     string
}

// Option configures Start.
type Option func(*options)

// WithMiddleware wraps the registry handler, outermost last: fault
// injection, auth or extension APIs in tests. Requests it answers itself are
// still counted.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(o *options) { o.middleware = append(o.middleware, mw) }
}

// WithListenAddr sets the address (default 127.0.0.1:0).
func WithListenAddr(addr string) Option {
	return func(o *options) { o.listen = addr }
}

var quietOnce sync.Once

// Start runs a registry with the in-memory storage driver on loopback, plain HTTP.
func Start(ctx context.Context, opts ...Option) (*Registry, error) {
	o := options{listen: "127.0.0.1:0"}
	for _, opt := range opts {
		opt(&o)
	}
	// distribution logs through logrus' standard logger; a test registry is silent.
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	})
	cfg := &configuration.Configuration{}
	cfg.Log.Level = "panic"
	cfg.Log.AccessLog.Disabled = true
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	cfg.HTTP.Secret = "testregistry-secret"
	cfg.Catalog.MaxEntries = 1000 // the YAML loader's default, which a Go-built config lacks
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app := handlers.NewApp(actx, cfg)

	r := &Registry{app: app, cancel: cancel, counts: newCounter(), schema1: newSchema1Store()}
	var h http.Handler = r.schema1.middleware(app)
	for _, mw := range o.middleware {
		h = mw(h)
	}
	h = r.counts.middleware(h)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("testregistry: listen %s: %w", o.listen, err)
	}
	r.ln = ln
	r.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	r.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}}
	return r, nil
}

// Host is "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.ln.Addr().String() }

// URL is "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return "http://" + r.Host() }

// Close stops the server and the registry.
func (r *Registry) Close() {
	r.closeOne.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = r.srv.Shutdown(ctx)
		r.srv.Close()
		r.cancel()
		r.client.CloseIdleConnections()
	})
}

// Requests returns a snapshot of the requests served so far.
func (r *Registry) Requests() RequestCounts { return r.counts.snapshot() }

// ResetRequests zeroes the counts.
func (r *Registry) ResetRequests() { r.counts.reset() }
