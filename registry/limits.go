package registry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// HostOptions tune one registry host; zero values take the Client's defaults.
type HostOptions struct {
	// Concurrency caps requests in flight to the host.
	Concurrency int
	// RequestsPerSecond caps the request rate (0: no cap), shared by every worker.
	RequestsPerSecond float64
	// HTTP1 forces HTTP/1.1 (some registries and proxies misbehave on HTTP/2).
	HTTP1 bool
	// TLSVerify, when set, replaces the Client's global TLS setting
	// (Sys.DockerInsecureSkipTLSVerify) for this host: false skips
	// verification and allows plain HTTP, true verifies. registries.conf's
	// insecure still applies.
	TLSVerify *bool
}

// flow is the traffic control of one host, shared by all workers: a
// concurrency cap that shrinks while the host answers 429, a pause that a
// Retry-After (or an exhausted RateLimit-Remaining) imposes on everyone, and
// an optional request rate.
type flow struct {
	sem     chan struct{}
	limiter *rate.Limiter // nil: no rate cap

	pauseUntil atomic.Int64 // unix nanoseconds

	mu     sync.Mutex
	parked int // permits held back after 429s
}

func newFlow(concurrency int, rps float64) *flow {
	f := &flow{sem: make(chan struct{}, concurrency)}
	if rps > 0 {
		f.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(rps)))
	}
	return f
}

// acquire waits for a pause to end, for the rate limiter and for a permit.
func (f *flow) acquire(ctx context.Context) error {
	if until := f.pauseUntil.Load(); until > 0 {
		if d := time.Until(time.Unix(0, until)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	}
	if f.limiter != nil {
		if err := f.limiter.Wait(ctx); err != nil {
			return err
		}
	}
	select {
	case f.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *flow) release() { <-f.sem }

// pause makes every request to the host wait until d from now.
func (f *flow) pause(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := f.pauseUntil.Load()
		if cur >= until || f.pauseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// throttled halves the host's effective concurrency after a 429 by parking
// permits; each parked permit comes back after a cool-down, so a host that
// stops answering 429 gets its concurrency back gradually.
func (f *flow) throttled(coolDown time.Duration) {
	f.mu.Lock()
	free := cap(f.sem) - f.parked
	n := free / 2
	f.parked += n
	f.mu.Unlock()
	for i := range n {
		go func() {
			f.sem <- struct{}{} // waits for a worker to finish: that permit is now parked
			time.Sleep(coolDown * time.Duration(i+1))
			<-f.sem
			f.mu.Lock()
			f.parked--
			f.mu.Unlock()
		}()
	}
}

// effective is the concurrency the host gets now.
func (f *flow) effective() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cap(f.sem) - f.parked
}

// rateLimitRemaining reads RateLimit-Remaining (Docker Hub: "76;w=21600"
// or the IETF draft's plain number) and RateLimit-Reset in seconds.
func rateLimitRemaining(h http.Header) (remaining int, reset time.Duration, ok bool) {
	v := h.Get("RateLimit-Remaining")
	if v == "" {
		return 0, 0, false
	}
	num, _, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return 0, 0, false
	}
	if r, err := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Reset"))); err == nil && r > 0 {
		reset = time.Duration(r) * time.Second
	}
	return n, reset, true
}
