package storage_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
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
