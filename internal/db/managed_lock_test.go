package db

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A process forked at any moment (another goroutine's exec.Command) holds a copy of the lock's
// descriptor until it execs. Releasing the lock must not wait for that copy to go, or a Stop
// followed by a Start finds the cluster "in use by another process": seen in CI.
func TestReleasedLockIsFreeWhileACopyOfItsDescriptorLives(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cluster.lock")
	f, err := lockCluster(path)
	require.NoError(t, err)
	forkedCopy, err := syscall.Dup(int(f.Fd()))
	require.NoError(t, err)
	defer syscall.Close(forkedCopy)

	m := &Managed{lock: f}
	m.releaseLock()
	again, err := lockCluster(path)
	require.NoError(t, err)
	require.NoError(t, again.Close())
}
