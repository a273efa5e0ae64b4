package admin

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/goforward/goforward/internal/httpx"
)

// Error codes of the admin API. Sign-in failures reuse GoTrue's codes (invalid_credentials,
// over_request_rate_limit …) as the auth service answers them.
const (
	CodeNoAuthorization        = "no_authorization"
	CodeSessionExpired         = "session_expired"
	CodeNotAdmin               = "not_admin"
	CodeCSRF                   = "csrf_failed"
	CodeInsufficientCapability = "insufficient_capability"
	CodeValidationFailed       = "validation_failed"
	CodeNotFound               = "not_found"
	CodeUnexpectedFailure      = "unexpected_failure"
)

func apiError(status int, code, format string, args ...any) *httpx.AppError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return httpx.NewError(status, code, msg)
}

func badRequest(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusBadRequest, code, format, args...)
}

func unauthorized(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusUnauthorized, code, format, args...)
}

func forbidden(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusForbidden, code, format, args...)
}

func notFound(format string, args ...any) *httpx.AppError {
	return apiError(http.StatusNotFound, CodeNotFound, format, args...)
}

// internalError is a 500 whose cause is logged, never sent.
func internalError(cause error) *httpx.AppError {
	return apiError(http.StatusInternalServerError, CodeUnexpectedFailure, "Unexpected failure, please check server logs for more information").WithCause(cause)
}

// renderError writes GoTrue's error envelope, {"code": <status>, "error_code", "msg"}, so that
// a failed admin sign-in reads exactly like a failed /auth/v1/token; details, when present,
// ride beside them.
func renderError(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	body := map[string]any{"code": err.Status, "error_code": err.Code, "msg": err.Message}
	for k, v := range err.Details {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(err.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeJSON writes a success body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return httpx.WriteJSON(w, status, v)
}
