package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// limitedTransport puts plain web requests (lookaside signature stores)
// through the layers registry requests go through, less auth: the host's
// flow control, bounded retries of 429, 5xx and network errors, and the
// per-host request count.
type limitedTransport struct {
	c        *Client
	base     http.RoundTripper
	insecure bool
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.c.webHost(req.URL.Host, t.insecure)
	var out *http.Response
	err := t.c.retry(req.Context(), h, func() string { return req.Method + " " + redactURL(req.URL.String()) }, func(ctx context.Context) (time.Duration, error) {
		if err := h.flow.acquire(ctx, false); err != nil {
			return 0, err
		}
		h.requests.Add(1)
		resp, err := t.base.RoundTrip(req.Clone(ctx))
		h.flow.release()
		if err != nil {
			return 0, transportError(err)
		}
		h.flow.observe(t.c, h, resp)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			body, _ := readCapped(resp.Body, 64<<10)
			resp.Body.Close()
			// Kept for the caller when retries run out: the answer is
			// its to report, once, with the URL it asked for.
			resp.Body = io.NopCloser(bytes.NewReader(body))
			out = resp
			return retryAfter(resp.Header.Get("Retry-After")), newHTTPError(resp, body)
		}
		out = resp
		return 0, nil
	})
	var he *HTTPError
	if err != nil && errors.As(err, &he) && out != nil && req.Context().Err() == nil {
		return out, nil // the last 429 or 5xx, after the retries
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// webHost is the flow state of a host that is not pinged as a registry: a
// registry host's own when it is one, else one of its own.
func (c *Client) webHost(name string, insecure bool) *host {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[name]; ok {
		select {
		case <-h.ready:
			if h.pingErr == nil {
				return h
			}
		default:
		}
	}
	if h, ok := c.web[name]; ok {
		return h
	}
	conc := c.opts.Hosts[CanonicalHost(name)].Concurrency
	if conc <= 0 {
		conc = c.opts.PerHostConcurrency
	}
	h := &host{name: name, insecure: insecure, flow: newFlow(conc, c.opts.Hosts[CanonicalHost(name)].RequestsPerSecond), ready: make(chan struct{})}
	close(h.ready)
	c.web[name] = h
	return h
}
