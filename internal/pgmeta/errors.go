package pgmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/httpx"
)

// Error codes, kept for logs and metrics; the body is postgres-meta's {"error": message}.
const (
	codeNoAuthorization        = "no_authorization"
	codeSessionExpired         = "session_expired"
	codeNotAdmin               = "not_admin"
	codeCSRF                   = "csrf_failed"
	codeInsufficientCapability = "insufficient_capability"
	codeBadRequest             = "bad_request"
	codeNotFound               = "not_found"
	codeDatabase               = "database_error"
	codeInternal               = "internal_error"
)

func apiError(status int, code, format string, args ...any) *httpx.AppError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return httpx.NewError(status, code, msg)
}

func badRequest(format string, args ...any) *httpx.AppError {
	return apiError(http.StatusBadRequest, codeBadRequest, format, args...)
}

// notFound is postgres-meta's answer for an unknown id: "Cannot find a table with ID 5".
func notFound(format string, args ...any) *httpx.AppError {
	return apiError(http.StatusNotFound, codeNotFound, format, args...)
}

// dbError turns a failed change into postgres-meta's 400 carrying PostgreSQL's own message,
// which is what a person fixing the request needs ("column \"x\" does not exist"). Anything
// that is not a PostgreSQL error (a lost connection, a timeout) stays a 500 without detail.
func dbError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e := apiError(http.StatusBadRequest, codeDatabase, "%s", pgErr.Message).WithCause(err)
		e.Details = map[string]any{"code": pgErr.Code}
		return e
	}
	return err
}

// renderError writes postgres-meta's error body, {"error": "<message>"}; a database error also
// carries its SQLSTATE in "code", as postgres-meta's /query errors do.
func renderError(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	body := map[string]any{"error": err.Message}
	if err.Status == http.StatusInternalServerError {
		body["error"] = "Internal server error"
	}
	for k, v := range err.Details {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(err.Status)
	_ = json.NewEncoder(w).Encode(body)
}
