package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// errPlainHTTP: an https ping reached a server that speaks plain HTTP.
var errPlainHTTP = errors.New("the server speaks plain HTTP")

// ping asks GET /v2/ to learn the scheme and the auth challenge, once per
// host and run. 200 means anonymous access; 401 carries the challenge.
// Anything else (a 5xx, a 429, a proxy's 403) says nothing about auth, so it
// is retried like any request and, when it persists, fails the ping: a
// failed ping never turns auth off.
func (c *Client) ping(ctx context.Context, h *host) error {
	schemes := []string{"https"}
	if h.insecure {
		schemes = append(schemes, "http")
	}
	var errs []string
	for _, scheme := range schemes {
		var resp *response
		err := c.retry(ctx, h, func() string { return "ping " + h.name }, func(ctx context.Context) (time.Duration, error) {
			r, retryAfter, err := c.pingOnce(ctx, h, scheme)
			resp = r
			return retryAfter, err
		})
		if err != nil {
			if errors.Is(err, errPlainHTTP) && !h.insecure {
				return fmt.Errorf("ping %s: %w (use --tls-verify=false or mark it insecure in registries.conf)", h.name, ErrInsecureRequired)
			}
			errs = append(errs, scheme+": "+err.Error())
			if isNetError(err) || errors.Is(err, errPlainHTTP) {
				continue // try plain HTTP, when allowed
			}
			return fmt.Errorf("ping %s: %w", h.name, err)
		}
		h.scheme = scheme
		h.signatures = resp.header.Get("X-Registry-Supports-Signatures") == "1"
		if resp.status == http.StatusUnauthorized {
			ch, err := parseChallenge(resp.header.Values("WWW-Authenticate"))
			if err != nil {
				return fmt.Errorf("ping %s: %w", h.name, err)
			}
			h.challenge.Store(ch)
		}
		c.log.Debug("registry ping", "host", h.name, "scheme", scheme, "status", resp.status)
		return nil
	}
	return fmt.Errorf("ping %s: %s", h.name, strings.Join(errs, "; "))
}

// pingOnce is one GET /v2/; 200 and 401 are answers, anything else an error.
func (c *Client) pingOnce(ctx context.Context, h *host, scheme string) (*response, time.Duration, error) {
	if err := h.flow.acquire(ctx, false); err != nil {
		return nil, 0, err
	}
	defer h.flow.release()
	actx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, scheme+"://"+h.name+"/v2/", nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	h.requests.Add(1)
	resp, err := c.httpClient(h).Do(req)
	if err != nil {
		var rh tls.RecordHeaderError
		if scheme == "https" && (errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")) {
			// A plain-HTTP server: no retry makes it speak TLS.
			return nil, 0, fmt.Errorf("%w: %w", errPlainHTTP, err)
		}
		return nil, 0, transportError(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	h.flow.observe(c, h, resp)
	if resp.StatusCode == http.StatusUnauthorized && !sameOrigin(resp.Request.URL, req.URL) {
		// The challenge is the redirect target's, not the registry's:
		// its realm would get the registry's credentials.
		return nil, 0, fmt.Errorf("GET %s was redirected to %s, which asks for credentials: only the registry's own challenge is followed",
			redactURL(req.URL.String()), redactURL(resp.Request.URL.String()))
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
		return &response{status: resp.StatusCode, header: resp.Header}, 0, nil
	}
	return nil, retryAfter(resp.Header.Get("Retry-After")), newHTTPError(resp, body)
}
