package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// crashClient bounds every request: during the outage an answer must come, not a hang.
var crashClient = &http.Client{Timeout: 20 * time.Second}

// call sends one request and returns the status and the body.
func call(t *testing.T, method, url, apikey string, body any) (int, []byte) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, reader)
	require.NoError(t, err)
	req.Header.Set("apikey", apikey)
	req.Header.Set("Authorization", "Bearer "+apikey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := crashClient.Do(req)
	require.NoError(t, err, "%s %s must answer within the client's bound", method, url)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// postmasterPID reads the managed cluster's postmaster.pid.
func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "postgres", "data", "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	require.NoError(t, err)
	return pid
}

// restUnavailable reports whether body is PostgREST's error for a database that went away:
// its connection error, or the server's own SQLSTATE when a session was ended by the crash.
func restUnavailable(body []byte) bool {
	var e map[string]any
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, key := range []string{"code", "details", "hint", "message"} {
		if _, ok := e[key]; !ok {
			return false
		}
	}
	code, _ := e["code"].(string)
	return code == "PGRST000" || strings.HasPrefix(code, "57P0") || strings.HasPrefix(code, "08")
}

// TestManagedPostgresKilledUnderLoad kills the managed PostgreSQL with SIGKILL while REST
// inserts run and a realtime client is subscribed. While the port is held so the restart
// cannot happen yet, every service answers 503 in its own error shape; once it is released
// goforward restarts the server itself, every acknowledged insert is there and the subscriber
// sees every committed row exactly once.
func TestManagedPostgresKilledUnderLoad(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, []string{
		"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0",
		"GOFORWARD_DATABASE_RESTART_MAX_FAILURES=50",
	})
	srv.waitReady(120 * time.Second)
	status := statusJSON(t, dataDir)
	anonKey, serviceKey := status["anon_key"].(string), status["service_role_key"].(string)
	owner := ownerConn(t, dataDir)
	_, err := owner.Exec(t.Context(), `CREATE TABLE public.crash_events (id int PRIMARY KEY);
		ALTER PUBLICATION supabase_realtime ADD TABLE public.crash_events`)
	require.NoError(t, err)
	require.NoError(t, owner.Close(t.Context()))
	rows := srv.url() + "/rest/v1/crash_events"
	require.Eventually(t, func() bool {
		code, _ := call(t, http.MethodGet, rows+"?select=id", anonKey, nil)
		return code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "REST's schema cache has the table")

	sub := dialRealtime(t, srv.url(), anonKey)
	sub.join("realtime:crash", map[string]any{"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": "crash_events"}}})
	require.Contains(t, string(sub.await("Subscribed to PostgreSQL", is("realtime:crash", "system"))), "Subscribed to PostgreSQL")

	// The writer inserts ids 1..total in order, each retried until the API acknowledges it;
	// every answer that is not a 201 must be PostgREST's 503.
	const total, killAfter = 120, 40
	var (
		mu       sync.Mutex
		acked    = map[int]bool{}
		refusals int
	)
	reachedKill := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		deadline := time.Now().Add(3 * time.Minute)
		for id := 1; id <= total && time.Now().Before(deadline); id++ {
			if id == killAfter {
				close(reachedKill)
			}
			for time.Now().Before(deadline) {
				code, body := call(t, http.MethodPost, rows, anonKey, map[string]any{"id": id})
				if code == http.StatusCreated || (code == http.StatusConflict && refusals > 0) {
					// 409 only on a retry: the earlier attempt committed but its answer was lost.
					mu.Lock()
					acked[id] = code == http.StatusCreated
					mu.Unlock()
					break
				}
				mu.Lock()
				refusals++
				mu.Unlock()
				if code != http.StatusServiceUnavailable || !restUnavailable(body) {
					t.Errorf("insert %d during the outage: %d %s, want PostgREST's 503", id, code, body)
					return
				}
				time.Sleep(20 * time.Millisecond) // a client's retry pause
			}
		}
	}()

	select {
	case <-reachedKill:
	case <-writerDone:
		t.Fatal("the writer stopped before the kill")
	}
	require.NoError(t, syscall.Kill(postmasterPID(t, dataDir), syscall.SIGKILL))
	// Make the data directory unusable so that restarts fail until the checks below are done
	// (PostgreSQL refuses a data directory it cannot enter, or whose mode is not 0700/0750).
	pgdata := filepath.Join(dataDir, "postgres", "data")
	require.NoError(t, os.Chmod(pgdata, 0))
	// Once a restart has failed, the dead server's leftover backends are gone too (they may
	// answer for a moment after the kill): from here on nothing can reach PostgreSQL.
	require.Eventually(t, func() bool {
		return strings.Contains(srv.stderr.String(), `"msg":"restarting PostgreSQL failed"`)
	}, 30*time.Second, 10*time.Millisecond, "goforward tries to restart PostgreSQL")
	code, body := call(t, http.MethodGet, srv.url()+"/ready", anonKey, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, "/ready during the outage: %s", body)
	code, body = call(t, http.MethodGet, rows+"?select=id&limit=1", anonKey, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.True(t, restUnavailable(body), "REST: PostgREST's shape: %s", body)
	code, body = call(t, http.MethodPost, srv.url()+"/auth/v1/token?grant_type=password", anonKey,
		map[string]any{"email": "nobody@example.com", "password": "irrelevant-password"})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Contains(t, string(body), `"error_code":"service_unavailable"`, "auth: GoTrue's shape")
	code, body = call(t, http.MethodGet, srv.url()+"/storage/v1/bucket", serviceKey, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Contains(t, string(body), `"statusCode":"503"`, "storage: Storage API's shape")
	require.Contains(t, string(body), `"code":"DatabaseError"`)
	late := dialRealtime(t, srv.url(), anonKey)
	late.join("realtime:late", map[string]any{"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": "crash_events"}}})
	sys := late.await("the join's system error", is("realtime:late", "system"))
	require.Contains(t, string(sys), `"status":"error"`)
	require.Contains(t, string(sys), "database is unavailable")
	lost := sub.await("the stream-lost system message", is("realtime:crash", "system"))
	require.Contains(t, string(lost), "connection to PostgreSQL was lost")

	require.NoError(t, os.Chmod(pgdata, 0o700))
	srv.waitReady(120 * time.Second)
	<-writerDone
	require.False(t, t.Failed())
	resumed := sub.await("the stream-resumed system message", is("realtime:crash", "system"))
	require.Contains(t, string(resumed), "Subscribed to PostgreSQL")

	// Every acknowledged row is there.
	owner = ownerConn(t, dataDir)
	present := map[int]bool{}
	rs, err := owner.Query(context.Background(), "SELECT id FROM public.crash_events")
	require.NoError(t, err)
	for rs.Next() {
		var id int
		require.NoError(t, rs.Scan(&id))
		present[id] = true
	}
	require.NoError(t, rs.Err())
	mu.Lock()
	require.Len(t, acked, total, "the writer finished")
	for id := range acked {
		require.True(t, present[id], "acknowledged row %d survived", id)
	}
	mu.Unlock()

	// Exactly once, in commit order: a sentinel written last arrives after any replay.
	const sentinel = 1_000_000
	code, body = call(t, http.MethodPost, rows, anonKey, map[string]any{"id": sentinel})
	require.Equal(t, http.StatusCreated, code, string(body))
	seen := map[int]int{}
	var order []int
	next := 1
	for {
		payload := sub.await("changes after the restart", is("realtime:crash", "postgres_changes"))
		var change struct {
			Data struct {
				Record struct {
					ID int `json:"id"`
				} `json:"record"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(payload, &change))
		id := change.Data.Record.ID
		if id == sentinel {
			break
		}
		order = append(order, id)
		seen[id]++
		require.Equal(t, 1, seen[id], "row %d delivered more than once: %v", id, order)
		require.Equal(t, next, id, "rows arrive in commit order, none missing: %v", order)
		next++
	}
	require.Len(t, seen, len(present), "every committed row reached the subscriber")
	fmt.Fprintf(os.Stderr, "pgcrash: %d rows, %d refused attempts during the outage\n", len(seen), refusals)
}
