package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// errRetryNow asks retry for another attempt at once, without counting it
// (a fresh token after a 401, a challenge learned late).
var errRetryNow = errors.New("retry now")

// retry runs one attempt after another until one succeeds, the error is not
// worth retrying, or MaxRetries is spent. attempt returns the Retry-After
// the server asked for, if any. This is the retry layer: it knows nothing of
// auth or HTTP beyond which errors are transient. what names the request
// in messages; it is called only when one is written (redacting a URL for
// every request that succeeds was a measurable share of the client's CPU).
func (c *Client) retry(ctx context.Context, h *host, what func() string, attempt func(context.Context) (time.Duration, error)) error {
	free := 1 // one fresh token (or newly learned challenge) per request, so a 401 loop ends
	for n := 0; ; n++ {
		retryAfter, err := attempt(ctx)
		if err == nil {
			return nil
		}
		if errors.Is(err, errRetryNow) {
			if free > 0 {
				free--
				n--
				continue
			}
			return fmt.Errorf("%s: still refused after fresh credentials: %w", what(), err)
		}
		if !retryable(err) || n >= c.opts.MaxRetries || ctx.Err() != nil {
			return err
		}
		wait := backoff(n)
		if retryAfter > 0 {
			if retryAfter > c.opts.MaxRetryAfter {
				return fmt.Errorf("%w (Retry-After %s is longer than the %s allowed)", err, retryAfter, c.opts.MaxRetryAfter)
			}
			wait = retryAfter
		}
		c.log.Debug("registry retry", "host", h.name, "what", what(), "attempt", n+1, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		}
	}
}

// retryNow wraps the error that made an attempt ask for a fresh one.
type retryNowError struct{ err error }

func (e *retryNowError) Error() string        { return e.err.Error() }
func (e *retryNowError) Unwrap() error        { return e.err }
func (e *retryNowError) Is(target error) bool { return target == errRetryNow }

// netError marks transport failures (resets, timeouts, truncated bodies) as retryable.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func isNetError(err error) bool {
	var ne *netError
	return errors.As(err, &ne)
}

func retryable(err error) bool {
	if errors.Is(err, ErrPullLimit) {
		return false
	}
	if isNetError(err) {
		return !errors.Is(err, context.Canceled)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInternalServerError:
			return true
		}
	}
	return false
}

// backoff is exponential with full jitter: 100 ms, 200 ms, 400 ms... capped at 10 s.
func backoff(attempt int) time.Duration {
	ceiling := min(100*time.Millisecond<<attempt, 10*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling))) + ceiling/2
}

// retryAfter reads Retry-After as seconds or an HTTP date (RFC 9110).
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
