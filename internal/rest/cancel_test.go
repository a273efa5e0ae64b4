package rest_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// records keeps every log record, for assertions on levels and attributes.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}

func (r *records) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// TestClientsThatGoAway cancels 100 requests while their statements run, as a closed browser
// tab or a load generator stopping does: each is logged at info as 499, nothing at error
// level, and the request pool keeps every connection (the same backends before and after),
// because the statement is cancelled on the server instead of the connection being dropped.
func TestClientsThatGoAway(t *testing.T) {
	t.Parallel()
	const (
		poolSize = 4
		requests = 100
		appName  = "goforward-gone-clients"
	)
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, `CREATE FUNCTION hold() RETURNS int LANGUAGE sql STABLE
		AS 'SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(7341)) AS locked'`)
	require.NoError(t, err)
	database.RequestPool(t) // sets the authenticator's password
	dsn, err := db.WithCredentials(database.URL, "authenticator", pgtest.AuthenticatorPassword)
	require.NoError(t, err)
	pool, err := db.Open(ctx, dsn, db.PoolConfig{MaxConns: poolSize, AppName: appName})
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	logs := &records{}
	logger := slog.New(logs)
	svc, err := rest.New(rest.Config{}, rest.Deps{Owner: database.Pool, Runner: db.NewRoleRunner(pool, db.RunnerConfig{}), Logger: logger})
	require.NoError(t, err)
	keys, err := security.NewKeys([]byte(servicetest.Secret), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	gw, err := gateway.New(gateway.Config{Development: true}, gateway.Deps{Keys: keys, Logger: logger},
		gateway.Service{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount})
	require.NoError(t, err)
	server := httptest.NewServer(gw.Handler())
	t.Cleanup(server.Close)

	call := func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server.URL+rest.Prefix+"/rpc/hold", nil)
		require.NoError(t, err)
		req.Header.Set("apikey", keys.AnonKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	backends := func() []int {
		var pids []int
		rows, err := database.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid`, appName)
		require.NoError(t, err)
		for rows.Next() {
			var pid int
			require.NoError(t, rows.Scan(&pid))
			pids = append(pids, pid)
		}
		require.NoError(t, rows.Err())
		return pids
	}
	// waitingFor polls until n of the pool's backends wait for the lock.
	waitingFor := func(n int) {
		require.Eventually(t, func() bool {
			var waiting int
			err := database.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
				WHERE a.application_name = $1 AND l.locktype = 'advisory' AND l.objid = 7341 AND NOT l.granted`, appName).Scan(&waiting)
			return err == nil && waiting == n
		}, 30*time.Second, 5*time.Millisecond)
	}
	// idle polls until no backend of the pool runs a statement: the service is done with
	// every request it was given.
	idle := func() {
		require.Eventually(t, func() bool {
			var active int
			err := database.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE application_name = $1 AND state <> 'idle'`, appName).Scan(&active)
			return err == nil && active == 0
		}, 30*time.Second, 5*time.Millisecond)
	}

	// Open every connection of the pool: poolSize requests wait together, then finish.
	lock, err := database.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer lock.Release()
	_, err = lock.Exec(ctx, `SELECT pg_advisory_lock(7341)`)
	require.NoError(t, err)
	var warm sync.WaitGroup
	for range poolSize {
		warm.Go(func() {
			status, err := call(ctx)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
		})
	}
	waitingFor(poolSize)
	_, err = lock.Exec(ctx, `SELECT pg_advisory_unlock(7341)`)
	require.NoError(t, err)
	warm.Wait()
	before := backends()
	require.Len(t, before, poolSize)

	_, err = lock.Exec(ctx, `SELECT pg_advisory_lock(7341)`)
	require.NoError(t, err)
	for round := 0; round < requests/poolSize; round++ {
		reqCtx, cancel := context.WithCancel(ctx)
		var clients sync.WaitGroup
		for range poolSize {
			clients.Go(func() {
				_, err := call(reqCtx)
				require.ErrorIs(t, err, context.Canceled)
			})
		}
		waitingFor(poolSize)
		cancel()
		clients.Wait()
		idle()
	}
	_, err = lock.Exec(ctx, `SELECT pg_advisory_unlock(7341)`)
	require.NoError(t, err)

	require.Equal(t, before, backends(), "the pool kept its connections")
	status, err := call(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "and they still work")

	// The access log line is the last thing a request does; once all are there, nothing
	// else of theirs can be logged.
	gone := func() int {
		n := 0
		for _, rec := range logs.all() {
			rec.Attrs(func(a slog.Attr) bool {
				if rec.Message == "request" && a.Key == "status" && a.Value.Int64() == 499 {
					require.Equal(t, slog.LevelInfo, rec.Level)
					n++
				}
				return true
			})
		}
		return n
	}
	require.Eventually(t, func() bool { return gone() == requests }, 30*time.Second, 5*time.Millisecond,
		"every request that went away is logged as 499")
	for _, rec := range logs.all() {
		require.Less(t, rec.Level, slog.LevelError, "logged at error: %s", rec.Message)
	}
}
