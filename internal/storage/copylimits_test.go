package storage_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
)

// htmlPage is an HTML page of n bytes.
func htmlPage(n int) []byte {
	page := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script>")
	return append(page, bytes.Repeat([]byte(" "), n-len(page))...)
}

func TestCopyAndMoveMeetTheDestinationBucketsLimits(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{FileSizeLimit: 8000}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "open"})
		e.createBucket(t, map[string]any{"name": "pngs", "file_size_limit": "1KB", "allowed_mime_types": []string{"image/png"}})
		e.createBucket(t, map[string]any{"name": "strict", "allowed_mime_types": []string{"image/png"}, "verify_content": true})
		svc := e.ServiceRoleKey()
		transfer := func(op, source, bucket, dest string) servicetest.Response {
			return e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/" + op,
				Body: map[string]any{"bucketId": "open", "sourceKey": source, "destinationBucket": bucket, "destinationKey": dest}})
		}
		// refusedLikeAnUpload checks that copying and moving source into bucket is refused
		// with exactly the error a direct upload of its bytes gets.
		refusedLikeAnUpload := func(source, contentType string, data []byte, bucket, statusCode, code string) {
			t.Helper()
			require.Equal(t, http.StatusOK, e.upload(t, svc, "open", source, contentType, data, nil).Status)
			direct := requireError(t, e.upload(t, svc, bucket, "direct.png", contentType, data, nil), statusCode, code)
			for _, op := range []string{"copy", "move"} {
				got := requireError(t, transfer(op, source, bucket, op+".png"), statusCode, code)
				require.Equal(t, direct, got, "%s of %s", op, source)
			}
			require.Equal(t, data, e.download(t, svc, "open", source).Body, "the source is untouched")
		}

		// 5 KB of text/html into a 1 KB image/png bucket: too large, as an upload is.
		refusedLikeAnUpload("page.html", "text/html", htmlPage(5000), "pngs", "413", "EntityTooLarge")
		// Small enough, but of a type the bucket does not take.
		refusedLikeAnUpload("small.html", "text/html", htmlPage(500), "pngs", "415", "InvalidMimeType")
		// Declared image/png in the open bucket (which checks nothing), but an HTML page: a
		// destination with verify_content sniffs the bytes as an upload would.
		refusedLikeAnUpload("fake.png", "image/png", htmlPage(500), "strict", "415", "InvalidMimeType")
		// One without takes it, as it takes the upload: the declared type is what it checks.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "pngs", "direct-fake.png", "image/png", htmlPage(500), nil).Status)
		require.Equal(t, http.StatusOK, transfer("copy", "fake.png", "pngs", "copied-fake.png").Status)
		resp := e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/pngs",
			Body: map[string]any{"prefixes": []string{"direct-fake.png", "copied-fake.png"}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

		// The global limit holds for a copy too, even into a bucket without limits: an object
		// stored before the limit was lowered cannot be copied.
		version := "0b1d2a9c-7f00-4c1e-9c55-00000000000a"
		_, err := e.backend.Put(t.Context(), "open/old.bin/"+version, bytes.NewReader(make([]byte, 9000)), blob.PutOptions{})
		require.NoError(t, err)
		e.exec(t, `INSERT INTO storage.objects (bucket_id, name, version, metadata) VALUES ('open', 'old.bin', $1, '{"size": 10, "mimetype": "application/octet-stream"}')`, version)
		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy",
			Body: map[string]any{"bucketId": "open", "sourceKey": "old.bin", "destinationKey": "copy.bin"}}), "413", "EntityTooLarge")

		// What the bucket does take still goes through.
		png := pngBytes(t, 4, 4)
		require.Equal(t, http.StatusOK, e.upload(t, svc, "open", "real.png", "image/png", png, nil).Status)
		require.Equal(t, http.StatusOK, transfer("copy", "real.png", "pngs", "copied.png").Status)
		require.Equal(t, http.StatusOK, transfer("move", "real.png", "pngs", "moved.png").Status)
		require.Equal(t, png, e.download(t, svc, "pngs", "copied.png").Body)
		require.Equal(t, png, e.download(t, svc, "pngs", "moved.png").Body)

		require.Equal(t, 2, e.count(t, `SELECT count(*) FROM storage.objects WHERE bucket_id = 'pngs'`))
		var pngBlobs int
		for _, key := range e.blobKeys(t) {
			if strings.HasPrefix(key, "pngs/") {
				pngBlobs++
			}
		}
		require.Equal(t, 2, pngBlobs, "refused copies and moves left no bytes behind")
	})
}
