package realtime_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// refusedDial dials and expects the handshake to be refused with 429 and message.
func refusedDial(t *testing.T, n *node, message string, opts ...dialOptions) {
	t.Helper()
	_, resp, err := tryDial(t, n, opts...)
	require.Error(t, err, "the socket is refused before it opens")
	require.NotNil(t, resp)
	defer resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, message, body["message"])
}

func TestConnectionLimitPerKey(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MaxConnectionsPerKey: 1}})
	first := dial(t, n)
	_, reply := first.join("realtime:a", channelConfig{}, "")
	require.Equal(t, "ok", reply.Status)

	// Supabase refuses such a socket in its connect, with this text; one that stayed open
	// would keep holding memory and a goroutine however many joins it was refused.
	refusedDial(t, n, "Too many connected users")

	// Another key has its own allowance.
	other := dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	_, reply = other.join("realtime:a", channelConfig{}, "")
	require.Equal(t, "ok", reply.Status)

	// A closed connection gives its place back.
	require.NoError(t, first.ws.Close())
	require.Eventually(t, func() bool {
		c, _, err := tryDial(t, n)
		if err != nil {
			return false
		}
		_, reply := c.join("realtime:a", channelConfig{}, "")
		return reply.Status == "ok"
	}, waitTimeout, 50*time.Millisecond)
}

// One client must not be able to take every connection of the anon key, which all of an
// application's users share.
func TestConnectionLimitPerAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MaxConnectionsPerIP: 2}})
	first := dial(t, n)
	dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	refusedDial(t, n, "Too many connections from this address")
	refusedDial(t, n, "Too many connections from this address", dialOptions{key: n.env.ServiceRoleKey()})

	require.NoError(t, first.ws.Close())
	require.Eventually(t, func() bool {
		c, _, err := tryDial(t, n)
		if err == nil {
			require.NoError(t, c.ws.Close())
		}
		return err == nil
	}, waitTimeout, 50*time.Millisecond, "a closed connection gives its place back")
}

func TestJoinsCountAgainstTheMessageRate(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MessagesPerSecond: 1}})
	c := dial(t, n)
	// Joins are sent without waiting for their replies, as fast as a script can: the burst
	// allowance (3 at one message per second) is gone long before a token comes back. The
	// server may close the socket before the last are written.
	const joins = 20
	var refs []string
	for i := range joins {
		ref := strconv.Itoa(i + 1)
		frame := phoenix.Encode(c.vsn, phoenix.Message{JoinRef: ref, Ref: ref, Topic: fmt.Sprintf("realtime:room%d", i), Event: "phx_join", Payload: json.RawMessage(`{"config":{}}`)})
		if c.ws.WriteMessage(websocket.TextMessage, frame) != nil {
			break
		}
		refs = append(refs, ref)
	}
	refused := 0
	for i, ref := range refs {
		m, ok := c.next(func(m phoenix.Message) bool { return m.Event == "phx_reply" && m.Ref == ref }, waitTimeout)
		if !ok {
			break // the socket closed after the refusal
		}
		var r replyPayload
		require.NoError(t, json.Unmarshal(m.Payload, &r))
		if r.Status == "error" {
			require.JSONEq(t, `{"reason":"ClientJoinRateLimitReached: Too many joins per second"}`, string(r.Response), "join %d", i)
			refused++
		}
	}
	require.Equal(t, 1, refused, "the first refused join ends the socket")
	code, text := c.waitClosed()
	require.Equal(t, websocket.ClosePolicyViolation, code)
	require.Equal(t, "Too many joins per second", text)
}

func TestBindingsPerJoinAreCapped(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true, cfg: realtime.Config{MaxBindingsPerChannel: 3}})
	n.exec(t, `CREATE TABLE public.items (id int PRIMARY KEY, n int)`)
	bindings := func(count int) []map[string]any {
		out := make([]map[string]any, count)
		for i := range out {
			out[i] = pgBinding("INSERT", "items", fmt.Sprintf("n=eq.%d", i))
		}
		return out
	}
	c := dial(t, n)
	_, reply := c.join("realtime:many", channelConfig{PostgresChanges: bindings(4)}, "")
	require.Equal(t, "InvalidJoinPayload: too many postgres_changes bindings (4); a channel may have at most 3", replyReason(t, reply))
	c.subscribe("realtime:many", "", bindings(3)...)
}

// However many bindings a join has, their tables and filter columns are looked up in one
// round trip (a join of 8,000 bindings used to run 8,000 transactions).
func TestBindingsAreCheckedInOneRoundTrip(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.a (id int PRIMARY KEY, n int)`)
	n.exec(t, `CREATE TABLE public.b (id int PRIMARY KEY, label text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.a, public.b`)
	var bindings []map[string]any
	for i := range 50 {
		table, filter := "a", fmt.Sprintf("n=gt.%d", i)
		if i%2 == 1 {
			table, filter = "b", fmt.Sprintf("label=eq.x%d", i)
		}
		bindings = append(bindings, pgBinding("INSERT", table, filter))
	}
	c := dial(t, n)
	pool := n.env.Runner.Pool()
	before := pool.Stat().AcquireCount()
	c.subscribe("realtime:fifty", "", bindings...)
	require.Equal(t, int64(1), pool.Stat().AcquireCount()-before, "one database round trip for the join's bindings")

	// And they still work: a row matching some of them reaches the channel.
	n.exec(t, `INSERT INTO b VALUES (1, 'x7')`)
	got := c.expectChange("realtime:fifty", anyChange)
	require.Len(t, got.IDs, 1)
}

func TestPresenceStatePerConnectionIsBounded(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MaxPresenceBytesPerConnection: 2000}})
	c := dial(t, n)
	refA, _ := c.join("realtime:a", presenceOn("k"), "")
	refB, _ := c.join("realtime:b", presenceOn("k"), "")
	big := map[string]any{"pad": strings.Repeat("x", 1100)}

	c.track(refA, "realtime:a", big)
	ref := c.send(refB, "realtime:b", "presence", map[string]any{"type": "presence", "event": "track", "payload": big})
	require.Equal(t, "PresenceStateTooLarge: the presence state tracked on this connection would exceed 2000 bytes",
		replyReason(t, c.awaitReply("realtime:b", ref)))

	// Tracking again replaces a channel's state rather than adding to it, and what a channel
	// untracks is given back.
	c.track(refA, "realtime:a", big)
	ref = c.send(refA, "realtime:a", "presence", map[string]any{"type": "presence", "event": "untrack"})
	require.Equal(t, "ok", c.awaitReply("realtime:a", ref).Status)
	c.track(refB, "realtime:b", big)

	// A presence key is part of the state; an oversized one is refused at the join.
	_, reply := c.join("realtime:c", presenceOn(strings.Repeat("k", 1025)), "")
	require.Equal(t, "InvalidJoinPayload: the presence key is longer than 1024 bytes", replyReason(t, reply))
}

// A token refresh verifies a token and, on a private channel, runs its policies in the
// database: it counts against the message rate like a broadcast.
func TestTokenRefreshesCountAgainstTheMessageRate(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MessagesPerSecond: 1}})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{}, "")
	for range 10 {
		c.send(joinRef, "realtime:room", "access_token", map[string]any{"access_token": n.env.UserToken(t, userA, nil)})
	}
	sys := c.expectSystem("realtime:room")
	require.Equal(t, "Too many messages per second", sys.Message)
	c.expect(event("realtime:room", "phx_close"))
}
