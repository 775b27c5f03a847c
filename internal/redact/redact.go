// Package redact makes text from configuration and from outside fit for
// errors, logs, the catalog and the terminal: URL strips the credentials a
// URL may carry (its userinfo password and credential query parameters),
// and Text strips control characters from untrusted text, so that a
// registry's answer cannot move the cursor, recolour or clear a terminal.
//
// It is the one place regimport writes these rules; registry, signatures
// (lookaside stores), catalog (PostgreSQL URLs) and the tools use it.
package redact

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces a credential's value.
const Mask = "xxxxx"

// credentialWords mark a query parameter whose value may be a credential
// when its name contains one of them, case-insensitively: PostgreSQL's
// password and sslpassword, OAuth's access_token and refresh_token, the
// signatures of presigned object-storage URLs (X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token, X-Goog-Signature, Azure's sig,
// CloudFront's Signature and Key-Pair-Id). A name is matched by substring
// so that vendor prefixes and suffixes are covered; masking a harmless
// parameter costs only a less helpful message.
var credentialWords = []string{"pass", "pwd", "secret", "token", "sig", "credential", "key", "auth", "session", "code"}

// URL returns s with the password of its userinfo dropped (the user name
// stays: it helps to tell which account failed), the value of every
// credential query parameter replaced by Mask, and its fragment dropped.
// Other query parameters (sslmode, n, last) are kept. A string that does
// not parse as a URL may hold a password anywhere, so it is not returned:
// a placeholder naming its scheme, when there is one, is.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if scheme, _, ok := strings.Cut(s, "://"); ok && isScheme(scheme) {
			return scheme + "://(unparsable URL)"
		}
		return "(unparsable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
		}
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		u.RawQuery = query(u.RawQuery)
	}
	return u.String()
}

// query masks credential parameters of a raw query, keeping the order and
// spelling of the others.
func query(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if key, err := url.QueryUnescape(name); err == nil {
			name = key
		}
		if hasValue && IsCredentialParam(name) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + Mask
		}
	}
	return strings.Join(parts, "&")
}

// IsCredentialParam reports whether a query parameter's name marks a value
// that may be a credential.
func IsCredentialParam(name string) bool {
	name = strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// Text returns untrusted text (a registry's error message, a reason
// phrase, a header value) with every control character, bidirectional
// formatting character and invalid UTF-8 byte replaced by U+FFFD, so that
// printing it cannot start an escape sequence or reorder what a terminal
// shows. Tabs and newlines are replaced too: the text ends up inside a
// one-line error.
func Text(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			r = unicode.ReplacementChar
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Secrets are the credentials a URL carries, its password and the values
// of its credential query parameters, so that an error a library wrote
// with them in it (a connection error quoting its DSN) can lose them:
// see Error.
func Secrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	for name, values := range u.Query() {
		if IsCredentialParam(name) {
			for _, v := range values {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// Error is err's text with every secret of the URL s masked; err itself
// when it holds none.
func Error(err error, s string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	masked := msg
	for _, secret := range Secrets(s) {
		masked = strings.ReplaceAll(masked, secret, Mask)
	}
	if masked == msg {
		return err
	}
	return errors.New(masked)
}
