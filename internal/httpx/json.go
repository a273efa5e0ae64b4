package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON decodes the request body, which must be exactly one JSON value, into v. Unknown
// fields are accepted (clients spread option objects into bodies). Every failure is an
// *AppError: 415 when a body arrives without a JSON content type (application/json or
// application/*+json), 400 for an empty body, malformed JSON (with the byte offset), a value
// of the wrong type (with the field) or trailing data, and 413 when the body exceeds the
// http.MaxBytesReader limit the gateway installed. v must be a non-nil pointer.
func DecodeJSON(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return emptyBodyError()
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Content-Type must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// A second value, or garbage after the first, means the body is not one JSON document.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return AsAppError(err)
		}
		return &AppError{
			Status:  http.StatusBadRequest,
			Code:    CodeBadJSON,
			Message: "Request body must contain a single JSON value",
			Details: map[string]any{"offset": dec.InputOffset()},
			cause:   err,
		}
	}
	return nil
}

func emptyBodyError() *AppError {
	return NewError(http.StatusBadRequest, CodeBadJSON, "Request body is empty")
}

func isJSONContentType(header string) bool {
	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	return mediaType == "application/json" ||
		(strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"))
}

func decodeError(err error) error {
	var (
		syntaxErr  *json.SyntaxError
		typeErr    *json.UnmarshalTypeError
		invalidErr *json.InvalidUnmarshalError
		maxBytes   *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxBytes):
		return AsAppError(err)
	case errors.As(err, &invalidErr):
		// The caller passed a non-pointer: a programming error, so a 500.
		return fmt.Errorf("httpx: decode json: %w", err)
	case errors.As(err, &syntaxErr):
		return &AppError{
			Status:  http.StatusBadRequest,
			Code:    CodeBadJSON,
			Message: fmt.Sprintf("Request body contains malformed JSON at byte offset %d", syntaxErr.Offset),
			Details: map[string]any{"offset": syntaxErr.Offset},
			cause:   err,
		}
	case errors.As(err, &typeErr):
		details := map[string]any{"offset": typeErr.Offset}
		message := fmt.Sprintf("Request body has a %s where %s is expected at byte offset %d",
			typeErr.Value, typeErr.Type, typeErr.Offset)
		if typeErr.Field != "" {
			details["field"] = typeErr.Field
			message = fmt.Sprintf("Request body field %q has a %s where %s is expected",
				typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return &AppError{Status: http.StatusBadRequest, Code: CodeBadJSON, Message: message, Details: details, cause: err}
	case errors.Is(err, io.EOF):
		return emptyBodyError()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &AppError{Status: http.StatusBadRequest, Code: CodeBadJSON, Message: "Request body contains truncated JSON", cause: err}
	default:
		// Anything else came from reading the body (the client went away mid-request).
		return &AppError{Status: http.StatusBadRequest, Code: CodeBadJSON, Message: "Request body could not be read", cause: err}
	}
}

// WriteJSON writes v as the JSON response body with the given status and the Content-Type
// application/json; charset=utf-8. v is encoded before anything is sent, so an encoding
// failure returns an error while the response can still carry an error body.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("httpx: encode json response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("httpx: write json response: %w", err)
	}
	return nil
}
