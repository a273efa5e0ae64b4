package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// HandlerFunc is the shape of every service handler: it writes the success response itself
// and returns an error instead of writing an error body.
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ErrorRenderer writes err in a service's own wire envelope. Handle has already copied
// err.Header into the response headers when it is called.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, err *AppError)

// Handle adapts h to an http.Handler. It is the one place per service where errors become
// bodies: a returned error is turned into an AppError (see AsAppError) and rendered with
// render. Server-side failures (5xx) are logged with the request id and their cause; the
// cause is never sent. An error returned after the response was already committed can only
// be logged. Handle panics when render or h is nil, like http.Handle does for a nil handler.
func Handle(render ErrorRenderer, h HandlerFunc) http.Handler {
	if render == nil || h == nil {
		panic("httpx: Handle needs a renderer and a handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := NewStatusWriter(w)
		err := h(sw, r)
		if err == nil {
			return
		}
		appErr := AsAppError(err)
		if appErr.Status >= http.StatusInternalServerError && errors.Is(r.Context().Err(), context.Canceled) {
			// The client went away: whatever failed (a cancelled query, a write to a closed
			// connection) failed because of that, which is normal traffic, not a fault.
			appErr = &AppError{Status: StatusClientClosedRequest, Code: CodeClientClosedRequest, Message: "Client closed request", cause: err}
		} else if appErr.Status == http.StatusInternalServerError && DatabaseUnavailable(err) {
			// However the service wrapped it, a failure because the database is down is a
			// 503 the client may retry, not a fault of this request.
			appErr = Unavailable(err)
		}
		logFailure(r, appErr, sw.Written())
		if sw.Written() {
			return
		}
		for name, values := range appErr.Header {
			sw.Header()[name] = values
		}
		render(sw, r, appErr)
	})
}

func logFailure(r *http.Request, appErr *AppError, committed bool) {
	ctx := r.Context()
	attrs := []any{
		slog.String("request_id", RequestID(ctx)),
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", appErr.Status),
		slog.String("code", appErr.Code),
	}
	if appErr.cause != nil {
		attrs = append(attrs, slog.String("error", appErr.cause.Error()))
	}
	switch {
	case appErr.Status == StatusClientClosedRequest:
		Logger(ctx).DebugContext(ctx, "client went away", attrs...)
	case committed:
		Logger(ctx).ErrorContext(ctx, "handler failed after the response was committed", attrs...)
	case appErr.Status >= http.StatusInternalServerError:
		Logger(ctx).ErrorContext(ctx, "handler failed", attrs...)
	default:
		Logger(ctx).DebugContext(ctx, "request rejected", attrs...)
	}
}
