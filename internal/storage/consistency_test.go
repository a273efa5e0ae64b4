package storage_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage"
)

func TestAClientThatDisconnectsMidUploadLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "b"})
		body, feed := io.Pipe()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/storage/v1/object/b/partial.bin", body)
		require.NoError(t, err)
		req.ContentLength = 8 << 20
		req.Header.Set("apikey", e.ServiceRoleKey())
		req.Header.Set("Authorization", "Bearer "+e.ServiceRoleKey())
		req.Header.Set("Content-Type", "application/octet-stream")
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()

		// Send 3 MiB of the announced 8, make sure the server is storing them, and vanish.
		_, err = feed.Write(patterned(3<<20, 1))
		require.NoError(t, err)
		if e.local != nil {
			require.Eventually(t, func() bool {
				temps, err := e.local.TempFiles()
				return err == nil && len(temps) == 1
			}, 10*time.Second, 10*time.Millisecond, "the upload is being written")
		}
		cancel()
		feed.CloseWithError(io.ErrUnexpectedEOF)
		require.Error(t, <-done)

		require.Eventually(t, func() bool {
			if len(e.blobKeys(t)) != 0 || e.count(t, `SELECT count(*) FROM storage.objects`) != 0 {
				return false
			}
			if e.local == nil {
				return true
			}
			temps, err := e.local.TempFiles()
			return err == nil && len(temps) == 0
		}, 10*time.Second, 20*time.Millisecond, "no row, no blob, no temporary file")

		// The name is free for the next attempt.
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "b", "partial.bin", "application/octet-stream", []byte("whole"), nil).Status)
	})
}

func TestConcurrentUploadsToOneKeyLeaveExactlyOneWholeUpload(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "race"})
		const writers = 6
		uploads := make([][]byte, writers)
		for i := range uploads {
			uploads[i] = patterned(200_000+i*1000, byte(i+1))
		}
		race := func(name string, upsert bool) []int {
			statuses := make([]int, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					h := http.Header{}
					if upsert {
						h.Set("X-Upsert", "true")
					}
					statuses[i] = e.upload(t, e.ServiceRoleKey(), "race", name, "application/octet-stream", uploads[i], h).Status
				})
			}
			wg.Wait()
			return statuses
		}
		isOneOf := func(got []byte) int {
			for i, u := range uploads {
				if bytes.Equal(u, got) {
					return i
				}
			}
			return -1
		}

		// With upsert every upload succeeds in turn; the last to commit is what remains.
		for _, status := range race("upsert.bin", true) {
			require.Equal(t, http.StatusOK, status)
		}
		got := e.download(t, e.ServiceRoleKey(), "race", "upsert.bin").Body
		require.NotEqual(t, -1, isOneOf(got), "the stored bytes are exactly one of the uploads")

		// Without upsert exactly one wins and the others are told the name is taken.
		statuses := race("once.bin", false)
		wins := 0
		for _, status := range statuses {
			if status == http.StatusOK {
				wins++
			} else {
				require.Equal(t, http.StatusBadRequest, status)
			}
		}
		require.Equal(t, 1, wins)
		got = e.download(t, e.ServiceRoleKey(), "race", "once.bin").Body
		winner := isOneOf(got)
		require.NotEqual(t, -1, winner)
		require.Equal(t, http.StatusOK, statuses[winner], "the bytes are the winner's")

		require.Equal(t, 2, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Len(t, e.blobKeys(t), 2, "losers' and replaced bytes are all gone")
	})
}
