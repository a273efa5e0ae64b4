package db

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// occupy holds 127.0.0.1:port until the test ends, as another program would.
func occupy(t *testing.T, port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
}

func TestManagedMovesOffATakenPort(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	m := startTestManaged(t, ManagedConfig{Dir: dir})
	first := dsnPort(t, m.DSN())
	require.NoError(t, m.Stop(t.Context()))

	// Another program took the remembered port while the cluster was down.
	occupy(t, first)
	require.NoError(t, m.Start(t.Context()))
	second := dsnPort(t, m.DSN())
	require.NotEqual(t, first, second)
	require.Equal(t, second, readTestClusterState(t, dir).Port, "the new port is remembered")
	require.NoError(t, m.Stop(t.Context()))

	// Another program binds the port after Start found it free but before the server does.
	occupy(t, second)
	m.portFree = func(int) bool { return true }
	require.NoError(t, m.Start(t.Context()))
	third := dsnPort(t, m.DSN())
	require.NotEqual(t, second, third)
	require.Equal(t, third, readTestClusterState(t, dir).Port)
	serverLog, err := os.ReadFile(filepath.Join(dir, "postgres.log"))
	require.NoError(t, err)
	require.Contains(t, string(serverLog), "could not bind", "the first attempt really hit the taken port")
	require.Equal(t, "1", queryText(t, m.DSN(), "SELECT 1::text"))
	require.NoError(t, m.Stop(t.Context()))

	// A port the user chose is not silently replaced; the error quotes the server.
	explicit := newTestManaged(t, ManagedConfig{Dir: dir, Port: second})
	err = explicit.Start(t.Context())
	require.ErrorContains(t, err, "Address already in use")
	require.ErrorContains(t, err, filepath.Join(dir, "postgres.log"))
	require.Equal(t, third, readTestClusterState(t, dir).Port)
}
