package storage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
)

// errDiskFull is what the failing backend's stream breaks with.
var errDiskFull = errors.New("injected: the backend failed mid-write")

// failingBackend is the real backend whose writes break once a blob passes limit bytes, as
// a disk filling up or an S3 connection dropping would: the real Put sees its source fail
// part way and must clean up after itself, which is what these tests check end to end.
type failingBackend struct {
	blob.Backend
	limit    int64
	failures atomic.Int64
}

func (b *failingBackend) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (blob.Attrs, error) {
	return b.Backend.Put(ctx, key, &breakingReader{r: r, left: b.limit, failures: &b.failures}, opts)
}

// breakingReader passes left bytes through and then fails with errDiskFull.
type breakingReader struct {
	r        io.Reader
	left     int64
	failures *atomic.Int64
}

func (br *breakingReader) Read(p []byte) (int, error) {
	if br.left <= 0 {
		br.failures.Add(1)
		return 0, errDiskFull
	}
	if int64(len(p)) > br.left {
		p = p[:br.left]
	}
	n, err := br.r.Read(p)
	br.left -= int64(n)
	return n, err
}

// Sizes for the failing uploads: the break comes after the first multipart part (5 MiB) has
// reached S3 and well into the local backend's temporary file, so both have something real to
// undo; an object below faultLimit is stored normally.
const (
	faultLimit      = 6 << 20
	faultUploadSize = 9 << 20
)

// eachBackendFailingAfter is eachBackend with the service's backend breaking mid-write.
func eachBackendFailingAfter(t *testing.T, limit int64, fn func(t *testing.T, e *env, fb *failingBackend)) {
	t.Helper()
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var fb *failingBackend
			e := newEnvAround(t, kind, storage.Config{}, func(real blob.Backend) blob.Backend {
				fb = &failingBackend{Backend: real, limit: limit}
				return fb
			})
			fn(t, e, fb)
		})
	}
}

// requireInternalError checks a server-side failure in Storage's shape: the 5xx status both
// on the wire and in the body, and nothing of the cause leaked to the client.
func requireInternalError(t *testing.T, resp servicetest.Response) {
	t.Helper()
	require.Equal(t, http.StatusInternalServerError, resp.Status, "body: %s", resp.Body)
	var got storageError
	resp.JSON(t, &got)
	require.Equal(t, "500", got.StatusCode)
	require.Equal(t, storage.CodeInternalError, got.Code)
	require.NotEmpty(t, got.Error)
	require.NotEmpty(t, got.Message)
	require.NotContains(t, string(resp.Body), "injected", "the cause stays in the log")
}

// requireNoLeftovers checks the backend holds exactly the blobs wanted and nothing half
// written: no temporary file on the local backend, no open multipart upload on S3.
func (e *env) requireNoLeftovers(t *testing.T, wantBlobs int) {
	t.Helper()
	require.Len(t, e.blobKeys(t), wantBlobs)
	if e.local != nil {
		temps, err := e.local.TempFiles()
		require.NoError(t, err)
		require.Empty(t, temps, "no temporary file")
	}
	if e.s3 != nil {
		endpoint, err := url.Parse(e.s3.Endpoint)
		require.NoError(t, err)
		client, err := minio.NewCore(endpoint.Host, &minio.Options{
			Creds:        credentials.NewStaticV4(e.s3.AccessKey, e.s3.SecretKey, ""),
			Region:       e.s3.Region,
			BucketLookup: minio.BucketLookupPath,
		})
		require.NoError(t, err)
		uploads, err := client.ListMultipartUploads(t.Context(), e.s3.Bucket, "", "", "", "", 1000)
		require.NoError(t, err)
		require.Empty(t, uploads.Uploads, "no multipart upload left open")
	}
}

func TestABackendFailureMidUploadIsA500AndLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	eachBackendFailingAfter(t, faultLimit, func(t *testing.T, e *env, fb *failingBackend) {
		e.createBucket(t, map[string]any{"name": "b"})

		resp := e.upload(t, e.ServiceRoleKey(), "b", "broken.bin", "application/octet-stream", patterned(faultUploadSize, 3), nil)
		requireInternalError(t, resp)
		require.Equal(t, int64(1), fb.failures.Load(), "the failure came from the backend")

		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects`), "no row")
		e.requireNoLeftovers(t, 0)
		requireError(t, e.download(t, e.ServiceRoleKey(), "b", "broken.bin"), "404", storage.CodeNoSuchKey)

		// The name is free, and an upload the backend can take succeeds.
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "b", "broken.bin", "text/plain", []byte("whole"), nil).Status)
		require.Equal(t, "whole", string(e.download(t, e.ServiceRoleKey(), "b", "broken.bin").Body))
	})
}

func TestABackendFailureMidOverwriteKeepsTheOldObject(t *testing.T) {
	t.Parallel()
	eachBackendFailingAfter(t, faultLimit, func(t *testing.T, e *env, fb *failingBackend) {
		e.createBucket(t, map[string]any{"name": "b"})
		old := patterned(300_000, 4)
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "b", "doc.bin", "application/octet-stream", old, nil).Status)
		oldInfo := e.info(t, "b", "doc.bin")

		upsert := http.Header{"X-Upsert": {"true"}}
		resp := e.upload(t, e.ServiceRoleKey(), "b", "doc.bin", "image/png", patterned(faultUploadSize, 5), upsert)
		requireInternalError(t, resp)
		require.Equal(t, int64(1), fb.failures.Load(), "the failure came from the backend")

		got := e.download(t, e.ServiceRoleKey(), "b", "doc.bin")
		require.Equal(t, http.StatusOK, got.Status)
		require.Equal(t, old, got.Body, "the old bytes are served")
		require.Equal(t, "application/octet-stream", got.Header.Get("Content-Type"))
		require.Equal(t, oldInfo, e.info(t, "b", "doc.bin"), "the row still describes the old version")
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects`))
		e.requireNoLeftovers(t, 1)
	})
}

// info is the object's row as the owner reads it: version and metadata.
func (e *env) info(t *testing.T, bucket, name string) string {
	t.Helper()
	var version, metadata string
	require.NoError(t, e.DB.Pool.QueryRow(t.Context(),
		`SELECT version, metadata::text FROM storage.objects WHERE bucket_id = $1 AND name = $2`, bucket, name).
		Scan(&version, &metadata))
	return version + " " + metadata
}
