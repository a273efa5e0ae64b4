package db

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServerLogIsRotatedWhenTooBig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postgres.log")
	require.NoError(t, os.WriteFile(path, []byte("old run\n"), 0o600))

	f, offset, err := openServerLog(path)
	require.NoError(t, err)
	require.EqualValues(t, len("old run\n"), offset, "a small log is appended to")
	_, err = f.WriteString("this run\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, "this run\n", serverLogSince(path, offset, serverOutputWindow))
	require.NoFileExists(t, path+".1")

	require.NoError(t, os.Truncate(path, serverLogRotateSize+1))
	f, offset, err = openServerLog(path)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Zero(t, offset)
	rotated, err := os.Stat(path + ".1")
	require.NoError(t, err)
	require.EqualValues(t, serverLogRotateSize+1, rotated.Size())
	fresh, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, fresh.Size())
	require.Equal(t, os.FileMode(0o600), fresh.Mode().Perm())
}

func TestLastLinesKeepsTheEnd(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 30 {
		b.WriteString(strings.Repeat("x", i) + "\n")
	}
	tail := lastLines(b.String(), 20)
	require.Len(t, strings.Split(tail, "\n"), 20)
	require.True(t, strings.HasSuffix(tail, strings.Repeat("x", 29)))
}
