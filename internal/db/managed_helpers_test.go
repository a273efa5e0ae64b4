package db

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// clusterDir returns where a test's cluster lives. t.TempDir makes 0700 directories, which
// the postgres user cannot enter when the tests run as root, so they are opened up.
func clusterDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	return filepath.Join(base, "pg")
}

// newTestManaged returns a Managed for dir with test defaults filled in, stopped when the
// test ends.
func newTestManaged(t *testing.T, cfg ManagedConfig) *Managed {
	t.Helper()
	cfg.NoSync = true
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	m, err := NewManaged(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
	return m
}

// startTestManaged is newTestManaged followed by a successful Start.
func startTestManaged(t *testing.T, cfg ManagedConfig) *Managed {
	t.Helper()
	m := newTestManaged(t, cfg)
	require.NoError(t, m.Start(t.Context()))
	return m
}

// queryText runs one query as the superuser and returns its single text value.
func queryText(t *testing.T, dsn, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var v string
	require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&v))
	return v
}

func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), sql)
	require.NoError(t, err)
}

func dsnPort(t *testing.T, dsn string) int {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return port
}

func readTestClusterState(t *testing.T, dir string) clusterState {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	require.NoError(t, err)
	var st clusterState
	require.NoError(t, json.Unmarshal(raw, &st))
	return st
}

// installedBinaries finds this machine's server binaries the way Start does.
func installedBinaries(t *testing.T) serverBinaries {
	t.Helper()
	bins, err := defaultBinarySearch("").find(t.Context(), 0)
	require.NoError(t, err)
	return bins
}
