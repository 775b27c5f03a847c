package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

func newHTTPError(resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{Method: resp.Request.Method, URL: redactURL(resp.Request.URL.String()), StatusCode: resp.StatusCode}
	var env struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		for _, x := range env.Errors {
			e.Codes = append(e.Codes, x.Code)
			e.Messages = append(e.Messages, truncate(x.Message, 200))
		}
	}
	return e
}

// redactURL drops query strings, where token endpoints may carry secrets.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
