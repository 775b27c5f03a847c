package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/regimport/regimport/internal/redact"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound         = errors.New("not found")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrForbidden        = errors.New("forbidden")
	ErrTooLarge         = errors.New("larger than the size cap")
	ErrDigestMismatch   = errors.New("content integrity error")
	ErrBlocked          = errors.New("registry is blocked in registries.conf")
	ErrInsecureRequired = errors.New("registry answers only over plain HTTP and is not marked insecure")
	ErrRateLimited      = errors.New("rate limited")
	ErrServer           = errors.New("registry server error")
	// ErrPullLimit: the host said its pull limit is used up for longer than
	// a run waits (Docker Hub's RateLimit-Remaining: 0;w=21600); no new
	// manifest GET to it starts in this run.
	ErrPullLimit = fmt.Errorf("%w: the registry's pull limit is used up, no new pulls from it in this run", ErrRateLimited)
	// ErrNoCatalog: the registry does not offer /v2/_catalog (Docker Hub,
	// GHCR and most hosted registries).
	ErrNoCatalog = errors.New("the registry does not list its repositories (/v2/_catalog)")
)

// HTTPError is a registry answer that was not a success.
type HTTPError struct {
	Method, URL string
	StatusCode  int
	// Codes and Messages come from the registry's {"errors":[...]} body, when present.
	Codes    []string
	Messages []string
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	for i, c := range e.Codes {
		fmt.Fprintf(&b, "; %s", c)
		if i < len(e.Messages) && e.Messages[i] != "" {
			fmt.Fprintf(&b, ": %s", e.Messages[i])
		}
	}
	return b.String()
}

// Is maps status codes to the package's sentinels.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

// maxErrorEntries caps the entries of a registry's error body kept in an error.
const maxErrorEntries = 5

func newHTTPError(resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{Method: resp.Request.Method, URL: redactURL(resp.Request.URL.String()), StatusCode: resp.StatusCode}
	// The codes and messages are the registry's text: capped, and stripped
	// of control characters before they can reach a terminal.
	var env struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		for i, x := range env.Errors {
			if i == maxErrorEntries {
				e.Codes = append(e.Codes, fmt.Sprintf("(%d more)", len(env.Errors)-i))
				break
			}
			e.Codes = append(e.Codes, redact.Text(truncate(x.Code, 100)))
			e.Messages = append(e.Messages, redact.Text(truncate(x.Message, 200)))
		}
	}
	return e
}

// redactURL is a URL fit for errors and logs: without the password of its
// userinfo and the values of credential query parameters (a token
// endpoint's, a presigned redirect's).
func redactURL(u string) string { return redact.URL(u) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
