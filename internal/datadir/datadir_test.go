package datadir_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/datadir"
)

func newDir(t *testing.T) datadir.Dir {
	t.Helper()
	d, err := datadir.New(filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	require.NoError(t, d.Ensure())
	return d
}

func TestStateIsCreatedOnceAndReused(t *testing.T) {
	t.Parallel()
	d := newDir(t)
	first, err := d.LoadOrCreateState()
	require.NoError(t, err)
	require.Len(t, first.JWTSecret, 64)
	require.Len(t, first.AuthenticatorPassword, 48)
	require.NotZero(t, first.KeysIssuedAt)

	info, err := os.Stat(filepath.Join(d.Root(), "state.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "secrets are readable by the owner only")

	second, err := d.LoadOrCreateState()
	require.NoError(t, err)
	require.Equal(t, first, second)

	other := newDir(t)
	third, err := other.LoadOrCreateState()
	require.NoError(t, err)
	require.NotEqual(t, first.JWTSecret, third.JWTSecret, "each data directory gets its own secret")
}

func TestDamagedStateIsAnErrorNotANewSecret(t *testing.T) {
	t.Parallel()
	d := newDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(d.Root(), "state.json"), []byte("{not json"), 0o600))
	_, err := d.LoadOrCreateState()
	require.ErrorContains(t, err, "damaged")
}

func TestRuntimeRecord(t *testing.T) {
	t.Parallel()
	d := newDir(t)
	_, err := d.ReadRuntime()
	require.ErrorIs(t, err, datadir.ErrNotRunning)

	rt := datadir.Runtime{PID: os.Getpid(), APIURL: "http://127.0.0.1:8080", StartedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, d.WriteRuntime(rt))
	got, err := d.ReadRuntime()
	require.NoError(t, err)
	require.Equal(t, rt, got)

	// Another server's record is left alone; ours is removed.
	require.NoError(t, d.RemoveRuntime(rt.PID+1))
	_, err = d.ReadRuntime()
	require.NoError(t, err)
	require.NoError(t, d.RemoveRuntime(rt.PID))
	_, err = d.ReadRuntime()
	require.ErrorIs(t, err, datadir.ErrNotRunning)
}

func TestRuntimeRecordOfADeadProcessIsStale(t *testing.T) {
	t.Parallel()
	d := newDir(t)
	// PIDs above the kernel's pid_max never belong to a live process.
	require.NoError(t, d.WriteRuntime(datadir.Runtime{PID: 1 << 30, APIURL: "http://127.0.0.1:1"}))
	_, err := d.ReadRuntime()
	require.ErrorIs(t, err, datadir.ErrNotRunning)
}

func TestEnsurePermissions(t *testing.T) {
	t.Parallel()
	d := newDir(t)
	info, err := os.Stat(d.Root())
	require.NoError(t, err)
	want := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		want = 0o711 // the postgres user must traverse it to reach the managed cluster
	}
	require.Equal(t, want, info.Mode().Perm())
}
