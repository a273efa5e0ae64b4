package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

// PostgREST's own error codes (PGRST1xx request errors, PGRST2xx schema cache errors,
// PGRST3xx JWT errors), sent in the code field so clients can branch on them.
const (
	CodeNoSchemaCache         = "PGRST002"
	CodeBadQueryParam         = "PGRST100"
	CodeBadRPCMethod          = "PGRST101"
	CodeBadBody               = "PGRST102"
	CodeBadRange              = "PGRST103"
	CodeBadPutFilters         = "PGRST105"
	CodeBadSchema             = "PGRST106"
	CodeBadMediaType          = "PGRST107"
	CodeNotEmbedded           = "PGRST108"
	CodeBadResponseHeaders    = "PGRST111"
	CodeBadResponseStatus     = "PGRST112"
	CodePutLimit              = "PGRST114"
	CodePutPrimaryKey         = "PGRST115"
	CodeSingularity           = "PGRST116"
	CodeUnsupportedMethod     = "PGRST117"
	CodeRelatedOrder          = "PGRST118"
	CodeBadEmbedFilter        = "PGRST120"
	CodeBadPreferences        = "PGRST122"
	CodeAggregatesDisabled    = "PGRST123"
	CodeMaxAffected           = "PGRST124"
	CodeBadPath               = "PGRST125"
	CodeNotImplemented        = "PGRST127"
	CodeMaxAffectedRPC        = "PGRST128"
	CodeNoRelationship        = "PGRST200"
	CodeAmbiguousEmbed        = "PGRST201"
	CodeNoFunction            = "PGRST202"
	CodeAmbiguousFunction     = "PGRST203"
	CodeColumnNotFound        = "PGRST204"
	CodeTableNotFound         = "PGRST205"
	CodeJWTInvalid            = "PGRST301"
	CodeJWTClaims             = "PGRST303"
	codeUndefinedColumn       = "42703"
	codeSafeUpdate            = "21000"
	codeInsufficientPrivilege = "42501"
)

// apiError builds PostgREST's error: details and hint are strings, JSON values or nil.
func apiError(status int, code, message string, details, hint any) *httpx.AppError {
	e := httpx.NewError(status, code, message)
	e.Details = map[string]any{"details": details, "hint": hint}
	return e
}

func queryParamError(message, details string) *httpx.AppError {
	return apiError(http.StatusBadRequest, CodeBadQueryParam, message, details, nil)
}

func columnNotFound(table, column string) *httpx.AppError {
	return apiError(http.StatusBadRequest, codeUndefinedColumn,
		fmt.Sprintf("column %s.%s does not exist", table, column), nil, nil)
}

func columnNotInCache(table, column string) *httpx.AppError {
	return apiError(http.StatusBadRequest, CodeColumnNotFound,
		fmt.Sprintf("Could not find the '%s' column of '%s' in the schema cache", column, table), nil, nil)
}

// errorBody is PostgREST's error JSON, fields in its order.
type errorBody struct {
	Code    string `json:"code"`
	Details any    `json:"details"`
	Hint    any    `json:"hint"`
	Message string `json:"message"`
}

// renderError is the REST service's one place that writes errors.
func renderError(w http.ResponseWriter, _ *http.Request, e *httpx.AppError) {
	if e.Code == httpx.CodeUnavailable {
		// The database went away under a statement: PostgREST's connection error.
		e = apiError(e.Status, "PGRST000", "Database connection error. Retrying the connection.", nil, nil)
	}
	body := errorBody{Code: e.Code, Message: e.Message, Details: e.Details["details"], Hint: e.Details["hint"]}
	if _, ours := e.Details["details"]; !ours && e.Status < 500 && len(e.Details) > 0 {
		// An httpx error (body too large, bad JSON) carries its facts as a map.
		if encoded, err := json.Marshal(e.Details); err == nil {
			body.Details = string(encoded)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Proxy-Status", "PostgREST; error="+e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// databaseError turns an error from running a statement into PostgREST's response: the
// PostgreSQL error's own code, message, detail and hint with PostgREST's status mapping, or a
// 503 when the database could not be reached. authed tells 42501 apart: 403 for a caller with a
// non-anon role, 401 for anon.
func databaseError(err error, authed bool) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		var details, hint any
		if pgErr.Detail != "" {
			details = pgErr.Detail
		}
		if pgErr.Hint != "" {
			hint = pgErr.Hint
		}
		e := apiError(sqlStateStatus(pgErr.Code, pgErr.Message, authed), pgErr.Code, pgErr.Message, details, hint).WithCause(err)
		if e.Status == http.StatusUnauthorized {
			e.Header = http.Header{"Www-Authenticate": {"Bearer"}}
		}
		return e
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.SafeToRetry(err) {
		return apiError(http.StatusServiceUnavailable, "PGRST000", "Database connection error. Retrying the connection.", nil, nil).WithCause(err)
	}
	return err
}

// sqlStateStatus is PostgREST's SQLSTATE → HTTP status table.
func sqlStateStatus(code, message string, authed bool) int {
	switch code {
	case "23503", "23505":
		return http.StatusConflict
	case "25006":
		return http.StatusMethodNotAllowed
	case "21000":
		if strings.HasSuffix(message, "requires a WHERE clause") {
			return http.StatusBadRequest
		}
		return http.StatusInternalServerError
	case "22023":
		if strings.HasPrefix(message, "role") && strings.HasSuffix(message, "does not exist") {
			return http.StatusUnauthorized
		}
		return http.StatusBadRequest
	case "53400":
		return http.StatusInternalServerError
	case "57P01":
		return http.StatusServiceUnavailable
	case "P0001":
		return http.StatusBadRequest
	case "42883", "42P01":
		return http.StatusNotFound
	case "42P17":
		return http.StatusInternalServerError
	case codeInsufficientPrivilege:
		if authed {
			return http.StatusForbidden
		}
		return http.StatusUnauthorized
	}
	if strings.HasPrefix(code, "PT") && len(code) == 5 {
		var status int
		if _, err := fmt.Sscanf(code[2:], "%d", &status); err == nil && status >= 100 && status <= 599 {
			return status
		}
		return http.StatusInternalServerError
	}
	if len(code) >= 2 {
		switch code[:2] {
		case "08", "53":
			return http.StatusServiceUnavailable
		case "09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX":
			return http.StatusInternalServerError
		case "0L", "0P", "28":
			return http.StatusForbidden
		}
	}
	return http.StatusBadRequest
}

// jwtError renders a Bearer token the gateway could not verify the way PostgREST does.
func jwtError(err error) *httpx.AppError {
	var e *httpx.AppError
	if errors.Is(err, security.ErrTokenExpired) {
		e = apiError(http.StatusUnauthorized, CodeJWTClaims, "JWT expired", nil, nil)
		e.Header = http.Header{"Www-Authenticate": {`Bearer error="invalid_token", error_description="JWT expired"`}}
	} else {
		e = apiError(http.StatusUnauthorized, CodeJWTInvalid, "JWT cryptographic operation failed", nil, nil)
		e.Header = http.Header{"Www-Authenticate": {`Bearer error="invalid_token", error_description="JWT cryptographic operation failed"`}}
	}
	return e.WithCause(err)
}
