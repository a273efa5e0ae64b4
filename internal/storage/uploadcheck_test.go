package storage_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
)

// countingBackend counts the blobs the service starts to write.
type countingBackend struct {
	blob.Backend
	puts atomic.Int64
}

func (b *countingBackend) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (blob.Attrs, error) {
	b.puts.Add(1)
	return b.Backend.Put(ctx, key, r, opts)
}

// An upload learns the bucket's limits (as service_role: the caller may not see the bucket)
// and the caller's right to write (as the caller) in one transaction before reading the body;
// whatever that transaction refuses, not one byte reaches the backend.
func TestUploadsRefusedBeforeTheBodyNeverReachTheBackend(t *testing.T) {
	t.Parallel()
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var cb *countingBackend
			e := newEnvAround(t, kind, storage.Config{}, func(real blob.Backend) blob.Backend {
				cb = &countingBackend{Backend: real}
				return cb
			})
			e.createBucket(t, map[string]any{"name": "private", "file_size_limit": 10, "allowed_mime_types": []string{"text/plain"}})
			e.exec(t, supabaseDocsPolicies)
			a, b := uid(1), uid(2)
			tokenA := e.UserToken(t, a, nil)

			// The caller cannot read storage.buckets, yet its upload sees the limits.
			requireError(t, e.upload(t, tokenA, "private", a+"/big.txt", "text/plain", []byte("more than ten bytes"), nil), "413", "EntityTooLarge")
			requireError(t, e.upload(t, tokenA, "private", a+"/x.png", "image/png", []byte("png"), nil), "415", "InvalidMimeType")
			requireError(t, e.upload(t, tokenA, "missing", a+"/x.txt", "text/plain", []byte("x"), nil), "404", "NoSuchBucket")
			// Policies are checked as the caller, not as the service_role that read the bucket.
			requireError(t, e.upload(t, tokenA, "private", b+"/planted.txt", "text/plain", []byte("x"), nil), "403", "AccessDenied")
			requireError(t, e.upload(t, "", "private", "anon.txt", "text/plain", []byte("x"), nil), "403", "AccessDenied")
			requireError(t, e.upload(t, tokenA, "private", b+"/planted.txt", "text/plain", []byte("x"), http.Header{"X-Upsert": {"true"}}), "403", "AccessDenied")
			// Signing an upload URL runs the same check.
			requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/upload/sign/missing/" + a + "/x.txt",
				Token: tokenA, Body: map[string]any{}}), "404", "NoSuchBucket")
			requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/upload/sign/private/" + b + "/x.txt",
				Token: tokenA, Body: map[string]any{}}), "403", "AccessDenied")
			require.Zero(t, cb.puts.Load(), "a refused upload stores no byte")
			require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects`))

			resp := e.upload(t, tokenA, "private", a+"/ok.txt", "text/plain", []byte("ten bytes!"), nil)
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			resp = e.upload(t, tokenA, "private", a+"/ok.txt", "text/plain", []byte("new bytes!"), http.Header{"X-Upsert": {"true"}})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			require.Equal(t, int64(2), cb.puts.Load())
			require.Equal(t, []byte("new bytes!"), e.download(t, tokenA, "private", a+"/ok.txt").Body)
			require.Len(t, e.blobKeys(t), 1, "the replaced version's blob is gone")
		})
	}
}
