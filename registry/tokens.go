package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type token struct {
	value   string
	expires time.Time
}

// maxTokenBytes caps a token response; real ones are a few KiB.
const maxTokenBytes = 1 << 20

// bearerToken returns a token for scope from the cache, or fetches one.
// Fetches of one scope are shared (singleflight); different scopes run in
// parallel, and no lock is held during a fetch.
func (c *Client) bearerToken(ctx context.Context, h *host, chal *challenge, scope string, creds credentials) (string, error) {
	h.tokensMu.Lock()
	t, ok := h.tokens[scope]
	h.tokensMu.Unlock()
	if ok && time.Now().Before(t.expires) {
		return t.value, nil
	}
	// The fetch outlives a cancelled caller: others may be waiting on it.
	ch := h.tokenFlight.DoChan(scope, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RequestTimeout*time.Duration(c.opts.MaxRetries+1))
		defer cancel()
		var t *token
		err := c.retry(fctx, h, func() string { return "token for " + scope }, func(ctx context.Context) (time.Duration, error) {
			var err error
			var ra time.Duration
			t, ra, err = c.fetchToken(ctx, h, chal, scope, creds)
			return ra, err
		})
		if err != nil {
			return nil, err
		}
		h.tokensMu.Lock()
		h.tokens[scope] = t
		h.tokensMu.Unlock()
		return t.value, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (h *host) forgetToken(scope string) {
	h.tokensMu.Lock()
	delete(h.tokens, scope)
	h.tokensMu.Unlock()
}

// fetchToken asks the challenge's realm for a token: GET with Basic
// credentials (or none), or an OAuth2 POST with the identity token as
// refresh token (Azure ACR, auth.json identitytoken).
func (c *Client) fetchToken(ctx context.Context, h *host, ch *challenge, scope string, creds credentials) (*token, time.Duration, error) {
	realm, err := url.Parse(ch.params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") || realm.Host == "" {
		return nil, 0, fmt.Errorf("token realm %q of %s is not an http(s) URL", ch.params["realm"], h.name)
	}
	if h.scheme == "https" && realm.Scheme == "http" {
		return nil, 0, fmt.Errorf("token realm %s of %s is plain http for an https registry: credentials and tokens would travel unencrypted, refused", redactURL(realm.String()), h.name)
	}
	q := url.Values{}
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	var req *http.Request
	if creds.IdentityToken != "" {
		q.Set("grant_type", "refresh_token")
		q.Set("refresh_token", creds.IdentityToken)
		q.Set("client_id", c.opts.UserAgent)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(q.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		if creds.Username != "" {
			q.Set("account", creds.Username) // Docker Hub and distribution's token server expect it
		}
		rq := realm.Query()
		for k, v := range q {
			rq[k] = v
		}
		realm.RawQuery = rq.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
		if err == nil && creds.Username != "" {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	h.requests.Add(1)
	start := time.Now()
	resp, err := c.httpClient(h).Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("get token for %s: %w", scope, transportError(err))
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body, maxTokenBytes)
	if errors.Is(err, ErrTooLarge) {
		return nil, 0, fmt.Errorf("get token for %s from %s: token response %w", scope, redactURL(realm.String()), err)
	}
	if err != nil {
		return nil, 0, &netError{fmt.Errorf("get token for %s: %w", scope, err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("get token for %s: %w", scope, newHTTPError(resp, body))
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return nil, 0, fmt.Errorf("get token for %s from %s: the realm answered an HTML page, not a token", scope, redactURL(realm.String()))
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, 0, fmt.Errorf("get token for %s: bad token response: %w", scope, err)
	}
	value := tr.Token
	if value == "" {
		value = tr.AccessToken
	}
	if value == "" {
		return nil, 0, fmt.Errorf("get token for %s: response has no token", scope)
	}
	// Distribution's default lifetime is 60 s. Renew a little early: by a
	// quarter of a short lifetime, by 10 s of a long one.
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second
	}
	c.log.Debug("registry token", "host", h.name, "scope", scope, "expires_in", life)
	return &token{value: value, expires: start.Add(life - min(10*time.Second, life/4))}, 0, nil
}
