package registry

import (
	"context"
	"fmt"
	"net/http"
	"sort"
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

// RateLimit is what a host said in its RateLimit-Limit and
// RateLimit-Remaining headers (Docker Hub: "100;w=21600").
type RateLimit struct {
	Seen      bool
	Limit     int           // -1 when not sent
	Remaining int           // at the last answer
	Window    time.Duration // the w= of Remaining, 0 when not sent
	// Exhausted is set once Remaining reached 0 with no reset in reach:
	// from then on no pull (manifest GET) to the host starts in this run;
	// what pull limits do not count (HEADs, blobs of manifests already
	// fetched, tag lists) still goes out.
	Exhausted bool
}

// flow is the traffic control of one host, shared by all workers: a
// concurrency cap that shrinks while the host answers 429, a pause that a
// Retry-After (or a RateLimit-Remaining of 0 with a near reset) imposes on
// everyone, an optional request rate, and a stop when the host's pull limit
// is used up for longer than a run should wait.
type flow struct {
	sem     chan struct{}
	limiter *rate.Limiter // nil: no rate cap

	pauseUntil atomic.Int64 // unix nanoseconds
	exhausted  atomic.Bool

	mu     sync.Mutex
	parked int // permits held back after 429s
	limit  RateLimit
}

func newFlow(concurrency int, rps float64) *flow {
	f := &flow{sem: make(chan struct{}, concurrency), limit: RateLimit{Limit: -1}}
	if rps > 0 {
		f.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(rps)))
	}
	return f
}

// acquire waits for a pause to end, for the rate limiter and for a permit.
// A pull (a manifest GET, what pull limits count) is refused at once when
// the host's pull limit is used up.
func (f *flow) acquire(ctx context.Context, pull bool) error {
	if pull && f.exhausted.Load() {
		return ErrPullLimit
	}
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
	case <-ctx.Done():
		return ctx.Err()
	}
	if pull && f.exhausted.Load() { // it may have run out while this one waited
		<-f.sem
		return ErrPullLimit
	}
	return nil
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

func (f *flow) rateLimit() RateLimit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limit
}

// observe reads the flow-control headers of an answer: a 429 halves the
// concurrency and its Retry-After pauses every worker; RateLimit-Remaining
// is recorded, a 0 with a reset in reach pauses the host until then, and a 0
// without one (Docker Hub's 6-hour window) stops the host for the run.
func (f *flow) observe(c *Client, h *host, resp *http.Response) {
	if resp.StatusCode == http.StatusTooManyRequests {
		h.throttled.Add(1)
		f.throttled(c.opts.ThrottleCoolDown)
		if d := retryAfter(resp.Header.Get("Retry-After")); d > 0 && d <= c.opts.MaxRetryAfter {
			f.pause(d) // every worker waits, not just this one
		}
	}
	rl, ok := parseRateLimit(resp.Header)
	if !ok {
		return
	}
	reset := time.Duration(0)
	if r, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("RateLimit-Reset"))); err == nil && r > 0 {
		reset = time.Duration(r) * time.Second
	} else if resp.StatusCode == http.StatusTooManyRequests {
		reset = retryAfter(resp.Header.Get("Retry-After"))
	}
	f.mu.Lock()
	f.limit.Seen, f.limit.Remaining, f.limit.Window = true, rl.Remaining, rl.Window
	if rl.Limit >= 0 {
		f.limit.Limit = rl.Limit
	}
	stop := rl.Remaining <= 0 && (reset <= 0 || reset > c.opts.MaxRetryAfter) && !f.limit.Exhausted
	if stop {
		f.limit.Exhausted = true
	}
	f.mu.Unlock()
	switch {
	case stop:
		f.exhausted.Store(true)
		window := "unknown"
		if rl.Window > 0 {
			window = rl.Window.String()
		}
		c.log.Error("registry pull limit used up: no new pulls from this host in this run; the rest of its references fail and the next run continues",
			"host", h.name, "limit", rl.Limit, "window", window)
	case rl.Remaining <= 0 && reset > 0:
		f.pause(reset)
	case rl.Remaining < 10:
		c.log.Warn("registry rate limit nearly used up", "host", h.name, "remaining", rl.Remaining, "reset", reset)
	}
}

// parseRateLimit reads RateLimit-Limit and RateLimit-Remaining, Docker Hub's
// "76;w=21600" or the IETF draft's plain number.
func parseRateLimit(hd http.Header) (RateLimit, bool) {
	num := func(v string) (int, time.Duration, bool) {
		if v == "" {
			return 0, 0, false
		}
		first, params, _ := strings.Cut(v, ";")
		n, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || n < 0 {
			return 0, 0, false
		}
		var w time.Duration
		for _, p := range strings.Split(params, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "w") {
				if s, err := strconv.Atoi(val); err == nil && s > 0 {
					w = time.Duration(s) * time.Second
				}
			}
		}
		return n, w, true
	}
	rem, w, ok := num(hd.Get("RateLimit-Remaining"))
	if !ok {
		return RateLimit{}, false
	}
	rl := RateLimit{Seen: true, Limit: -1, Remaining: rem, Window: w}
	if l, _, ok := num(hd.Get("RateLimit-Limit")); ok {
		rl.Limit = l
	}
	return rl, true
}

func sortStats(s []HostStats) {
	sort.Slice(s, func(i, j int) bool { return s[i].Host < s[j].Host })
}

// String is a RateLimit for people: "12 of 100 left (window 6h0m0s)".
func (r RateLimit) String() string {
	if !r.Seen {
		return "none announced"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.Remaining)
	if r.Limit >= 0 {
		fmt.Fprintf(&b, " of %d", r.Limit)
	}
	b.WriteString(" left")
	if r.Window > 0 {
		fmt.Fprintf(&b, " (window %s)", r.Window)
	}
	if r.Exhausted {
		b.WriteString("; used up: no new pulls were started")
	}
	return b.String()
}
