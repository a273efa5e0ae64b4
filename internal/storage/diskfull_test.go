package storage_test

import (
	"io"
	"io/fs"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/localfs"
)

// fullDisk makes file writes fail with ENOSPC, as a full file system does, once a file has
// taken room bytes, while full is set.
type fullDisk struct {
	full atomic.Bool
	room int64
	hits atomic.Int64
}

func (d *fullDisk) wrap(w io.Writer) io.Writer { return &fillingWriter{w: w, disk: d, left: d.room} }

type fillingWriter struct {
	w    io.Writer
	disk *fullDisk
	left int64
}

func (f *fillingWriter) Write(p []byte) (int, error) {
	if !f.disk.full.Load() {
		return f.w.Write(p)
	}
	n := min(int64(len(p)), f.left)
	written, err := f.w.Write(p[:n])
	f.left -= int64(written)
	if err == nil && written < len(p) {
		f.disk.hits.Add(1)
		err = &fs.PathError{Op: "write", Path: "injected", Err: syscall.ENOSPC}
	}
	return written, err
}

// TestDiskFullIsA507AndLeavesNothingBehind fills the local backend's disk in the middle of an
// upload: the client gets 507 in Storage's error shape, neither a row nor a blob nor a
// temporary file is left, an older version being replaced stays served, and uploads work again
// once there is room.
func TestDiskFullIsA507AndLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	disk := &fullDisk{room: 1 << 20}
	e := newEnvAround(t, "local", storage.Config{}, func(real blob.Backend) blob.Backend {
		b, err := localfs.New(localfs.Config{Dir: real.(*localfs.Backend).Dir(), WrapFile: disk.wrap})
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return b
	})
	e.createBucket(t, map[string]any{"name": "b"})
	old := patterned(100_000, 1)
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "b", "kept.bin", "application/octet-stream", old, nil).Status)

	disk.full.Store(true)
	for _, tc := range []struct {
		name   string
		header http.Header
	}{{"new.bin", nil}, {"kept.bin", http.Header{"X-Upsert": {"true"}}}} {
		resp := e.upload(t, e.ServiceRoleKey(), "b", tc.name, "application/octet-stream", patterned(3<<20, 2), tc.header)
		require.Equal(t, http.StatusInsufficientStorage, resp.Status, "body: %s", resp.Body)
		var got storageError
		resp.JSON(t, &got)
		require.Equal(t, "507", got.StatusCode)
		require.Equal(t, storage.CodeInsufficientStorage, got.Code)
		require.NotContains(t, string(resp.Body), "injected", "the cause stays in the log")
	}
	require.Equal(t, int64(2), disk.hits.Load(), "both uploads hit the full disk")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects`), "only the old object's row")
	e.requireNoLeftovers(t, 1)
	got := e.download(t, e.ServiceRoleKey(), "b", "kept.bin")
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, old, got.Body, "the replaced object is still served whole")

	disk.full.Store(false)
	require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "b", "new.bin", "text/plain", []byte("room again"), nil).Status)
	require.Equal(t, "room again", string(e.download(t, e.ServiceRoleKey(), "b", "new.bin").Body))
}
