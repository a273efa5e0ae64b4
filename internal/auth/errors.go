package auth

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/goforward/goforward/internal/httpx"
)

// apiVersionHeader is how supabase-js asks for the 2024-01-01 error format.
const apiVersionHeader = "X-Supabase-Api-Version"

// apiVersion20240101 is the first (and so far only) dated API version.
var apiVersion20240101 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// weakPasswordKey holds the reasons of a weak_password error in AppError.Details.
const weakPasswordKey = "weak_password_reasons"

// Messages used by more than one handler, worded as GoTrue words them.
const (
	msgInvalidCredentials = "Invalid login credentials"
	msgRateLimited        = "Request rate limit reached"
	msgOTPInvalid         = "Token has expired or is invalid"
	msgEmailLinkInvalid   = "Email link is invalid or has expired"
	msgInternal           = "Unexpected failure, please check server logs for more information"
	msgUserExists         = "User already registered"
	msgEmailExists        = "A user with this email address has already been registered"
	msgPhoneExists        = "A user with this phone number has already been registered"
	msgSignupDisabled     = "Signups not allowed for this instance"
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

func unprocessable(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusUnprocessableEntity, code, format, args...)
}

func forbidden(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusForbidden, code, format, args...)
}

func notFound(code, format string, args ...any) *httpx.AppError {
	return apiError(http.StatusNotFound, code, format, args...)
}

// internalError is a 500 whose cause is logged, never sent.
func internalError(msg string, cause error) *httpx.AppError {
	return apiError(http.StatusInternalServerError, CodeUnexpectedFailure, "%s", msg).WithCause(cause)
}

// tooManyRequests is a 429 telling the client when to come back.
func tooManyRequests(code, msg string, retryAfter time.Duration) *httpx.AppError {
	e := apiError(http.StatusTooManyRequests, code, "%s", msg)
	e.Header = http.Header{"Retry-After": {strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second)))}}
	return e
}

// weakPasswordError carries the failed rules, which supabase-js turns into
// AuthWeakPasswordError.reasons.
func weakPasswordError(msg string, reasons []string) *httpx.AppError {
	e := unprocessable(CodeWeakPassword, "%s", msg)
	e.Details = map[string]any{weakPasswordKey: reasons}
	return e
}

// renderError is the auth service's one error writer. Clients sending
// X-Supabase-Api-Version: 2024-01-01 (supabase-js always does) get {"code","message"} and the
// header echoed; others get GoTrue's legacy {"code":<status>,"error_code","msg"}. Both carry
// x-sb-error-code.
func renderError(w http.ResponseWriter, r *http.Request, e *httpx.AppError) {
	if oauthCode, ok := e.Details[oauthErrorKey].(string); ok {
		renderOAuthError(w, r, oauthCode, e.Message)
		return
	}
	code, msg := e.Code, e.Message
	switch {
	case e.Status >= http.StatusInternalServerError && (code == httpx.CodeInternal || code == ""):
		code, msg = CodeUnexpectedFailure, msgInternal
	case code == httpx.CodePayloadTooLarge:
		code = CodePayloadTooLarge
	case code == httpx.CodeClientClosedRequest:
		code = CodeRequestTimeout
	case code == "":
		code = CodeUnknown
	}
	w.Header().Set("x-sb-error-code", code)

	var weak map[string]any
	if reasons, ok := e.Details[weakPasswordKey]; ok {
		weak = map[string]any{"reasons": reasons, "message": msg}
	}
	var body map[string]any
	if wantsDatedErrors(r) {
		w.Header().Set(apiVersionHeader, "2024-01-01")
		body = map[string]any{"code": code, "message": msg}
	} else {
		body = map[string]any{"code": e.Status, "error_code": code, "msg": msg}
		if e.Status >= http.StatusInternalServerError {
			body["error_id"] = httpx.RequestID(r.Context())
		}
	}
	if weak != nil {
		body["weak_password"] = weak
	}
	if err := httpx.WriteJSON(w, e.Status, body); err != nil {
		httpx.Logger(r.Context()).DebugContext(r.Context(), "writing auth error failed", "error", err)
	}
}

// wantsDatedErrors reports whether the request names API version 2024-01-01 or later.
func wantsDatedErrors(r *http.Request) bool {
	v := r.Header.Get(apiVersionHeader)
	if v == "" {
		return false
	}
	t, err := time.Parse(time.DateOnly, v)
	return err == nil && !t.Before(apiVersion20240101)
}
