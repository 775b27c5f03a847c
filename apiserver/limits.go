package apiserver

import (
	"crypto/tls"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The defaults of Limits. Each is documented in the README's caps table.
const (
	DefaultRequestTimeout      = time.Minute      // kube-apiserver's --request-timeout
	DefaultMaxWatchTimeout     = time.Hour        // twice kube-apiserver's --min-request-timeout
	DefaultMaxWatches          = 1000             // watches in progress, all clients together
	DefaultMaxWatchesPerClient = 100              // watches in progress from one remote address
	DefaultMaxPageSize         = 1000             // objects in one list page
	readHeaderTimeout          = 10 * time.Second // a client's whole request head
	idleTimeout                = 2 * time.Minute  // a kept-alive connection between requests
	maxHeaderBytes             = 32 << 10         // a request head; more is 431
	// writeGrace lets a request that hit its own deadline still send the
	// Timeout Status before the connection's write deadline cuts it.
	writeGrace = 5 * time.Second
	// watchRetryAfter is the Retry-After of a refused watch, in seconds: the
	// apiserver's max-in-flight filter answers 1 as well.
	watchRetryAfter = 1
)

// Limits bound what clients can take of a Server: time, watches and memory.
// Zero fields take the defaults above.
type Limits struct {
	// RequestTimeout bounds every request but watches: reading it, the
	// work (the context's deadline) and writing the answer. A slow sender
	// or a client that stops reading is cut.
	RequestTimeout time.Duration
	// MaxWatchTimeout bounds one watch: a larger timeoutSeconds gets this.
	// A watch without timeoutSeconds lasts a random time between half of it
	// and it, as the apiserver spreads watches over its --min-request-timeout.
	MaxWatchTimeout time.Duration
	// MaxWatches bounds the watches in progress; the next one gets 429.
	MaxWatches int
	// MaxWatchesPerClient bounds the watches in progress from one remote
	// address (the token is shared by every client, so it tells none apart).
	MaxWatchesPerClient int
	// MaxPageSize caps list pages: a larger limit is served this many
	// objects and a continue token, as the API allows.
	MaxPageSize int
}

func (l Limits) withDefaults() (Limits, error) {
	if l.RequestTimeout < 0 || l.MaxWatchTimeout < 0 || l.MaxWatches < 0 || l.MaxWatchesPerClient < 0 || l.MaxPageSize < 0 {
		return l, fmt.Errorf("apiserver: negative limit in %+v", l)
	}
	if l.RequestTimeout == 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxWatchTimeout == 0 {
		l.MaxWatchTimeout = DefaultMaxWatchTimeout
	}
	if l.MaxWatches == 0 {
		l.MaxWatches = DefaultMaxWatches
	}
	if l.MaxWatchesPerClient == 0 {
		l.MaxWatchesPerClient = DefaultMaxWatchesPerClient
	}
	if l.MaxPageSize == 0 {
		l.MaxPageSize = DefaultMaxPageSize
	}
	return l, nil
}

// watchTimeout is how long a watch may run. Unlike kube-apiserver, which
// honours any timeoutSeconds, a larger one gets MaxWatchTimeout: clients
// simply watch again (client-go's reflectors ask 5 to 10 minutes).
func (l Limits) watchTimeout(timeoutSeconds *int64) time.Duration {
	if timeoutSeconds != nil && *timeoutSeconds > 0 {
		if *timeoutSeconds >= int64(l.MaxWatchTimeout/time.Second) {
			return l.MaxWatchTimeout // also keeps the Duration from overflowing
		}
		return time.Duration(*timeoutSeconds) * time.Second
	}
	half := l.MaxWatchTimeout / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// HTTPServer returns an http.Server for s with its timeouts and caps set:
// the request head within 10s, a request and its answer within
// RequestTimeout (watches lift that for themselves), idle connections
// closed after 2 minutes, heads over 32 KiB refused with 431. Shutdown ends
// the watches in progress (StopWatches).
func (s *Server) HTTPServer(tlsConfig *tls.Config, errorLog *log.Logger) *http.Server {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       s.limits.RequestTimeout, // requests have no bodies
		WriteTimeout:      s.limits.RequestTimeout + writeGrace,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
	srv.RegisterOnShutdown(s.StopWatches)
	return srv
}

// watchSlots counts watches in progress, in total and per client address.
type watchSlots struct {
	mu        sync.Mutex
	total     int
	byClient  map[string]int
	max       int
	perClient int
}

// acquire takes a slot for a watch from client, or returns the 429 to send.
func (w *watchSlots) acquire(client string) (release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.total >= w.max:
		return nil, apierrors.NewTooManyRequests(fmt.Sprintf(
			"too many watches: this server serves at most %d at a time; retry when one ends", w.max), watchRetryAfter)
	case w.byClient[client] >= w.perClient:
		return nil, apierrors.NewTooManyRequests(fmt.Sprintf(
			"too many watches from %s: this server serves at most %d at a time to one client address; retry when one ends",
			client, w.perClient), watchRetryAfter)
	}
	w.total++
	w.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.total--
			if w.byClient[client]--; w.byClient[client] == 0 {
				delete(w.byClient, client)
			}
		})
	}, nil
}

// clientAddress is the remote IP a request came from (its port differs
// for every connection of one client).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
