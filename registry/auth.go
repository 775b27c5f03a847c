package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.podman.io/image/v5/types"
)

// challenge is a parsed WWW-Authenticate header.
type challenge struct {
	scheme string // "bearer" or "basic"
	params map[string]string
}

// parseChallenge reads the first Bearer or Basic challenge (RFC 7235 auth-params).
func parseChallenge(values []string) (*challenge, error) {
	for _, v := range values {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		scheme = strings.ToLower(scheme)
		if scheme != "bearer" && scheme != "basic" {
			continue
		}
		ch := &challenge{scheme: scheme, params: map[string]string{}}
		for rest = strings.TrimSpace(rest); rest != ""; {
			key, after, ok := strings.Cut(rest, "=")
			if !ok {
				break
			}
			key = strings.ToLower(strings.TrimSpace(key))
			var val string
			if strings.HasPrefix(after, `"`) {
				end := 1
				for end < len(after) && after[end] != '"' {
					if after[end] == '\\' {
						end++
					}
					end++
				}
				if end >= len(after) {
					return nil, fmt.Errorf("unterminated quoted value in WWW-Authenticate %q", truncate(v, 200))
				}
				val = strings.ReplaceAll(after[1:end], `\"`, `"`)
				after = after[end+1:]
			} else {
				val, after, _ = strings.Cut(after, ",")
				val = strings.TrimSpace(val)
				after = "," + after
			}
			ch.params[key] = val
			rest = strings.TrimLeft(strings.TrimSpace(after), ",")
			rest = strings.TrimSpace(rest)
		}
		if scheme == "bearer" && ch.params["realm"] == "" {
			return nil, errors.New("bearer challenge without realm")
		}
		return ch, nil
	}
	return nil, fmt.Errorf("no Bearer or Basic challenge in WWW-Authenticate %q", truncate(strings.Join(values, ", "), 200))
}

type token struct {
	value   string
	expires time.Time
}

// maxTokenBytes caps a token response; real ones are a few KiB.
const maxTokenBytes = 1 << 20

// authorize sets the Authorization header for a request in scope.
func (c *Client) authorize(ctx context.Context, h *host, scope string, creds types.DockerAuthConfig, req *http.Request) error {
	if h.challenge == nil {
		return nil
	}
	if h.challenge.scheme == "basic" {
		if creds.Username != "" {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
		return nil
	}
	tok, err := c.bearerToken(ctx, h, scope, creds)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (c *Client) bearerToken(ctx context.Context, h *host, scope string, creds types.DockerAuthConfig) (string, error) {
	h.tokensMu.Lock()
	defer h.tokensMu.Unlock() // one token fetch per scope at a time: no stampede
	if t, ok := h.tokens[scope]; ok && time.Now().Before(t.expires) {
		return t.value, nil
	}
	t, err := c.fetchToken(ctx, h, scope, creds)
	if err != nil {
		return "", err
	}
	h.tokens[scope] = t
	return t.value, nil
}

func (h *host) forgetToken(scope string) {
	h.tokensMu.Lock()
	delete(h.tokens, scope)
	h.tokensMu.Unlock()
}

func (c *Client) fetchToken(ctx context.Context, h *host, scope string, creds types.DockerAuthConfig) (*token, error) {
	realm, err := url.Parse(h.challenge.params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") {
		return nil, fmt.Errorf("token realm %q of %s is not an http(s) URL", h.challenge.params["realm"], h.name)
	}
	q := url.Values{}
	if s := h.challenge.params["service"]; s != "" {
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
		realm.RawQuery = q.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
		if err == nil && creds.Username != "" {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	h.requests.Add(1)
	resp, err := c.httpClient(h).Do(req)
	if err != nil {
		return nil, fmt.Errorf("get token for %s from %s: %w", scope, redactURL(realm.String()), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBytes))
	if err != nil {
		return nil, fmt.Errorf("get token for %s: %w", scope, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get token for %s: %w", scope, newHTTPError(resp, body))
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("get token for %s: bad token response: %w", scope, err)
	}
	value := tr.Token
	if value == "" {
		value = tr.AccessToken
	}
	if value == "" {
		return nil, fmt.Errorf("get token for %s: response has no token", scope)
	}
	// Distribution's default lifetime is 60 s; renew a little early.
	life := time.Duration(max(tr.ExpiresIn, 60)) * time.Second
	c.log.Debug("registry token", "host", h.name, "scope", scope, "expires_in", life)
	return &token{value: value, expires: time.Now().Add(life - 10*time.Second)}, nil
}
