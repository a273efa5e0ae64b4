package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/redistest"
)

// wsClient is a minimal realtime client speaking serializer 2.0.0.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	ref  int
	mu   sync.Mutex
	msgs [][]json.RawMessage
	cond *sync.Cond
}

func dialRealtime(t *testing.T, baseURL, apikey string) *wsClient {
	t.Helper()
	u := strings.Replace(baseURL, "http://", "ws://", 1) + "/realtime/v1/websocket?vsn=2.0.0&apikey=" + apikey
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	c := &wsClient{t: t, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				c.mu.Lock()
				c.msgs = append(c.msgs, nil) // marks the end
				c.cond.Broadcast()
				c.mu.Unlock()
				return
			}
			var frame []json.RawMessage
			if json.Unmarshal(data, &frame) == nil && len(frame) == 5 {
				c.mu.Lock()
				c.msgs = append(c.msgs, frame)
				c.cond.Broadcast()
				c.mu.Unlock()
			}
		}
	}()
	// Keep the connection alive as realtime-js does.
	stop := make(chan struct{})
	go func() {
		ticker := time.NewTicker(5 * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				c.push("", "phoenix", "heartbeat", map[string]any{})
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		ws.Close()
	})
	return c
}

// push sends [join_ref, ref, topic, event, payload] and returns the ref.
func (c *wsClient) push(joinRef, topic, event string, payload any) string {
	c.mu.Lock()
	c.ref++
	ref := strconv.Itoa(c.ref)
	if event == "phx_join" {
		joinRef = ref
	}
	frame, err := json.Marshal([]any{nullable(joinRef), ref, topic, event, payload})
	if err == nil {
		err = c.ws.WriteMessage(websocket.TextMessage, frame)
	}
	c.mu.Unlock()
	require.NoError(c.t, err)
	return ref
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// await waits for a message matching pred and removes it from the inbox.
func (c *wsClient) await(what string, pred func(topic, event string, payload json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	timer := time.AfterFunc(30*time.Second, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, m := range c.msgs {
			if m == nil {
				continue
			}
			var topic, event string
			_ = json.Unmarshal(m[2], &topic)
			_ = json.Unmarshal(m[3], &event)
			if pred(topic, event, m[4]) {
				c.msgs = append(c.msgs[:i:i], c.msgs[i+1:]...)
				return m[4]
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		c.cond.Wait()
	}
}

// join joins topic with config and waits for the ok reply.
func (c *wsClient) join(topic string, config map[string]any) string {
	c.t.Helper()
	ref := c.push("", topic, "phx_join", map[string]any{"config": config})
	reply := c.await("join reply", func(tp, ev string, p json.RawMessage) bool {
		return tp == topic && ev == "phx_reply" && strings.Contains(string(p), `"status"`)
	})
	require.Contains(c.t, string(reply), `"status":"ok"`, string(reply))
	return ref
}

func is(topic, event string) func(string, string, json.RawMessage) bool {
	return func(tp, ev string, _ json.RawMessage) bool { return tp == topic && ev == event }
}

// TestRealtimeAcrossTwoNodes runs two goforward processes on one database and one
// redis-server: broadcasts and presence cross nodes, a row inserted through one node's REST
// API reaches a subscriber of the other, and when the node reading the replication stream is
// killed the other takes over with no committed row lost.
func TestRealtimeAcrossTwoNodes(t *testing.T) {
	t.Parallel()
	redisSrv := redistest.Start(t)
	database := pgtest.NewDatabase(t)
	database.RequestPool(t) // sets the authenticator's password both nodes use
	slot := realtime.DefaultSlotName(database.Name)
	ctx := context.Background()
	t.Cleanup(func() {
		// Runs after both servers stopped: a slot still held would keep the database alive.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			_, err := database.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot(slot_name)
				FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, slot)
			var left int
			_ = database.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&left)
			if err == nil && left == 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	_, err := database.Pool.Exec(ctx, `CREATE TABLE public.rt_events (id int PRIMARY KEY, note text);
		ALTER PUBLICATION supabase_realtime ADD TABLE public.rt_events`)
	require.NoError(t, err)

	env := []string{
		"DATABASE_URL=" + database.URL,
		"REDIS_URL=" + redisSrv.URL,
		"JWT_SECRET=e2e-realtime-secret-0123456789abcdef0123456789",
		"GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD=" + pgtest.AuthenticatorPassword,
		"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0",
	}
	nodes := []*server{startServer(t, tempDataDir(t), env), startServer(t, tempDataDir(t), env)}
	for _, n := range nodes {
		n.waitReady(60 * time.Second)
	}
	anonKey := statusJSON(t, nodes[0].dataDir)["anon_key"].(string)

	// Broadcast: sent on node 2, received on node 1.
	receiver, sender := dialRealtime(t, nodes[0].url(), anonKey), dialRealtime(t, nodes[1].url(), anonKey)
	receiver.join("realtime:room", map[string]any{})
	senderRef := sender.join("realtime:room", map[string]any{"broadcast": map[string]any{"ack": true}})
	sender.push(senderRef, "realtime:room", "broadcast", map[string]any{"type": "broadcast", "event": "hello", "payload": map[string]any{"from": 2}})
	got := receiver.await("the broadcast from node 2", is("realtime:room", "broadcast"))
	require.JSONEq(t, `{"type":"broadcast","event":"hello","payload":{"from":2}}`, string(got))

	// Presence: the same on both nodes.
	alice := dialRealtime(t, nodes[0].url(), anonKey)
	aliceRef := alice.join("realtime:lobby", map[string]any{"presence": map[string]any{"key": "alice", "enabled": true}})
	alice.push(aliceRef, "realtime:lobby", "presence", map[string]any{"type": "presence", "event": "track", "payload": map[string]any{"on": 1}})
	alice.await("alice's own join", func(tp, ev string, p json.RawMessage) bool {
		return tp == "realtime:lobby" && ev == "presence_diff" && strings.Contains(string(p), "alice")
	})
	for _, n := range nodes {
		observer := dialRealtime(t, n.url(), anonKey)
		observer.join("realtime:lobby", map[string]any{"presence": map[string]any{"key": "observer", "enabled": true}})
		state := observer.await("presence_state", is("realtime:lobby", "presence_state"))
		require.Contains(t, string(state), `"alice"`, "node %s sees alice", n.url())
	}

	// Changes: subscribers on both nodes; rows written through node 2's REST API.
	subscribe := func(n *server) *wsClient {
		c := dialRealtime(t, n.url(), anonKey)
		c.join("realtime:events", map[string]any{"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": "rt_events"}}})
		sys := c.await("Subscribed to PostgreSQL", is("realtime:events", "system"))
		require.Contains(t, string(sys), "Subscribed to PostgreSQL")
		return c
	}
	subs := []*wsClient{subscribe(nodes[0]), subscribe(nodes[1])}
	status := postJSON(t, nodes[1].url()+"/rest/v1/rt_events", anonKey, map[string]any{"id": 1, "note": "via node 2"})
	require.Equal(t, http.StatusCreated, status)
	for _, c := range subs {
		payload := c.await("the row inserted through REST", is("realtime:events", "postgres_changes"))
		require.Contains(t, string(payload), `"note":"via node 2"`)
	}

	// Kill the node reading the stream (no shutdown at all) while rows keep coming.
	var reader, survivor int
	require.Eventually(t, func() bool {
		var app string
		err := database.Pool.QueryRow(ctx, `SELECT a.application_name FROM pg_replication_slots s
			JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1`, slot).Scan(&app)
		if err != nil {
			return false
		}
		for i, n := range nodes {
			if app == fmt.Sprintf("goforward realtime reader pid=%d", n.cmd.Process.Pid) {
				reader, survivor = i, 1-i
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "one node reads the replication stream")

	inserted := make(chan struct{})
	go func() {
		defer close(inserted)
		for id := 100; id < 150; id++ {
			_, _ = database.Pool.Exec(context.Background(), `INSERT INTO public.rt_events (id) VALUES ($1)`, id)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	nodes[reader].signal(syscall.SIGKILL)
	<-nodes[reader].done
	<-inserted

	// Each insert committed before the next began, so commit order is id order. A change the
	// killed reader published but never confirmed is read again by the survivor (delivery is
	// at least once), but every row arrives for the first time in commit order: no row may
	// show up after a later one did.
	seen := map[int]bool{}
	latest := 99
	watcher := subs[survivor]
	for len(seen) < 50 {
		payload := watcher.await("rows after the reader was killed", is("realtime:events", "postgres_changes"))
		var change struct {
			Data struct {
				Record struct {
					ID int `json:"id"`
				} `json:"record"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(payload, &change))
		if id := change.Data.Record.ID; id >= 100 && !seen[id] {
			require.Equal(t, latest+1, id, "rows arrive in commit order, none missing")
			seen[id] = true
			latest = id
		}
	}
}

func postJSON(t *testing.T, url, apikey string, body any) int {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(raw)))
	require.NoError(t, err)
	req.Header.Set("apikey", apikey)
	req.Header.Set("Authorization", "Bearer "+apikey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
