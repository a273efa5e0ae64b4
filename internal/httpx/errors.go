package httpx

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
)

// StatusClientClosedRequest is the non-standard status (nginx's 499) recorded when the client
// went away before the response was ready. The client never sees it; logs and metrics do.
const StatusClientClosedRequest = 499

// Stable error codes produced by this package. Services may map them onto their own codes.
const (
	CodeBadJSON              = "bad_json"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodePayloadTooLarge      = "payload_too_large"
	CodeClientClosedRequest  = "client_closed_request"
	CodeRequestTimeout       = "request_timeout"
	CodeInternal             = "internal_error"
	// CodeUnavailable is a 503 for a request that failed because the database could not be
	// reached (restarting, recovering, unreachable). Handle produces it; see Unavailable.
	CodeUnavailable = "service_unavailable"
)

// Unavailable is the 503 for a request whose database went away. Retry-After suggests one
// second: a supervised restart of the managed cluster takes about that.
func Unavailable(cause error) *AppError {
	return &AppError{
		Status:  http.StatusServiceUnavailable,
		Code:    CodeUnavailable,
		Message: "The database is unavailable (restarting or unreachable); retry shortly",
		Header:  http.Header{"Retry-After": {"1"}},
		cause:   cause,
	}
}

// AppError is an error that knows how it should look on the wire: an HTTP status, a stable
// machine-readable code, a message safe to show to the client, optional details and extra
// response headers (Retry-After, WWW-Authenticate, ...). The cause is kept for logs only and
// never reaches a response body.
type AppError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	Header  http.Header    `json:"-"`
	cause   error
}

// NewError returns an AppError without details, headers or cause.
func NewError(status int, code, message string) *AppError {
	return &AppError{Status: status, Code: code, Message: message}
}

// Error describes the error for logs, including the internal cause.
func (e *AppError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the internal cause, so errors.Is/As see through an AppError.
func (e *AppError) Unwrap() error { return e.cause }

// WithCause returns a copy of e carrying err as its internal cause. e itself is not changed,
// so package-level templates can be reused safely.
func (e *AppError) WithCause(err error) *AppError {
	c := *e
	c.Details = maps.Clone(e.Details)
	c.Header = e.Header.Clone()
	c.cause = err
	return &c
}

// AsAppError turns any error into an AppError: an AppError anywhere in the chain is returned
// as is; a body over its http.MaxBytesReader limit becomes 413; a cancelled request context
// becomes 499 and an expired deadline 504; anything else becomes a 500 whose message is
// generic and whose cause is err. It returns nil for a nil error.
func AsAppError(err error) *AppError {
	if err == nil {
		return nil
	}
	var appErr *AppError
	if errors.As(err, &appErr) {
		return appErr
	}
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		return &AppError{
			Status:  http.StatusRequestEntityTooLarge,
			Code:    CodePayloadTooLarge,
			Message: fmt.Sprintf("Request body is larger than %d bytes", maxBytes.Limit),
			Details: map[string]any{"limit": maxBytes.Limit},
			cause:   err,
		}
	case errors.Is(err, context.Canceled):
		return &AppError{Status: StatusClientClosedRequest, Code: CodeClientClosedRequest, Message: "Client closed request", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &AppError{Status: http.StatusGatewayTimeout, Code: CodeRequestTimeout, Message: "Request timed out", cause: err}
	default:
		return &AppError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "Internal server error", cause: err}
	}
}
