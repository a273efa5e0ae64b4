package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/migrations"
)

// controlDataDir is a fresh data directory whose ancestors the postgres user can traverse,
// as they must be when the tests run as root.
func controlDataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for dir := base; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		require.NoError(t, os.Chmod(dir, 0o755))
	}
	return filepath.Join(base, "data")
}

func controlConfig(dataDir string) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = dataDir
	return cfg
}

func openControlForTest(t *testing.T, cfg config.Config) (*controlDB, error) {
	t.Helper()
	c, err := openControlDB(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// recordServer writes the runtime record a server running on dataDir would write: this
// process stands in for it, since only a live pid counts.
func recordServer(t *testing.T, dataDir, dbURL string, managed bool) {
	t.Helper()
	dir, err := datadir.New(dataDir)
	require.NoError(t, err)
	require.NoError(t, dir.Ensure())
	require.NoError(t, dir.WriteRuntime(datadir.Runtime{
		PID: os.Getpid(), APIURL: "http://127.0.0.1:1", DBURL: dbURL, ManagedCluster: managed, StartedAt: time.Now().UTC(),
	}))
}

// Without a server the command runs the data directory's cluster itself, migrated, and
// stops it again; while a process holds the cluster without serving it (serve starting),
// the command says to wait and retry, with its own exit code.
func TestControlDBRunsTheClusterWhenNoServerDoes(t *testing.T) {
	t.Parallel()
	cfg := controlConfig(controlDataDir(t))
	first, err := openControlForTest(t, cfg)
	require.NoError(t, err)
	require.True(t, first.Started)
	require.NoError(t, db.SchemaCurrent(t.Context(), first.Pool, migrations.FS))

	// first holds the cluster as a starting serve would: locked, no runtime record yet.
	_, err = openControlForTest(t, cfg)
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitBusy, ee.code)
	require.ErrorContains(t, err, "which is not serving it: if `goforward serve` is starting (or stopping), wait until `goforward status --data-dir "+first.Dir.Root()+"` answers")

	first.Close()
	again, err := openControlForTest(t, cfg)
	require.NoError(t, err, "Close stopped the cluster and released it")
	require.True(t, again.Started)
	var one int
	require.NoError(t, again.Pool.QueryRow(t.Context(), "SELECT 1").Scan(&one))
}

// With a server running on the data directory the command uses the server's database: its
// managed cluster, which it holds, or the external database it was given through its own
// environment, which this command's configuration does not name.
func TestControlDBUsesTheRunningServersDatabase(t *testing.T) {
	t.Parallel()
	server, err := openControlForTest(t, controlConfig(controlDataDir(t)))
	require.NoError(t, err)
	dsn := server.managed.DSN()
	_, err = server.Pool.Exec(t.Context(), "CREATE TABLE only_on_the_server (x int)")
	require.NoError(t, err)

	seesServersTable := func(c *controlDB) {
		t.Helper()
		var n int
		require.NoError(t, c.Pool.QueryRow(t.Context(), "SELECT count(*) FROM only_on_the_server").Scan(&n))
	}

	t.Run("its managed cluster", func(t *testing.T) {
		recordServer(t, server.Dir.Root(), dsn, true)
		c, err := openControlForTest(t, controlConfig(server.Dir.Root()))
		require.NoError(t, err)
		require.False(t, c.Started, "the server runs the cluster")
		seesServersTable(c)
	})

	t.Run("an external database", func(t *testing.T) {
		dataDir := controlDataDir(t)
		recordServer(t, dataDir, dsn, false)
		c, err := openControlForTest(t, controlConfig(dataDir))
		require.NoError(t, err)
		require.False(t, c.Started, "no cluster of its own beside the server's database")
		seesServersTable(c)
		require.NoDirExists(t, filepath.Join(dataDir, "postgres"))
	})
}
