package registry

import (
	"context"
	"net/http"
)

// authorize sets the Authorization header of a request in scope: this is
// the auth layer. A registry token (Docker config.json registrytoken) is
// the bearer token itself; a Basic challenge gets the user and password; a
// Bearer challenge gets a token for the scope (tokens.go).
func (c *Client) authorize(ctx context.Context, h *host, scope string, creds credentials, req *http.Request) error {
	ch := h.challenge.Load()
	if ch == nil {
		return nil
	}
	if creds.RegistryToken != "" {
		req.Header.Set("Authorization", "Bearer "+creds.RegistryToken)
		return nil
	}
	if ch.scheme == "basic" {
		if creds.Username != "" {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
		return nil
	}
	tok, err := c.bearerToken(ctx, h, ch, scope, creds)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// reauthorize decides what a 401 (or a 403 naming insufficient_scope) means
// for the next attempt: a challenge learned only now (the ping answered
// 200), a token that expired early or was revoked, or a token that lacks
// the scope the challenge names. It returns the scope to ask for and whether
// one more attempt can help.
func (c *Client) reauthorize(h *host, scope string, resp *http.Response) (string, bool) {
	ch, err := parseChallenge(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return scope, false
	}
	if h.challenge.Load() == nil {
		c.log.Debug("registry asks for auth after an anonymous ping", "host", h.name, "scheme", ch.scheme)
		h.challenge.Store(&challenge{scheme: ch.scheme, params: ch.params})
		return scope, true
	}
	if ch.scheme != "bearer" {
		return scope, false
	}
	h.forgetToken(scope)
	if s := ch.params["scope"]; s != "" && ch.params["error"] == "insufficient_scope" && s != scope {
		c.log.Debug("registry asks for another scope", "host", h.name, "scope", s)
		return s, true
	}
	return scope, true
}
