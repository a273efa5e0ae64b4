package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
)

const (
	// maxFormFields and maxFormFieldBytes bound what a multipart upload may send besides
	// its file (Supabase allows 10 fields; user metadata up to 1 MiB).
	maxFormFields     = 10
	maxFormFieldBytes = 1 << 20
	defaultMimeType   = "application/octet-stream"
)

// noUserMetadata is what an upload without custom metadata stores, as Supabase's uploads do.
var noUserMetadata = json.RawMessage("{}")

// incoming is an upload's body and what the client said about it.
type incoming struct {
	body         io.Reader
	contentType  string
	cacheControl string
	userMetadata json.RawMessage
	declaredSize int64 // the body's length when it is known to be the file's, else -1
}

// readIncoming reads what supabase-js sends: either the raw bytes, described by the
// Content-Type, Cache-Control and x-metadata (base64 JSON) headers, or a multipart form whose
// fields (cacheControl, metadata, contentType) precede the file part, which supabase-js
// names "". The file itself is not read here.
func readIncoming(r *http.Request) (incoming, error) {
	contentType := r.Header.Get("Content-Type")
	if baseMediaType(contentType) == "multipart/form-data" {
		return readMultipart(r)
	}
	if contentType == "" {
		contentType = defaultMimeType
	}
	in := incoming{
		body:         r.Body,
		contentType:  contentType,
		cacheControl: cacheControlValue(r.Header.Get("Cache-Control")),
		declaredSize: r.ContentLength,
		userMetadata: noUserMetadata,
	}
	if encoded := r.Header.Get("x-metadata"); encoded != "" {
		md, err := decodeUserMetadata(encoded)
		if err != nil {
			return incoming{}, err
		}
		in.userMetadata = md
	}
	return in, nil
}

func decodeUserMetadata(encoded string) (json.RawMessage, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(encoded)
	}
	if err != nil || len(raw) > maxFormFieldBytes || !isJSONObject(raw) {
		return nil, errInvalidRequest("x-metadata must be a base64-encoded JSON object")
	}
	return raw, nil
}

func isJSONObject(raw []byte) bool {
	var v map[string]any
	return json.Unmarshal(raw, &v) == nil && v != nil
}

func readMultipart(r *http.Request) (incoming, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return incoming{}, errInvalidRequest("Malformed multipart body").WithCause(err)
	}
	fields := map[string]string{}
	for range maxFormFields + 1 {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return incoming{}, errInvalidRequest("No content provided")
		}
		if err != nil {
			return incoming{}, errInvalidRequest("Malformed multipart body").WithCause(err)
		}
		if part.FileName() != "" || part.FormName() == "" {
			return fileFromPart(part, fields)
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes+1))
		if err != nil {
			return incoming{}, errInvalidRequest("Malformed multipart body").WithCause(err)
		}
		if len(value) > maxFormFieldBytes {
			return incoming{}, errEntityTooLarge()
		}
		fields[part.FormName()] = string(value)
	}
	return incoming{}, errInvalidRequest("Too many form fields before the file")
}

func fileFromPart(part *multipart.Part, fields map[string]string) (incoming, error) {
	in := incoming{
		body:         part,
		contentType:  part.Header.Get("Content-Type"),
		cacheControl: cacheControlValue(fields["cacheControl"]),
		declaredSize: -1, // the request's length includes the form around the file
		userMetadata: noUserMetadata,
	}
	if ct := strings.TrimSpace(fields["contentType"]); ct != "" {
		in.contentType = ct
	}
	if in.contentType == "" {
		in.contentType = defaultMimeType
	}
	if md := fields["metadata"]; md != "" {
		if !isJSONObject([]byte(md)) {
			return incoming{}, errInvalidRequest("metadata must be a JSON object")
		}
		in.userMetadata = json.RawMessage(md)
	}
	return in, nil
}
