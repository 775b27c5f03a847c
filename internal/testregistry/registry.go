// Package testregistry runs a real Docker registry (distribution/distribution
// v3) in-process on loopback and seeds it with generated images, for tests,
// `make demo` and `make bench`.
//
// The registry is the real thing: manifests and blobs go through its HTTP API
// into its storage (the in-memory driver), and clients read them back the
// same way. Two things it cannot do are added in front of it, and only
// those: serving Docker schema1 manifests (v3 dropped them, but regimport
// must still import them from older registries) and counting requests, so
// that tests and benchmarks can tell how many requests a client made.
//
// The package does not use package testing: demo and bench programs start
// registries too. Start, use, Close.
package testregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/containers/libtrust"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // registers the "inmemory" driver
	"github.com/sirupsen/logrus"
)

// Registry is a running in-process registry. Its methods are safe for
// concurrent use.
type Registry struct {
	srv     *http.Server
	app     *handlers.App
	ln      net.Listener
	served  chan struct{} // closed when Serve returns
	cancel  context.CancelFunc
	log     *slog.Logger
	counts  *counter
	schema1 *schema1Store
	signKey libtrust.PrivateKey // signs schema1 manifests, as a Docker daemon's key did
	client  *http.Client        // the seeder's, one keep-alive pool
	blobs   sync.Map            // repo@digest -> *blobUpload: each blob goes up once per repository
	layers  sync.Map            // layer key -> layer: shared and pooled layers are built once
	close   sync.Once
}

type options struct {
	middleware []func(http.Handler) http.Handler
	listen     string
	log        *slog.Logger
}

// Option configures Start.
type Option func(*options)

// WithMiddleware wraps the registry handler (fault injection, auth,
// extension APIs). Several wrap in order: the last one given is outermost.
// Requests a middleware answers itself are still counted. The Registry's own
// seeding requests go through it too; IsSeedRequest tells them apart.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(o *options) { o.middleware = append(o.middleware, mw) }
}

// WithListenAddr sets the listen address (default "127.0.0.1:0", a free port).
func WithListenAddr(addr string) Option {
	return func(o *options) { o.listen = addr }
}

// WithLogger logs the registry's start, stop and seeding progress (default:
// nothing is logged).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// Start runs distribution v3's handlers.NewApp with the in-memory storage
// driver behind a plain-HTTP server on loopback. ctx bounds the start only:
// the registry runs until Close.
func Start(ctx context.Context, opts ...Option) (*Registry, error) {
	o := options{listen: "127.0.0.1:0", log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("testregistry: start: %w", err)
	}
	// distribution logs every request through logrus' standard logger, which
	// cannot be replaced per App (its context key is internal). Tests must be
	// silent, and formatting those lines would cost the benchmarks time.
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel)

	cfg := &configuration.Configuration{}
	cfg.Log.Level = "panic"
	cfg.Log.AccessLog.Disabled = true
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		// Purging would start a goroutine that outlives Close for nothing: uploads here end at once.
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		// DELETE of manifests and tags, so that tests can remove a tag as an operator would.
		"delete": configuration.Parameters{"enabled": true},
	}
	// Upload state is HMAC'd with this; a fixed one avoids a warning and randomness.
	cfg.HTTP.Secret = "testregistry-not-a-secret"
	cfg.Catalog.MaxEntries = 1000 // what the YAML loader defaults to; a Go-built config has 0, which breaks _catalog

	key, err := libtrust.GenerateECP256PrivateKey()
	if err != nil {
		return nil, fmt.Errorf("testregistry: schema1 signing key: %w", err)
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app := handlers.NewApp(actx, cfg)

	r := &Registry{
		app: app, cancel: cancel, log: o.log, counts: newCounter(), schema1: newSchema1Store(), signKey: key,
		served: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // loopback; never an environment proxy
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		}},
	}
	var h http.Handler = r.schema1.middleware(app)
	for _, mw := range o.middleware {
		h = mw(h)
	}
	h = r.counts.middleware(h)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("testregistry: listen on %s: %w", o.listen, err)
	}
	r.ln = ln
	r.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(r.served)
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("testregistry: serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
	r.log.Info("testregistry: started", "url", r.URL())
	return r, nil
}

// Host is "127.0.0.1:PORT", for image references.
func (r *Registry) Host() string { return r.ln.Addr().String() }

// URL is "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return "http://" + r.Host() }

// Close stops the server (waiting briefly for requests in flight) and the
// registry. It may be called more than once.
func (r *Registry) Close() {
	r.close.Do(func() {
		// The seeder's spare connections first: Shutdown waits for a
		// connection that never sent a request as if it were busy.
		r.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			_ = r.srv.Close() // requests still in flight: cut them
		}
		<-r.served
		// This leaves one idle goroutine per registry: the notification
		// broadcaster NewApp starts, which v3 offers no way to stop.
		if err := r.app.Shutdown(); err != nil {
			r.log.Warn("testregistry: shutdown", "err", err)
		}
		r.cancel()
		r.log.Info("testregistry: stopped", "url", r.URL())
	})
}

// Requests returns a snapshot of the requests served so far.
func (r *Registry) Requests() RequestCounts { return r.counts.snapshot() }

// ResetRequests zeroes the counts.
func (r *Registry) ResetRequests() { r.counts.reset() }
