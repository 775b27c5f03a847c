package registry

import (
	"errors"
	"fmt"
	"strings"
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
				// A quoted-string (RFC 9110 5.6.4): a backslash quotes the next byte.
				var b strings.Builder
				end := 1
				for end < len(after) && after[end] != '"' {
					if after[end] == '\\' && end+1 < len(after) {
						end++
					}
					b.WriteByte(after[end])
					end++
				}
				if end >= len(after) {
					return nil, fmt.Errorf("unterminated quoted value in WWW-Authenticate %q", truncate(v, 200))
				}
				val = b.String()
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
