package storage_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

func TestSizeLimits(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{FileSizeLimit: 64 << 10}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "small", "file_size_limit": 1000})
		e.createBucket(t, map[string]any{"name": "big", "file_size_limit": "1GB"})
		svc := e.ServiceRoleKey()

		require.Equal(t, http.StatusOK, e.upload(t, svc, "small", "ok.bin", "application/octet-stream", make([]byte, 1000), nil).Status)
		body := requireError(t, e.upload(t, svc, "small", "over.bin", "application/octet-stream", make([]byte, 1001), nil), "413", "EntityTooLarge")
		require.Equal(t, "The object exceeded the maximum allowed size", body.Message)
		// The global limit wins over a larger bucket limit.
		requireError(t, e.upload(t, svc, "big", "over.bin", "application/octet-stream", make([]byte, 64<<10+1), nil), "413", "EntityTooLarge")

		// Without a declared length (chunked) the body is cut off at the limit.
		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/small/chunked.bin", Token: svc,
			Body:   io.MultiReader(bytes.NewReader(make([]byte, 800)), bytes.NewReader(make([]byte, 800))),
			Header: http.Header{"Content-Type": {"application/octet-stream"}}})
		requireError(t, resp, "413", "EntityTooLarge")

		// Multipart bodies are measured by their file, not the form around it.
		form, contentType := multipartBody(t, "application/octet-stream", make([]byte, 1001), "")
		resp = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/small/form.bin", Token: svc,
			Body: form, Header: http.Header{"Content-Type": {contentType}}})
		requireError(t, resp, "413", "EntityTooLarge")
		form, contentType = multipartBody(t, "application/octet-stream", make([]byte, 900), "")
		resp = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/small/form.bin", Token: svc,
			Body: form, Header: http.Header{"Content-Type": {contentType}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

		require.Equal(t, 2, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Len(t, e.blobKeys(t), 2, "refused uploads left no bytes")
		if e.local != nil {
			temps, err := e.local.TempFiles()
			require.NoError(t, err)
			require.Empty(t, temps)
		}
	})
}

func TestAllowedMimeTypesCheckTheDeclaredAndTheSniffedType(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "images", "allowed_mime_types": []string{"image/*", "application/json"}})
		svc := e.ServiceRoleKey()
		png := pngBytes(t, 2, 2)

		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "ok.png", "image/png", png, nil).Status)

		body := requireError(t, e.upload(t, svc, "images", "doc.pdf", "application/pdf", []byte("%PDF-1.4"), nil), "415", "InvalidMimeType")
		require.Equal(t, "invalid_mime_type", body.Error)
		require.Equal(t, "mime type application/pdf is not supported", body.Message)

		// Declared as an image, but the bytes are an HTML page.
		page := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
		body = requireError(t, e.upload(t, svc, "images", "fake.png", "image/png", page, nil), "415", "InvalidMimeType")
		require.Equal(t, "mime type text/html is not supported", body.Message)

		// Sniffing cannot tell JSON from plain text: the declared type stands.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "data.json", "application/json", []byte(`{"a":1}`), nil).Status)
		// SVG sniffs as XML or text; declared as image/svg+xml it is accepted.
		svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>`)
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "icon.svg", "image/svg+xml", svg, nil).Status)
		// Studio's folder placeholder is exempt.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "folder/.emptyFolderPlaceholder", "application/octet-stream", nil, nil).Status)

		require.Equal(t, 4, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Len(t, e.blobKeys(t), 4)
	})
}
