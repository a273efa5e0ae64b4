package db

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestManagedCreatesClusterAndRestartsOnIt(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	m := startTestManaged(t, ManagedConfig{Dir: dir})
	dsn := m.DSN()

	require.Equal(t, "1", queryText(t, dsn, "SELECT 1::text"))
	require.Equal(t, "logical", queryText(t, dsn, "SHOW wal_level"))
	require.Equal(t, "127.0.0.1", queryText(t, dsn, "SHOW listen_addresses"))
	require.Equal(t, filepath.Join(dir, "run"), queryText(t, dsn, "SHOW unix_socket_directories"))
	require.FileExists(t, filepath.Join(dir, "data", "PG_VERSION"))
	// The DSN shown to people is TCP; the process's own pools go through the socket, where
	// the server has no address.
	require.Equal(t, "127.0.0.1/32", queryText(t, dsn, "SELECT inet_server_addr()::text"))
	require.Equal(t, "unix", queryText(t, m.LocalDSN(), "SELECT coalesce(inet_server_addr()::text, 'unix')"))

	info, err := os.Stat(filepath.Join(dir, "cluster.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	st := readTestClusterState(t, dir)
	require.Equal(t, dsnPort(t, dsn), st.Port)
	require.Len(t, st.Password, 64)
	require.Contains(t, dsn, st.Password)
	require.GreaterOrEqual(t, st.MajorVersion, minServerMajor)

	dirInfo, err := os.Stat(dir)
	require.NoError(t, err)
	wantMode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		wantMode = 0o711 // the postgres user passes through, nobody else lists it
	}
	require.Equal(t, wantMode, dirInfo.Mode().Perm())
	leftovers, err := filepath.Glob(filepath.Join(dir, ".pwfile-*"))
	require.NoError(t, err)
	require.Empty(t, leftovers, "initdb's password file is removed")

	rival := newTestManaged(t, ManagedConfig{Dir: dir})
	rivalErr := rival.Start(t.Context())
	require.ErrorContains(t, rivalErr, "is in use by another process (pid "+strconv.Itoa(os.Getpid())+")")
	require.ErrorIs(t, rivalErr, ErrClusterInUse, "callers tell a busy cluster from a broken one")
	require.Equal(t, "1", queryText(t, dsn, "SELECT 1::text"), "the running server is left alone")

	execSQL(t, dsn, "CREATE TABLE survives_restart (note text); INSERT INTO survives_restart VALUES ('kept')")
	require.NoError(t, m.Stop(t.Context()))
	<-m.Exited()
	require.NoFileExists(t, filepath.Join(dir, "data", "postmaster.pid"), "a fast shutdown removes its pid file")
	require.NoError(t, m.Stop(t.Context()), "stopping twice is harmless")

	again := startTestManaged(t, ManagedConfig{Dir: dir})
	require.Equal(t, dsn, again.DSN(), "same password and same port")
	require.Equal(t, "kept", queryText(t, again.DSN(), "SELECT note FROM survives_restart"))
}

func TestManagedServerRunsAsPostgresUserOnlyWhenRoot(t *testing.T) {
	t.Parallel()
	m := startTestManaged(t, ManagedConfig{Dir: clusterDir(t)})

	want := strconv.Itoa(os.Geteuid())
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		require.NoError(t, err)
		want = pg.Uid
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.server.pid()))
	require.NoError(t, err)
	var uidLine string
	for line := range strings.SplitSeq(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			uidLine = line
		}
	}
	require.Equal(t, []string{"Uid:", want, want, want, want}, strings.Fields(uidLine))
	require.Equal(t, "postgres", queryText(t, m.DSN(), "SELECT current_user::text"))

	// A cluster whose files belong to someone else (created before a switch to root, say)
	// is handed to the server's account on the next start.
	require.NoError(t, m.Stop(t.Context()))
	data := filepath.Join(m.paths.root, "data")
	require.NoError(t, filepath.WalkDir(data, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, os.Geteuid(), os.Getegid())
	}))
	require.NoError(t, m.Start(t.Context()))
	info, err := os.Stat(filepath.Join(data, "global", "pg_control"))
	require.NoError(t, err)
	require.Equal(t, want, strconv.Itoa(int(info.Sys().(*syscall.Stat_t).Uid)))
}

func TestManagedExitedReportsACrashAndStartRecovers(t *testing.T) {
	t.Parallel()
	m := startTestManaged(t, ManagedConfig{Dir: clusterDir(t)})
	exited := m.Exited()
	select {
	case <-exited:
		t.Fatal("Exited is closed while the server runs")
	default:
	}

	require.NoError(t, syscall.Kill(m.server.pid(), syscall.SIGKILL))
	<-exited
	require.NoError(t, m.Stop(t.Context()), "Stop after a crash has nothing to do")

	require.NoError(t, m.Start(t.Context()))
	require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
}

func TestManagedRedoesAnUnfinishedInitdb(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	require.NoError(t, os.Mkdir(dir, 0o711))
	for _, d := range []string{"data", "data.initdb"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, d, "half-written"), []byte("x"), 0o600))
	}

	m := startTestManaged(t, ManagedConfig{Dir: dir})
	require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
	require.NoFileExists(t, filepath.Join(dir, "data", "half-written"))
	require.NoDirExists(t, filepath.Join(dir, "data.initdb"))
}

func TestManagedListensOnTCPOnlyWhenSocketPathIsTooLong(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(clusterDir(t), strings.Repeat("d", maxSocketPath))
	m := startTestManaged(t, ManagedConfig{Dir: dir})
	require.Empty(t, queryText(t, m.DSN(), "SHOW unix_socket_directories"))
	require.Equal(t, m.DSN(), m.LocalDSN())
}

func TestManagedRequiresDir(t *testing.T) {
	t.Parallel()
	_, err := NewManaged(ManagedConfig{})
	require.ErrorContains(t, err, "Dir is required")
}

func TestManagedStopWithoutStart(t *testing.T) {
	t.Parallel()
	m, err := NewManaged(ManagedConfig{Dir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, m.Stop(context.Background()))
	require.Empty(t, m.DSN())
	<-m.Exited() // closed: nothing runs
}
