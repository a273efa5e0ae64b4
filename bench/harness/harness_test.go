package harness

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestStartServesAndStops keeps the benchmark harness honest: it must bring up the real
// binary with keys and a working direct pool, and leave nothing running after Close.
func TestStartServesAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{PoolSize: 2})
	require.NoError(t, err)
	require.NotEmpty(t, s.AnonKey)
	require.NotEmpty(t, s.ServiceRoleKey)
	var one int
	require.NoError(t, s.Direct.QueryRow(ctx, "SELECT 1").Scan(&one))
	require.Equal(t, 1, one)
	var user string
	require.NoError(t, s.Request.QueryRow(ctx, "SELECT current_user").Scan(&user))
	require.Equal(t, "authenticator", user, "the request pool logs in as goforward's request pool does")
	// Both baselines reach PostgreSQL the way goforward's pools do: through the unix socket,
	// where the server has no address.
	for _, pool := range []interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}{s.Direct, s.Request} {
		var socket bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT inet_server_addr() IS NULL").Scan(&socket))
		require.True(t, socket)
	}
	var services int
	require.NoError(t, s.Direct.QueryRow(ctx,
		"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'goforward%' AND client_addr IS NOT NULL").Scan(&services))
	require.Zero(t, services, "goforward's own connections use the socket too")

	// Starting up cost goforward and PostgreSQL processor time; both show up.
	cpu, err := s.CPU()
	require.NoError(t, err)
	require.Positive(t, cpu.Goforward)
	require.Positive(t, cpu.Postgres)
	url := s.URL
	s.Close()
	_, err = http.Get(url + "/health")
	require.Error(t, err, "goforward still answers after Close")
}
