package db

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// superviseInBackground runs Supervise until the test ends and returns its result channel.
func superviseInBackground(t *testing.T, m *Managed, cfg SuperviseConfig) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		result <- m.Supervise(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Supervise did not return after its context ended")
		}
	})
	return result
}

// killPostmaster kills the running server with SIGKILL, as an OOM killer or an operator would.
func killPostmaster(t *testing.T, m *Managed) {
	t.Helper()
	m.mu.Lock()
	server := m.server
	m.mu.Unlock()
	require.NotNil(t, server)
	require.NoError(t, syscall.Kill(server.pid(), syscall.SIGKILL))
	<-server.done
}

func TestSuperviseRestartsAKilledServerAndPoolsReconnect(t *testing.T) {
	t.Parallel()
	m := startTestManaged(t, ManagedConfig{Dir: clusterDir(t)})
	dsn, local := m.DSN(), m.LocalDSN()
	// One connection: a pool keeps every idle connection it had when the server died, and
	// each fails the query that next takes it (then is dropped), so with several the query
	// after the first success could still meet a dead one.
	pool, err := Open(t.Context(), local, PoolConfig{MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(t.Context(), "CREATE TABLE acked (id int PRIMARY KEY)")
	require.NoError(t, err)
	result := superviseInBackground(t, m, SuperviseConfig{})

	for round := 1; round <= 3; round++ {
		_, err = pool.Exec(t.Context(), "INSERT INTO acked VALUES ($1)", round)
		require.NoError(t, err)
		var killedStart time.Time
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT pg_postmaster_start_time()").Scan(&killedStart))
		killPostmaster(t, m)
		require.False(t, m.Available(), "a dead server is not available")

		// The same pool, untouched, works again once the server is back. A backend of the
		// killed postmaster can still answer for a moment, so success counts only from the
		// new server (a later start time).
		require.Eventually(t, func() bool {
			var started time.Time
			err := pool.QueryRow(t.Context(), "SELECT pg_postmaster_start_time()").Scan(&started)
			return err == nil && started.After(killedStart)
		}, 60*time.Second, 20*time.Millisecond, "round %d: the pool reconnects", round)
		// The server answers a moment before the restart is recorded as done.
		require.Eventually(t, m.Available, 10*time.Second, 10*time.Millisecond)
		require.Equal(t, dsn, m.DSN(), "same port, so connection strings stay valid")
		var n int
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM acked").Scan(&n))
		require.Equal(t, round, n, "every committed row survives crash recovery")
	}
	select {
	case err := <-result:
		t.Fatalf("Supervise gave up after 3 crashes (limit 5): %v", err)
	default:
	}
}

func TestSuperviseGivesUpAfterRepeatedFailuresNamingTheLog(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	m := startTestManaged(t, ManagedConfig{Dir: dir})
	result := superviseInBackground(t, m, SuperviseConfig{MaxFailures: 3, Backoff: 10 * time.Millisecond})

	// A setting the server refuses: every restart fails from now on.
	autoConf := filepath.Join(dir, "data", "postgresql.auto.conf")
	f, err := os.OpenFile(autoConf, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("\nno_such_setting_for_this_test = 1\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	killPostmaster(t, m)

	select {
	case err := <-result:
		require.ErrorIs(t, err, ErrGaveUp)
		require.ErrorContains(t, err, "3 times within 5m0s")
		require.ErrorContains(t, err, filepath.Join(dir, "postgres.log"))
	case <-time.After(60 * time.Second):
		t.Fatal("Supervise kept restarting a server that cannot start")
	}
	log, err := os.ReadFile(filepath.Join(dir, "postgres.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "no_such_setting_for_this_test", "the log says why")
	require.False(t, m.Available())
}

func TestSuperviseLeavesAStoppedServerAlone(t *testing.T) {
	t.Parallel()
	m := startTestManaged(t, ManagedConfig{Dir: clusterDir(t)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- m.Supervise(ctx, SuperviseConfig{}) }()
	require.NoError(t, m.Stop(t.Context()))
	select {
	case err := <-result:
		require.NoError(t, err, "Stop is not a failure")
	case <-time.After(30 * time.Second):
		t.Fatal("Supervise did not return after Stop")
	}
	require.False(t, m.Available())
}
