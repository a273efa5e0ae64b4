package storage

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/httpx"
)

// Error codes of Supabase Storage (its ErrorCode enum): the "code" of every error body.
// storage-js surfaces them, and applications branch on them.
const (
	CodeNoSuchBucket          = "NoSuchBucket"
	CodeNoSuchKey             = "NoSuchKey"
	CodeNoSuchUpload          = "NoSuchUpload"
	CodeInvalidJWT            = "InvalidJWT"
	CodeInvalidRequest        = "InvalidRequest"
	CodeEntityTooLarge        = "EntityTooLarge"
	CodeInternalError         = "InternalError"
	CodeResourceAlreadyExists = "ResourceAlreadyExists"
	CodeResourceNotEmpty      = "ResourceNotEmpty"
	CodeInvalidBucketName     = "InvalidBucketName"
	CodeInvalidKey            = "InvalidKey"
	CodeInvalidMimeType       = "InvalidMimeType"
	CodeKeyAlreadyExists      = "KeyAlreadyExists"
	CodeBucketAlreadyExists   = "BucketAlreadyExists"
	CodeInvalidSignature      = "InvalidSignature"
	CodeExpiredToken          = "ExpiredToken"
	CodeAccessDenied          = "AccessDenied"
	CodeMissingParameter      = "MissingParameter"
	CodeInvalidParameter      = "InvalidParameter"
	CodeInvalidUploadID       = "InvalidUploadId"
	CodeFeatureNotEnabled     = "FeatureNotEnabled"
	CodeAborted               = "Aborted"
	CodeDatabaseTimeout       = "DatabaseTimeout"
	CodeDatabaseError         = "DatabaseError"
	// CodeInsufficientStorage is Go Forward's: the local backend's disk (or quota) is full.
	CodeInsufficientStorage = "InsufficientStorage"
)

// detailError is the Details key holding the body's "error" field (a short name that
// Supabase keeps for older clients, such as "not_found" or "Duplicate").
const detailError = "error"

// storageError builds an error as Supabase Storage reports it: status is the status it means
// (the body's statusCode); the HTTP status is decided by renderError.
func storageError(status int, code, name, message string) *httpx.AppError {
	e := httpx.NewError(status, code, message)
	if name != "" {
		e.Details = map[string]any{detailError: name}
	}
	return e
}

func errNoSuchBucket() *httpx.AppError {
	return storageError(http.StatusNotFound, CodeNoSuchBucket, "Bucket not found", "Bucket not found")
}

func errNoSuchKey() *httpx.AppError {
	return storageError(http.StatusNotFound, CodeNoSuchKey, "not_found", "Object not found")
}

func errNoSuchUpload() *httpx.AppError {
	return storageError(http.StatusNotFound, CodeNoSuchUpload, "", "Upload not found")
}

func errAccessDenied(message string) *httpx.AppError {
	if message == "" {
		message = "Access denied"
	}
	return storageError(http.StatusForbidden, CodeAccessDenied, "Unauthorized", message)
}

// errRowLevelSecurity is what a policy's refusal looks like, as Supabase words it.
func errRowLevelSecurity() *httpx.AppError {
	return errAccessDenied("new row violates row-level security policy")
}

func errKeyAlreadyExists() *httpx.AppError {
	return storageError(http.StatusConflict, CodeKeyAlreadyExists, "Duplicate", "The resource already exists")
}

func errBucketAlreadyExists() *httpx.AppError {
	return storageError(http.StatusConflict, CodeBucketAlreadyExists, "Duplicate", "The resource already exists")
}

func errBucketNotEmpty() *httpx.AppError {
	return storageError(http.StatusConflict, CodeResourceNotEmpty, "", "The bucket you tried to delete is not empty")
}

func errEntityTooLarge() *httpx.AppError {
	return storageError(http.StatusRequestEntityTooLarge, CodeEntityTooLarge, "Payload too large", "The object exceeded the maximum allowed size")
}

func errInvalidMimeType(mimeType string) *httpx.AppError {
	return storageError(http.StatusUnsupportedMediaType, CodeInvalidMimeType, "invalid_mime_type",
		fmt.Sprintf("mime type %s is not supported", mimeType))
}

func errInvalidKey(key string) *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeInvalidKey, "", "Invalid key: "+key)
}

func errInvalidBucketName() *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeInvalidBucketName, "Invalid Input", "Bucket name invalid")
}

func errInvalidRequest(message string) *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeInvalidRequest, "", message)
}

func errMissingParameter(name string) *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeMissingParameter, "", "Missing Required Parameter "+name)
}

func errInvalidParameter(name, message string) *httpx.AppError {
	if message == "" {
		message = "Invalid Parameter " + name
	}
	return storageError(http.StatusBadRequest, CodeInvalidParameter, "", message)
}

func errInvalidSignature(message string) *httpx.AppError {
	if message == "" {
		message = "Invalid signature"
	}
	return storageError(http.StatusBadRequest, CodeInvalidSignature, "", message)
}

func errExpiredToken() *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeExpiredToken, "", "The provided token has expired.")
}

// errInsufficientStorage is a 507: the bytes could not be stored for lack of space; nothing of
// them was kept.
func errInsufficientStorage() *httpx.AppError {
	return storageError(http.StatusInsufficientStorage, CodeInsufficientStorage, "Insufficient Storage",
		"The storage backend is out of space; nothing was stored")
}

func errFeatureNotEnabled(feature string) *httpx.AppError {
	return storageError(http.StatusBadRequest, CodeFeatureNotEnabled, "", "The feature "+feature+" is not enabled")
}

// renderError is the storage service's one error writer. As Supabase Storage does, it
// answers HTTP 400 for every client error, whatever status the error means, and puts the
// meant status in the body as a string ({"statusCode":"404",...}); server errors keep their
// status. storage-js reads both: error.status is the HTTP status, error.statusCode the body's.
func renderError(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	status, code, name := err.Status, err.Code, ""
	if v, ok := err.Details[detailError].(string); ok {
		name = v
	}
	switch code {
	// Errors raised by httpx itself: name them in Storage's vocabulary.
	case httpx.CodeBadJSON, httpx.CodeUnsupportedMediaType:
		code = CodeInvalidRequest
	case httpx.CodePayloadTooLarge:
		code, name = CodeEntityTooLarge, "Payload too large"
	case httpx.CodeClientClosedRequest:
		code = CodeAborted
	case httpx.CodeRequestTimeout:
		code = CodeDatabaseTimeout
	case httpx.CodeInternal:
		code = CodeInternalError
	case httpx.CodeUnavailable:
		code, name = CodeDatabaseError, "Database unavailable"
	}
	if name == "" {
		name = code
	}
	httpStatus := http.StatusBadRequest
	if status >= http.StatusInternalServerError {
		httpStatus = status
	}
	_ = httpx.WriteJSON(w, httpStatus, errorBody{
		StatusCode: strconv.Itoa(status),
		Code:       code,
		Error:      name,
		Message:    err.Message,
	})
}

// routeNotFound answers a request that no route of the API takes, as Supabase Storage's
// not-found handler does: the real HTTP 404 (the one client error it does not send as 400)
// in its envelope, naming the route as the server behind Supabase's gateway sees it.
func routeNotFound(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), Prefix)
	_ = httpx.WriteJSON(w, http.StatusNotFound, errorBody{
		StatusCode: "404",
		Code:       CodeInvalidRequest,
		Error:      "Not Found",
		Message:    "Route " + r.Method + ":" + path + " not found",
	})
}

// errorBody is Supabase Storage's error envelope.
type errorBody struct {
	StatusCode string `json:"statusCode"`
	Code       string `json:"code"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// renderTUSError writes errors of the resumable-upload protocol: TUS clients act on the real
// HTTP status (409 resync, 404/410 restart), so it is sent as is, with the message as a
// plain-text body as Supabase's TUS server does.
func renderTUSError(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	status := err.Status
	if status == httpx.StatusClientClosedRequest || status < 400 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Tus-Resumable", tusVersion)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(err.Message))
}

// PostgreSQL error codes the service turns into Storage errors.
const (
	pgInsufficientPrivilege = "42501"
	pgUniqueViolation       = "23505"
	pgForeignKeyViolation   = "23503"
	pgQueryCanceled         = "57014"
)

// pgCode returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// dbError maps the database errors every operation can meet: a policy's refusal is 403
// AccessDenied in Supabase's words, a statement timeout 544 DatabaseTimeout as Supabase
// reports it; anything else stays an internal error with its cause logged.
func dbError(err error) error {
	var appErr *httpx.AppError
	if errors.As(err, &appErr) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgInsufficientPrivilege:
			if strings.Contains(pgErr.Message, "row-level security") {
				return errRowLevelSecurity().WithCause(err)
			}
			return errAccessDenied(pgErr.Message).WithCause(err)
		case pgQueryCanceled:
			return storageError(544, CodeDatabaseTimeout, "", "The connection to the database timed out").WithCause(err)
		}
	}
	return err
}
