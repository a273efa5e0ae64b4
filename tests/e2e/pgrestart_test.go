package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

// TestExternalPostgresRestarted points goforward at a PostgreSQL server this test runs itself
// (database.url), crashes that server (an immediate shutdown: no checkpoint, so it starts with
// crash recovery and its replication slot's position goes back) and starts it again. While it
// is down every service answers a 5xx in its own shape; afterwards goforward recovers by
// itself and the realtime subscriber sees every committed row exactly once.
func TestExternalPostgresRestarted(t *testing.T) {
	t.Parallel()
	clusterDir := tempDataDir(t)
	pg, err := db.NewManaged(db.ManagedConfig{Dir: clusterDir, NoSync: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	require.NoError(t, pg.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, pg.Stop(context.Background())) })

	srv := startServer(t, tempDataDir(t), []string{
		"DATABASE_URL=" + pg.DSN(),
		"JWT_SECRET=e2e-restart-secret-0123456789abcdef0123456789",
		"GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD=" + pgtest.AuthenticatorPassword,
		"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0",
	})
	srv.waitReady(120 * time.Second)
	status := statusJSON(t, srv.dataDir)
	anonKey, serviceKey := status["anon_key"].(string), status["service_role_key"].(string)
	owner := ownerConn(t, srv.dataDir)
	_, err = owner.Exec(t.Context(), `CREATE TABLE public.restart_events (id int PRIMARY KEY);
		ALTER PUBLICATION supabase_realtime ADD TABLE public.restart_events`)
	require.NoError(t, err)
	require.NoError(t, owner.Close(t.Context()))
	rows := srv.url() + "/rest/v1/restart_events"
	require.Eventually(t, func() bool {
		code, _ := call(t, http.MethodGet, rows+"?select=id", anonKey, nil)
		return code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "REST's schema cache has the table")

	sub := dialRealtime(t, srv.url(), anonKey)
	sub.join("realtime:restart", map[string]any{"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": "restart_events"}}})
	require.Contains(t, string(sub.await("Subscribed to PostgreSQL", is("realtime:restart", "system"))), "Subscribed to PostgreSQL")

	const before, after = 30, 30
	insert := func(id int) {
		code, body := call(t, http.MethodPost, rows, anonKey, map[string]any{"id": id})
		require.Equal(t, http.StatusCreated, code, string(body))
	}
	for id := 1; id <= before; id++ {
		insert(id)
	}

	// Crash the server: SIGQUIT is PostgreSQL's immediate shutdown, ending every session.
	raw, err := os.ReadFile(filepath.Join(clusterDir, "data", "postmaster.pid"))
	require.NoError(t, err)
	var pid int
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(string(raw), "\n", 2)[0]), &pid))
	require.NoError(t, syscall.Kill(pid, syscall.SIGQUIT))
	select {
	case <-pg.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("PostgreSQL did not stop")
	}

	require.Eventually(t, func() bool {
		code, _ := call(t, http.MethodGet, srv.url()+"/ready", anonKey, nil)
		return code == http.StatusServiceUnavailable
	}, 30*time.Second, 10*time.Millisecond, "/ready answers 503 while the database is down")
	code, body := call(t, http.MethodPost, rows, anonKey, map[string]any{"id": 999})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.True(t, restUnavailable(body), "REST: PostgREST's shape: %s", body)
	code, body = call(t, http.MethodPost, srv.url()+"/auth/v1/token?grant_type=password", anonKey,
		map[string]any{"email": "nobody@example.com", "password": "irrelevant-password"})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Contains(t, string(body), `"error_code":"service_unavailable"`, "auth: GoTrue's shape")
	code, body = call(t, http.MethodGet, srv.url()+"/storage/v1/bucket", serviceKey, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Contains(t, string(body), `"code":"DatabaseError"`, "storage: Storage API's shape")
	lost := sub.await("the stream-lost system message", is("realtime:restart", "system"))
	require.Contains(t, string(lost), "connection to PostgreSQL was lost")

	require.NoError(t, pg.Start(t.Context()))
	srv.waitReady(60 * time.Second)
	for id := before + 1; id <= before+after; id++ {
		insert(id)
	}
	resumed := sub.await("the stream-resumed system message", is("realtime:restart", "system"))
	require.Contains(t, string(resumed), "Subscribed to PostgreSQL")

	var order []int
	for len(order) < before+after {
		payload := sub.await("changes", is("realtime:restart", "postgres_changes"))
		var change struct {
			Data struct {
				Record struct {
					ID int `json:"id"`
				} `json:"record"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(payload, &change))
		order = append(order, change.Data.Record.ID)
		require.Equal(t, len(order), change.Data.Record.ID, "each row once, in commit order: %v", order)
	}
	// A row read again would arrive before this one.
	const sentinel = 1_000_000
	insert(sentinel)
	payload := sub.await("the sentinel", is("realtime:restart", "postgres_changes"))
	require.Contains(t, string(payload), `"id":1000000`, "nothing was delivered twice")
}
