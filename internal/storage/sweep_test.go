package storage_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
)

func TestRunReclaimsBlobsNoRowRefersTo(t *testing.T) {
	t.Parallel()
	cfg := storage.Config{SweepInterval: 20 * time.Millisecond, OrphanSweepInterval: 20 * time.Millisecond, OrphanGracePeriod: time.Millisecond}
	eachBackend(t, cfg, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "files"})
		svc := e.ServiceRoleKey()
		require.Equal(t, http.StatusOK, e.upload(t, svc, "files", "kept.txt", "text/plain", []byte("kept"), nil).Status)
		created := e.tusCreate(t, svc, 10, tusMetadata("bucketName", "files", "objectName", "pending.bin"), nil)
		require.Equal(t, http.StatusNoContent, e.tusPatch(t, svc, created.Header.Get("Location"), 0, []byte("12345")).Status)

		// What a crash between writing bytes and committing their row leaves behind.
		for _, key := range []string{"files/ghost.txt/0b1d2a9c-7f00-4c1e-9c55-000000000001", "[resumable]/0b1d2a9c-7f00-4c1e-9c55-000000000002/0-ab"} {
			_, err := e.backend.Put(t.Context(), key, strings.NewReader("orphan"), blob.PutOptions{})
			require.NoError(t, err)
		}
		// And what the service never writes: someone else's files sharing the backend.
		foreign := []string{"files/notes.txt", "elsewhere/report/0b1d2a9c-7f00-4c1e-9c55-000000000003", "backup.tar"}
		for _, key := range foreign {
			_, err := e.backend.Put(t.Context(), key, strings.NewReader("not ours"), blob.PutOptions{})
			require.NoError(t, err)
		}
		require.Len(t, e.blobKeys(t), 7)

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.service.Run(ctx) }()
		require.Eventually(t, func() bool { return len(e.blobKeys(t)) == 5 }, 10*time.Second, 20*time.Millisecond)
		cancel()
		require.NoError(t, <-done)

		keys := e.blobKeys(t)
		for _, key := range foreign {
			require.Contains(t, keys, key, "keys the service does not write are left alone")
		}
		require.True(t, slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "files/kept.txt/") }), "%v", keys)
		require.True(t, slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "[resumable]/") }), "the pending upload's part stays: %v", keys)
		require.Equal(t, []byte("kept"), e.download(t, svc, "files", "kept.txt").Body)
	})
}

// caseInsensitive presents the real backend as a case-insensitive, case-preserving file
// system (macOS's APFS, Windows' NTFS) does: a path segment keeps the spelling of whoever
// created it first, any spelling reaches it, and listing shows the first spelling. So the
// blob of "files/photo.txt" written after "files/Photo.txt" lives, and is listed, inside
// "files/Photo.txt/".
type caseInsensitive struct {
	blob.Backend
	mu       sync.Mutex
	spelling map[string]string // a lower-cased path prefix → how it was first spelled
}

func (c *caseInsensitive) onDisk(key string, create bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	segments := strings.Split(key, "/")
	for i := range segments {
		prefix := strings.ToLower(strings.Join(segments[:i+1], "/"))
		if first, ok := c.spelling[prefix]; ok {
			segments[i] = first
		} else if create {
			c.spelling[prefix] = segments[i]
		}
	}
	return strings.Join(segments, "/")
}

func (c *caseInsensitive) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (blob.Attrs, error) {
	return c.Backend.Put(ctx, c.onDisk(key, true), r, opts)
}

func (c *caseInsensitive) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, blob.Attrs, error) {
	return c.Backend.Open(ctx, c.onDisk(key, false), offset, length)
}

func (c *caseInsensitive) Stat(ctx context.Context, key string) (blob.Attrs, error) {
	return c.Backend.Stat(ctx, c.onDisk(key, false))
}

func (c *caseInsensitive) Delete(ctx context.Context, key string) error {
	return c.Backend.Delete(ctx, c.onDisk(key, false))
}

func (c *caseInsensitive) Copy(ctx context.Context, src, dst string) error {
	return c.Backend.Copy(ctx, c.onDisk(src, false), c.onDisk(dst, true))
}

func (c *caseInsensitive) List(ctx context.Context, prefix string, fn func(string, blob.Attrs) error) error {
	return c.Backend.(blob.Lister).List(ctx, prefix, fn)
}

func TestOrphanSweepNeverTakesALiveBlobOnACaseInsensitiveFileSystem(t *testing.T) {
	t.Parallel()
	cfg := storage.Config{SweepInterval: 20 * time.Millisecond, OrphanSweepInterval: 20 * time.Millisecond, OrphanGracePeriod: time.Millisecond}
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newEnvAround(t, kind, cfg, func(b blob.Backend) blob.Backend {
				return &caseInsensitive{Backend: b, spelling: map[string]string{}}
			})
			e.createBucket(t, map[string]any{"name": "files"})
			svc := e.ServiceRoleKey()
			for _, name := range []string{"Photo.txt", "photo.txt", "dir/A.txt", "DIR/b.txt"} {
				require.Equal(t, http.StatusOK, e.upload(t, svc, "files", name, "text/plain", []byte("bytes of "+name), nil).Status)
			}
			keys := e.blobKeys(t)
			require.Len(t, keys, 4)
			for _, key := range keys {
				require.False(t, strings.HasPrefix(key, "files/photo.txt/") || strings.HasPrefix(key, "files/DIR/"),
					"the store lists every blob under the first spelling: %v", keys)
			}
			// A real orphan, so the test knows when a sweep has run.
			ghost := "files/ghost.txt/0b1d2a9c-7f00-4c1e-9c55-000000000001"
			_, err := e.backend.Put(t.Context(), ghost, strings.NewReader("orphan"), blob.PutOptions{})
			require.NoError(t, err)

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- e.service.Run(ctx) }()
			require.Eventually(t, func() bool { return !slices.Contains(e.blobKeys(t), ghost) }, 10*time.Second, 20*time.Millisecond)
			cancel()
			require.NoError(t, <-done)

			require.Len(t, e.blobKeys(t), 4, "no live blob was swept")
			for _, name := range []string{"Photo.txt", "photo.txt", "dir/A.txt", "DIR/b.txt"} {
				got := e.download(t, svc, "files", name)
				require.Equal(t, http.StatusOK, got.Status, "%s: %s", name, got.Body)
				require.Equal(t, []byte("bytes of "+name), got.Body)
			}
		})
	}
}
