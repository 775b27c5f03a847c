package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// request is one registry call whose whole body fits in memory.
type request struct {
	method  string
	url     string
	accept  []string
	scope   string
	creds   credentials
	maxBody int64
}

// response is a finished call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do runs a request through the layers: retry, flow control, auth, capped
// read, error mapping. Non-2xx answers come back as *HTTPError.
func (c *Client) do(ctx context.Context, h *host, r request) (*response, error) {
	var out *response
	err := c.retry(ctx, h, func() string { return r.method + " " + redactURL(r.url) }, func(ctx context.Context) (time.Duration, error) {
		resp, ra, err := c.attempt(ctx, h, &r)
		out = resp
		return ra, err
	})
	return out, err
}

// attempt is one try: a permit of the host's flow, the Authorization header,
// the request, the flow headers of the answer and its body, read under a cap.
func (c *Client) attempt(ctx context.Context, h *host, r *request) (*response, time.Duration, error) {
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
	// Auth before the permit: a token fetch must not hold one of the
	// registry's permits while it waits on the token server.
	if err := c.authorize(actx, h, r.scope, r.creds, req); err != nil {
		return nil, 0, err
	}
	pull := r.method == http.MethodGet && strings.Contains(r.url, "/manifests/")
	if err := h.flow.acquire(actx, pull); err != nil {
		if errors.Is(err, ErrPullLimit) {
			return nil, 0, fmt.Errorf("%s %s: %w", r.method, redactURL(r.url), err)
		}
		return nil, 0, err
	}
	defer h.flow.release()
	h.requests.Add(1)
	resp, err := c.httpClient(h).Do(req)
	if err != nil {
		return nil, 0, transportError(err)
	}
	defer resp.Body.Close()
	h.flow.observe(c, h, resp)
	// A HEAD's Content-Length is the size of what a GET would send (a
	// blob's size), not a body to read: there is none.
	if r.method != http.MethodHead && resp.ContentLength > r.maxBody {
		return nil, 0, fmt.Errorf("%s %s: %w: Content-Length %d, cap %d", r.method, redactURL(r.url), ErrTooLarge, resp.ContentLength, r.maxBody)
	}
	size := resp.ContentLength
	if r.method == http.MethodHead {
		size = -1
	}
	body, err := readSized(resp.Body, size, r.maxBody)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, 0, fmt.Errorf("%s %s: %w", r.method, redactURL(r.url), err)
		}
		return nil, 0, &netError{fmt.Errorf("read body of %s %s: %w", r.method, redactURL(r.url), err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return &response{status: resp.StatusCode, header: resp.Header, body: body}, 0, nil
	}
	he := newHTTPError(resp, body)
	if h.flow.exhausted.Load() && resp.StatusCode == http.StatusTooManyRequests {
		return nil, 0, fmt.Errorf("%w: %w", he, ErrPullLimit)
	}
	// Only the registry's own answer speaks for its auth: a 401 from a host
	// a redirect led to (a blob CDN) is that host's business, and
	// following its challenge would hand the registry's credentials to a
	// realm the registry never announced.
	if (resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode == http.StatusForbidden && resp.Header.Get("WWW-Authenticate") != "")) &&
		sameOrigin(resp.Request.URL, req.URL) {
		if scope, again := c.reauthorize(h, r.scope, resp); again {
			r.scope = scope
			return nil, 0, &retryNowError{he}
		}
	}
	return nil, retryAfter(resp.Header.Get("Retry-After")), he
}

// readSized is readCapped for a body whose length the response announced
// (size, -1 when unknown): a body within the cap is read into one buffer of
// its size, not grown piece by piece and left with up to twice the room
// (manifests and configs are kept until their image is written). The
// transport ends the body at its Content-Length, and reports one that ends
// early.
func readSized(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		return readCapped(r, limit)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readCapped reads r whole, or fails with ErrTooLarge past limit bytes:
// the capped-read layer.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
