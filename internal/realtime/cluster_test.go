package realtime_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/redistest"
	"github.com/goforward/goforward/internal/servicetest"
)

// cluster starts two nodes sharing one database and one redis-server.
func cluster(t *testing.T, changes bool) (*node, *node) {
	t.Helper()
	srv := redistest.Start(t)
	prefix := realtime.Config{RedisPrefix: fmt.Sprintf("test-%d:", time.Now().UnixNano())}
	n1 := startNode(t, options{cfg: prefix, changes: changes, redis: srv.URL})
	n2 := startNode(t, options{cfg: prefix, changes: changes, redis: srv.URL, env: n1.env})
	return n1, n2
}

func TestClusterBroadcastCrossesNodes(t *testing.T) {
	t.Parallel()
	n1, n2 := cluster(t, false)
	receiver, sender := dial(t, n1), dial(t, n2)
	receiver.join("realtime:room", channelConfig{}, "")
	joinRef, _ := sender.join("realtime:room", channelConfig{Broadcast: map[string]any{"ack": true}}, "")

	ref := sender.send(joinRef, "realtime:room", "broadcast", broadcastMsg("hello", map[string]any{"from": "node 2"}))
	require.Equal(t, "ok", sender.awaitReply("realtime:room", ref).Status)
	got := receiver.expect(broadcastEvent("realtime:room", "hello"))
	require.JSONEq(t, `{"type":"broadcast","event":"hello","payload":{"from":"node 2"}}`, string(got.Payload))
	require.False(t, sender.seenBefore(broadcastEvent("realtime:room", "hello"), heartbeatReply(sender)), "self is off on every node")

	// The REST endpoint of one node reaches subscribers of the other.
	resp := n2.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast",
		Body: map[string]any{"messages": []map[string]any{{"topic": "room", "event": "rest", "payload": map[string]any{}}}}})
	require.Equal(t, http.StatusAccepted, resp.Status)
	receiver.expect(broadcastEvent("realtime:room", "rest"))
}

func TestClusterPresenceIsTheSameOnEveryNode(t *testing.T) {
	t.Parallel()
	n1, n2 := cluster(t, false)
	alice := dial(t, n1)
	aliceRef, _ := alice.join("realtime:lobby", presenceOn("alice"), "")
	alice.expectPresenceState("realtime:lobby")
	alice.track(aliceRef, "realtime:lobby", map[string]any{"node": 1})

	bob := dial(t, n2)
	bobRef, _ := bob.join("realtime:lobby", presenceOn("bob"), "")
	require.Contains(t, bob.expectPresenceState("realtime:lobby"), "alice", "node 2 sees who tracked on node 1")
	bob.track(bobRef, "realtime:lobby", map[string]any{"node": 2})
	alice.expectPresenceDiff("realtime:lobby", joinsKey("bob"))

	for _, n := range []*node{n1, n2} {
		c := dial(t, n)
		c.join("realtime:lobby", presenceOn("observer"), "")
		state := c.expectPresenceState("realtime:lobby")
		require.Contains(t, state, "alice")
		require.Contains(t, state, "bob")
	}

	// A connection that dies on node 2 leaves on node 1.
	require.NoError(t, bob.ws.NetConn().Close())
	alice.expectPresenceDiff("realtime:lobby", leavesKey("bob"))
}

// TestClusterChangesSurviveTheReaderStopping: one node reads the replication stream for
// both; when it stops, the other takes over from the confirmed position and no committed row
// is lost for a subscriber on the surviving node.
func TestClusterChangesSurviveTheReaderStopping(t *testing.T) {
	t.Parallel()
	n1, n2 := cluster(t, true)
	n1.exec(t, `CREATE TABLE public.events (id int PRIMARY KEY)`)
	n1.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.events`)

	require.Eventually(t, func() bool { return n1.isReader(t) != n2.isReader(t) }, waitTimeout, 10*time.Millisecond,
		"exactly one node reads the stream")
	reader, other := n1, n2
	if n2.isReader(t) {
		reader, other = n2, n1
	}
	watcher := dial(t, other)
	watcher.subscribe("realtime:events", "", pgBinding("INSERT", "events", ""))
	near := dial(t, reader)
	near.subscribe("realtime:events", "", pgBinding("INSERT", "events", ""))

	n1.exec(t, `INSERT INTO events VALUES (1)`)
	watcher.expectChange("realtime:events", recordField("id", 1.0))
	near.expectChange("realtime:events", recordField("id", 1.0))

	inserted := make(chan struct{})
	go func() {
		defer close(inserted)
		for i := 2; i <= 40; i++ {
			_, _ = other.env.DB.Pool.Exec(context.Background(), `INSERT INTO events VALUES ($1)`, i)
		}
	}()
	reader.stop()
	<-inserted
	require.Eventually(t, func() bool { return other.isReader(t) }, waitTimeout, 10*time.Millisecond, "the other node takes over")

	seen := map[float64]bool{}
	for len(seen) < 39 {
		cm := watcher.expectChange("realtime:events", anyChange)
		if id := cm.Data.Record["id"].(float64); id >= 2 {
			seen[id] = true
		}
	}
}
