package realtime_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// presenceGroups is presence_state, or one side of presence_diff.
type presenceGroups map[string]struct {
	Metas []map[string]any `json:"metas"`
}

type presenceDiff struct {
	Joins  presenceGroups `json:"joins"`
	Leaves presenceGroups `json:"leaves"`
}

func presenceOn(key string) channelConfig {
	return channelConfig{Presence: map[string]any{"key": key, "enabled": true}}
}

func (c *client) expectPresenceState(topic string) presenceGroups {
	c.t.Helper()
	m := c.expect(event(topic, "presence_state"))
	var s presenceGroups
	require.NoError(c.t, json.Unmarshal(m.Payload, &s))
	return s
}

func (c *client) expectPresenceDiff(topic string, match func(presenceDiff) bool) presenceDiff {
	c.t.Helper()
	var diff presenceDiff
	c.expect(func(m phoenix.Message) bool {
		if m.Topic != topic || m.Event != "presence_diff" {
			return false
		}
		var d presenceDiff
		if json.Unmarshal(m.Payload, &d) != nil || !match(d) {
			return false
		}
		diff = d
		return true
	})
	return diff
}

func joinsKey(key string) func(presenceDiff) bool {
	return func(d presenceDiff) bool { _, ok := d.Joins[key]; return ok }
}

func leavesKey(key string) func(presenceDiff) bool {
	return func(d presenceDiff) bool { _, ok := d.Leaves[key]; return ok }
}

func (c *client) track(joinRef, topic string, state map[string]any) {
	c.t.Helper()
	ref := c.send(joinRef, topic, "presence", map[string]any{"type": "presence", "event": "track", "payload": state})
	require.Equal(c.t, "ok", c.awaitReply(topic, ref).Status)
}

func TestPresenceTrackStateAndUntrack(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	alice, bob := dial(t, n), dial(t, n)

	aliceRef, _ := alice.join("realtime:lobby", presenceOn("alice"), "")
	require.Empty(t, alice.expectPresenceState("realtime:lobby"))
	alice.track(aliceRef, "realtime:lobby", map[string]any{"status": "online"})
	diff := alice.expectPresenceDiff("realtime:lobby", joinsKey("alice"))
	require.Len(t, diff.Joins["alice"].Metas, 1)
	meta := diff.Joins["alice"].Metas[0]
	require.Equal(t, "online", meta["status"])
	require.NotEmpty(t, meta["phx_ref"], "realtime-js reads phx_ref as presence_ref")

	bob.join("realtime:lobby", presenceOn("bob"), "")
	state := bob.expectPresenceState("realtime:lobby")
	require.Equal(t, presenceGroups{"alice": {Metas: []map[string]any{meta}}}, state)

	// Tracking again replaces the state: the diff carries the new meta and the old one's leave.
	alice.track(aliceRef, "realtime:lobby", map[string]any{"status": "away"})
	diff = bob.expectPresenceDiff("realtime:lobby", func(d presenceDiff) bool {
		j, ok := d.Joins["alice"]
		return ok && j.Metas[0]["status"] == "away"
	})
	require.Equal(t, meta["phx_ref"], diff.Leaves["alice"].Metas[0]["phx_ref"])

	ref := alice.send(aliceRef, "realtime:lobby", "presence", map[string]any{"type": "presence", "event": "untrack"})
	require.Equal(t, "ok", alice.awaitReply("realtime:lobby", ref).Status)
	bob.expectPresenceDiff("realtime:lobby", leavesKey("alice"))
}

func TestPresenceLeavesWhenTheConnectionDies(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	alice, bob := dial(t, n), dial(t, n)
	aliceRef, _ := alice.join("realtime:lobby", presenceOn("alice"), "")
	alice.track(aliceRef, "realtime:lobby", map[string]any{"n": 1})
	bob.join("realtime:lobby", presenceOn("bob"), "")
	require.Contains(t, bob.expectPresenceState("realtime:lobby"), "alice")

	// No leave, no close frame: the TCP connection just goes away.
	require.NoError(t, alice.ws.NetConn().Close())
	bob.expectPresenceDiff("realtime:lobby", leavesKey("alice"))

	carol := dial(t, n)
	carol.join("realtime:lobby", presenceOn("carol"), "")
	require.NotContains(t, carol.expectPresenceState("realtime:lobby"), "alice")
}

func TestPresenceLeavesWithTheChannel(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	alice, bob := dial(t, n), dial(t, n)
	aliceRef, _ := alice.join("realtime:lobby", presenceOn("alice"), "")
	alice.track(aliceRef, "realtime:lobby", map[string]any{})
	bob.join("realtime:lobby", presenceOn("bob"), "")
	bob.expectPresenceState("realtime:lobby")
	alice.send(aliceRef, "realtime:lobby", "phx_leave", map[string]any{})
	bob.expectPresenceDiff("realtime:lobby", leavesKey("alice"))
}

func TestTrackTurnsPresenceOn(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	alice, bob := dial(t, n), dial(t, n)
	bobRef, _ := bob.join("realtime:room", presenceOn("bob"), "")
	bob.track(bobRef, "realtime:room", map[string]any{"b": true})

	// Alice joined without presence listeners: no state, until she tracks.
	aliceRef, _ := alice.join("realtime:room", channelConfig{Presence: map[string]any{"key": "alice", "enabled": false}}, "")
	require.False(t, alice.seenBefore(event("realtime:room", "presence_state"), heartbeatReply(alice)))
	alice.track(aliceRef, "realtime:room", map[string]any{"a": true})
	state := alice.expectPresenceState("realtime:room")
	require.Contains(t, state, "bob")
}

func TestPresenceKeyIsGeneratedWhenEmpty(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	ref, _ := c.join("realtime:room", presenceOn(""), "")
	c.expectPresenceState("realtime:room")
	c.track(ref, "realtime:room", map[string]any{})
	diff := c.expectPresenceDiff("realtime:room", func(d presenceDiff) bool { return len(d.Joins) == 1 })
	for key := range diff.Joins {
		require.Len(t, key, 32)
	}
}

func TestPresenceTrackNeedsAnObject(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", presenceOn("k"), "")
	ref := c.send(joinRef, "realtime:room", "presence", map[string]any{"type": "presence", "event": "track", "payload": []int{1}})
	reply := c.awaitReply("realtime:room", ref)
	require.Equal(t, "error", reply.Status)
	require.JSONEq(t, `{"reason":"Presence track payload must be a map"}`, string(reply.Response))
}
