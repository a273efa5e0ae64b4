package localfs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/blob/blobtest"
	"github.com/goforward/goforward/internal/storage/localfs"
)

func newBackend(t *testing.T) *localfs.Backend {
	t.Helper()
	b, err := localfs.New(localfs.Config{Dir: filepath.Join(t.TempDir(), "blobs")})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Backend { return newBackend(t) })
}

func TestBlobsLiveInsideTheDirectoryUnderTheirKeys(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	_, err := b.Put(t.Context(), "avatars/user/photo.png", strings.NewReader("png"), blob.PutOptions{})
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(b.Dir(), "avatars", "user", "photo.png~"))
	require.NoError(t, err)
	require.Equal(t, "png", string(data))
	temps, err := b.TempFiles()
	require.NoError(t, err)
	require.Empty(t, temps, "the temporary file was renamed into place")
}

func TestKeysCannotEscapeTheDirectory(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "blobs")
	b, err := localfs.New(localfs.Config{Dir: dir})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, os.WriteFile(filepath.Join(parent, "outside~"), []byte("secret"), 0o600))

	for _, key := range []string{"../outside", "a/../../outside", "/outside", filepath.Join(parent, "outside")} {
		_, err := b.Put(t.Context(), key, strings.NewReader("overwrite"), blob.PutOptions{})
		require.ErrorIs(t, err, blob.ErrInvalidKey, key)
		_, _, err = b.Open(t.Context(), key, 0, -1)
		require.ErrorIs(t, err, blob.ErrInvalidKey, key)
		require.ErrorIs(t, b.Delete(t.Context(), key), blob.ErrInvalidKey, key)
	}

	// A symlink planted inside the directory does not lead out of it either.
	require.NoError(t, os.Symlink(parent, filepath.Join(dir, "link")))
	_, _, err = b.Open(t.Context(), "link/outside", 0, -1)
	require.Error(t, err)
	_, err = b.Put(t.Context(), "link/planted", strings.NewReader("x"), blob.PutOptions{})
	require.Error(t, err)
	_, err = os.Stat(filepath.Join(parent, "planted~"))
	require.ErrorIs(t, err, os.ErrNotExist)

	data, err := os.ReadFile(filepath.Join(parent, "outside~"))
	require.NoError(t, err)
	require.Equal(t, "secret", string(data))
}

func TestOverlongSegmentsAreInvalidKeys(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	_, err := b.Put(t.Context(), "b/"+strings.Repeat("x", 255), strings.NewReader("x"), blob.PutOptions{})
	require.ErrorIs(t, err, blob.ErrInvalidKey)
	_, err = b.Put(t.Context(), "b/"+strings.Repeat("x", 254), strings.NewReader("x"), blob.PutOptions{})
	require.NoError(t, err)
}

func TestDeleteRemovesDirectoriesItEmptied(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	_, err := b.Put(t.Context(), "bucket/a/b/c", strings.NewReader("x"), blob.PutOptions{})
	require.NoError(t, err)
	_, err = b.Put(t.Context(), "bucket/keep", strings.NewReader("x"), blob.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Delete(t.Context(), "bucket/a/b/c"))
	_, err = os.Stat(filepath.Join(b.Dir(), "bucket", "a"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(filepath.Join(b.Dir(), "bucket", "keep~"))
	require.NoError(t, err)
}

func TestNewRemovesOnlyStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := localfs.New(localfs.Config{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	stale := filepath.Join(dir, "~tmp", "stale")
	fresh := filepath.Join(dir, "~tmp", "fresh")
	require.NoError(t, os.WriteFile(stale, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("x"), 0o600))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	b, err = localfs.New(localfs.Config{Dir: dir})
	require.NoError(t, err)
	defer b.Close()
	temps, err := b.TempFiles()
	require.NoError(t, err)
	require.Equal(t, []string{"~tmp/fresh"}, temps)
}
