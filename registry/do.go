package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"go.podman.io/image/v5/types"
)

// request is one registry call whose whole body fits in memory.
type request struct {
	method  string
	url     string
	accept  []string
	scope   string
	creds   types.DockerAuthConfig
	maxBody int64
}

// response is a finished call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do runs a request under the host's concurrency cap, with auth and bounded
// retries. Non-2xx answers come back as *HTTPError.
func (c *Client) do(ctx context.Context, h *host, r request) (*response, error) {
	var lastErr error
	reauthed := false
	for attempt := 0; ; attempt++ {
		resp, retryAfter, err := c.attempt(ctx, h, r)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var he *HTTPError
		if errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized && h.challenge != nil && h.challenge.scheme == "bearer" && !reauthed {
			// An expired or revoked token: fetch a new one once.
			h.forgetToken(r.scope)
			reauthed = true
			attempt--
			continue
		}
		if !retryable(err) || attempt >= c.opts.MaxRetries || ctx.Err() != nil {
			return nil, lastErr
		}
		wait := backoff(attempt)
		if retryAfter > 0 {
			if retryAfter > c.opts.MaxRetryAfter {
				return nil, fmt.Errorf("%w (Retry-After %s is longer than the %s allowed)", lastErr, retryAfter, c.opts.MaxRetryAfter)
			}
			wait = retryAfter
		}
		c.log.Debug("registry retry", "host", h.name, "url", redactURL(r.url), "attempt", attempt+1, "wait", wait, "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, errors.Join(lastErr, ctx.Err())
		}
	}
}

func (c *Client) attempt(ctx context.Context, h *host, r request) (*response, time.Duration, error) {
	if err := h.flow.acquire(ctx); err != nil {
		return nil, 0, err
	}
	defer h.flow.release()

	actx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, r.method, r.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	for _, a := range r.accept {
		req.Header.Add("Accept", a)
	}
	if err := c.authorize(actx, h, r.scope, r.creds, req); err != nil {
		return nil, 0, err
	}
	h.requests.Add(1)
	resp, err := c.httpClient(h).Do(req)
	if err != nil {
		return nil, 0, &netError{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		h.throttled.Add(1)
		h.flow.throttled(c.opts.ThrottleCoolDown)
		if d := retryAfter(resp.Header.Get("Retry-After")); d > 0 && d <= c.opts.MaxRetryAfter {
			h.flow.pause(d) // every worker waits, not just this one
		}
	}
	if remaining, reset, ok := rateLimitRemaining(resp.Header); ok {
		if remaining <= 0 && reset > 0 && reset <= c.opts.MaxRetryAfter {
			h.flow.pause(reset)
		}
		if remaining < 10 {
			c.log.Warn("registry rate limit nearly used up", "host", h.name, "remaining", remaining, "reset", reset)
		}
	}
	if resp.ContentLength > r.maxBody {
		return nil, 0, fmt.Errorf("%s %s: %w: Content-Length %d, cap %d", r.method, redactURL(r.url), ErrTooLarge, resp.ContentLength, r.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return nil, 0, &netError{fmt.Errorf("read body of %s %s: %w", r.method, redactURL(r.url), err)}
	}
	if int64(len(body)) > r.maxBody {
		return nil, 0, fmt.Errorf("%s %s: %w: body over %d bytes", r.method, redactURL(r.url), ErrTooLarge, r.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, retryAfter(resp.Header.Get("Retry-After")), newHTTPError(resp, body)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, 0, nil
}

// netError marks transport failures (resets, timeouts, truncated bodies) as retryable.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var ne *netError
	if errors.As(err, &ne) {
		return !errors.Is(err, context.Canceled)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInternalServerError:
			return true
		}
	}
	return false
}

// backoff is exponential with full jitter: 100 ms, 200 ms, 400 ms... capped at 10 s.
func backoff(attempt int) time.Duration {
	ceiling := min(100*time.Millisecond<<attempt, 10*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling))) + ceiling/2
}

// retryAfter reads Retry-After as seconds or an HTTP date (RFC 9110).
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
