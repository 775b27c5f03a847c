package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The apiserver's own wording, from k8s.io/apiserver/pkg/storage.
const (
	msgListExpired     = "The resourceVersion for the provided list is too old."
	msgContinueExpired = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter."
)

func badRequest(format string, args ...any) error {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

func unauthorized() error { return apierrors.NewUnauthorized("Unauthorized") }

func notFound(t target) error { return apierrors.NewNotFound(t.groupResource(), t.name) }

// notFoundPath is the apiserver's answer for a path it does not serve.
func notFoundPath() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource", Details: &metav1.StatusDetails{},
	}}
}

func methodNotSupported(t target, verb string) error {
	return apierrors.NewMethodNotSupported(t.groupResource(), verb)
}

// methodNotAllowed is for paths that are not resources (discovery, probes).
func methodNotAllowed() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusMethodNotAllowed, Reason: metav1.StatusReasonMethodNotAllowed,
		Message: "the server does not allow this method on the requested resource",
	}}
}

func notAcceptable() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotAcceptable, Reason: metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: application/json, application/yaml, " +
			"application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
	}}
}

// tooLargeResourceVersion is storage.NewTooLargeResourceVersionError.
func tooLargeResourceVersion(want, current int64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, current), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{
		Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version",
	}}
	return err
}

// tooOldResourceVersion is the watch cache's answer for a watch from a
// version the change log no longer holds.
func tooOldResourceVersion(want, oldest int64) error {
	return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", want, oldest))
}

// errorStatus turns any error into the Status to send. Errors that are not
// already API errors are internal: their text goes to the log, not the client.
func (s *Server) errorStatus(r *http.Request, err error) metav1.Status {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		return st
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError("request did not complete within the requested timeout", 0).ErrStatus
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		s.log.Debug("request cancelled", "method", r.Method, "path", r.URL.Path)
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return apierrors.NewInternalError(errors.New("the catalog could not be read; see the server log")).ErrStatus
}

// writeError sends err as a Status object in JSON.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := s.errorStatus(r, err)
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	if code == http.StatusTooManyRequests && st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		// As the apiserver's responsewriters do: client-go waits and retries.
		w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	if code >= 500 && code != http.StatusGatewayTimeout {
		s.log.Warn("request answered with a server error", "method", r.Method, "path", r.URL.Path, "code", code, "reason", st.Reason)
	}
	writeJSON(w, code, isPrettyPrint(r), &st)
}
