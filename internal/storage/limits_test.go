package storage_test

import (
	"bytes"
	"image"
	"image/jpeg"
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

func TestAllowedMimeTypesCheckTheDeclaredTypeAsSupabaseDoes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "images", "allowed_mime_types": []string{"image/*", "application/json"}})
		svc := e.ServiceRoleKey()

		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "ok.png", "image/png", pngBytes(t, 2, 2), nil).Status)
		body := requireError(t, e.upload(t, svc, "images", "doc.pdf", "application/pdf", []byte("%PDF-1.4"), nil), "415", "InvalidMimeType")
		require.Equal(t, "invalid_mime_type", body.Error)
		require.Equal(t, "mime type application/pdf is not supported", body.Message)

		// Without verify_content the bytes are not looked at: a JPEG declared as a PNG (which
		// storage-js's own tests upload) and even an HTML page declared as one are stored.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "photo.png", "image/png", jpegBytes(t), nil).Status)
		require.Equal(t, http.StatusOK, e.upload(t, svc, "images", "page.png", "image/png", htmlPage(200), nil).Status)
		require.Equal(t, 3, e.count(t, `SELECT count(*) FROM storage.objects`))
	})
}

func TestVerifyContentAlsoChecksWhatTheBytesLookLike(t *testing.T) {
	t.Parallel()
	// sniffing is what verify_content adds: an HTML page declared as an image is refused,
	// while formats that sniffing cannot tell apart keep their declared type.
	sniffing := func(t *testing.T, e *env, bucket string) {
		t.Helper()
		svc := e.ServiceRoleKey()
		require.Equal(t, http.StatusOK, e.upload(t, svc, bucket, "ok.png", "image/png", pngBytes(t, 2, 2), nil).Status)
		page := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
		body := requireError(t, e.upload(t, svc, bucket, "fake.png", "image/png", page, nil), "415", "InvalidMimeType")
		require.Equal(t, "mime type text/html is not supported", body.Message)
		// Sniffing cannot tell JSON from plain text: the declared type stands.
		require.Equal(t, http.StatusOK, e.upload(t, svc, bucket, "data.json", "application/json", []byte(`{"a":1}`), nil).Status)
		// SVG sniffs as XML or text; declared as image/svg+xml it is accepted.
		svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>`)
		require.Equal(t, http.StatusOK, e.upload(t, svc, bucket, "icon.svg", "image/svg+xml", svg, nil).Status)
		// Studio's folder placeholder is exempt.
		require.Equal(t, http.StatusOK, e.upload(t, svc, bucket, "folder/.emptyFolderPlaceholder", "application/octet-stream", nil, nil).Status)
		require.Equal(t, 4, e.count(t, `SELECT count(*) FROM storage.objects WHERE bucket_id = $1`, bucket))
	}
	types := []string{"image/*", "application/json"}

	t.Run("set for the server", func(t *testing.T) {
		t.Parallel()
		eachBackend(t, storage.Config{VerifyContent: true}, func(t *testing.T, e *env) {
			e.createBucket(t, map[string]any{"name": "images", "allowed_mime_types": types})
			sniffing(t, e, "images")
			require.Len(t, e.blobKeys(t), 4, "refused uploads left no bytes")

			// A bucket can opt out of the server's setting.
			e.createBucket(t, map[string]any{"name": "lenient", "allowed_mime_types": types, "verify_content": false})
			require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "lenient", "page.png", "image/png", htmlPage(200), nil).Status)
		})
	})

	t.Run("set for a bucket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "local", storage.Config{})
		e.createBucket(t, map[string]any{"name": "strict", "allowed_mime_types": types, "verify_content": true})
		sniffing(t, e, "strict")
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.buckets WHERE id = 'strict' AND verify_content`))

		// Turned on later with PUT /bucket (or SQL), and back to the server's choice with null.
		e.createBucket(t, map[string]any{"name": "later", "allowed_mime_types": types})
		svc := e.ServiceRoleKey()
		require.Equal(t, http.StatusOK, e.upload(t, svc, "later", "a.png", "image/png", htmlPage(200), nil).Status)
		resp := e.asService(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/bucket/later", Body: map[string]any{"verify_content": true}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		requireError(t, e.upload(t, svc, "later", "b.png", "image/png", htmlPage(200), nil), "415", "InvalidMimeType")
		resp = e.asService(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/bucket/later", Body: map[string]any{"verify_content": nil}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, http.StatusOK, e.upload(t, svc, "later", "c.png", "image/png", htmlPage(200), nil).Status)
		e.exec(t, `UPDATE storage.buckets SET verify_content = true WHERE id = 'later'`)
		requireError(t, e.upload(t, svc, "later", "d.png", "image/png", htmlPage(200), nil), "415", "InvalidMimeType")

		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/bucket/later",
			Body: map[string]any{"verify_content": "yes"}}), "400", "InvalidRequest")
		// The column is Go Forward's: the bucket JSON stays Supabase's.
		require.NotContains(t, string(e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/later"}).Body), "verify_content")
	})
}

// jpegBytes is a small JPEG image.
func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(pngBytes(t, 8, 8)))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, nil))
	return buf.Bytes()
}
