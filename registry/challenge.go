package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/regimport/regimport/internal/redact"
)

// challenge is a parsed WWW-Authenticate header.
type challenge struct {
	scheme string // "bearer" or "basic"
	params map[string]string
}

// maxChallengeParams caps the parameters kept of one challenge: real ones
// have up to five (realm, service, scope, error, error_description).
const maxChallengeParams = 64

// parseChallenge reads the first Bearer or Basic challenge (RFC 7235
// auth-params). It scans each header value once, so its time is linear in
// the header's length whatever the header holds; the transport caps that
// length (MaxResponseHeaderBytes).
func parseChallenge(values []string) (*challenge, error) {
	for _, v := range values {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		scheme = strings.ToLower(scheme)
		if scheme != "bearer" && scheme != "basic" {
			continue
		}
		ch := &challenge{scheme: scheme, params: map[string]string{}}
		if err := parseAuthParams(rest, ch.params); err != nil {
			return nil, fmt.Errorf("%w in WWW-Authenticate %q", err, redact.Text(truncate(v, 200)))
		}
		if scheme == "bearer" && ch.params["realm"] == "" {
			return nil, errors.New("bearer challenge without realm")
		}
		return ch, nil
	}
	return nil, fmt.Errorf("no Bearer or Basic challenge in WWW-Authenticate %q", redact.Text(truncate(strings.Join(values, ", "), 200)))
}

// parseAuthParams reads `key=value, key="quoted \" value", ...` into params,
// keeping the first maxChallengeParams keys (later values of a key already
// kept replace it). It stops at the first element that is not key=value.
func parseAuthParams(s string, params map[string]string) error {
	i := 0
	skip := func(set string) {
		for i < len(s) && strings.IndexByte(set, s[i]) >= 0 {
			i++
		}
	}
	for {
		skip(" \t,")
		if i >= len(s) {
			return nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := strings.ToLower(s[start:i])
		skip(" \t")
		if i >= len(s) || s[i] != '=' {
			return nil // not an auth-param: a token68 or the next challenge
		}
		i++
		skip(" \t")
		var val string
		if i < len(s) && s[i] == '"' {
			// A quoted-string (RFC 9110 5.6.4): a backslash quotes the next byte.
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return errors.New("unterminated quoted value")
			}
			i++
			val = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' {
				i++
			}
			val = strings.TrimSpace(s[start:i])
		}
		if _, ok := params[key]; ok || len(params) < maxChallengeParams {
			params[key] = val
		}
	}
}
