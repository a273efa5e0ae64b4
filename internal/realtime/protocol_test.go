package realtime_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
)

func TestHeartbeatIsAnswered(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	for _, vsn := range []string{phoenix.Version1, phoenix.Version2} {
		c := dial(t, n, dialOptions{vsn: vsn})
		ref := c.send("", "phoenix", "heartbeat", map[string]any{})
		reply := c.awaitReply("phoenix", ref)
		require.Equal(t, "ok", reply.Status)
		require.JSONEq(t, `{}`, string(reply.Response))
	}
}

func TestJoinAndLeave(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	for _, vsn := range []string{phoenix.Version1, phoenix.Version2} {
		t.Run(vsn, func(t *testing.T) {
			c := dial(t, n, dialOptions{vsn: vsn})
			joinRef, reply := c.join("realtime:room1", channelConfig{}, "")
			require.Equal(t, "ok", reply.Status)
			require.JSONEq(t, `{"postgres_changes":[]}`, string(reply.Response))

			ref := c.send(joinRef, "realtime:room1", "phx_leave", map[string]any{})
			require.Equal(t, "ok", c.awaitReply("realtime:room1", ref).Status)
			closed := c.expect(event("realtime:room1", "phx_close"))
			require.Equal(t, joinRef, closed.Ref, "realtime-js only accepts a phx_close carrying its join ref")
			require.Equal(t, joinRef, closed.JoinRef)

			// After leaving, the topic is no longer joined.
			ref = c.send(joinRef, "realtime:room1", "broadcast", map[string]any{"type": "broadcast", "event": "x", "payload": map[string]any{}})
			reply = c.awaitReply("realtime:room1", ref)
			require.Equal(t, "error", reply.Status)
			require.JSONEq(t, `{"reason":"unmatched topic"}`, string(reply.Response))
		})
	}
}

func TestJoinErrors(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)

	_, reply := c.join("realtime:", channelConfig{}, "")
	require.Equal(t, "error", reply.Status)
	require.JSONEq(t, `{"reason":"TopicNameRequired: You must provide a topic name"}`, string(reply.Response))

	_, reply = c.join("elsewhere:room", channelConfig{}, "")
	require.Equal(t, "error", reply.Status)
	require.JSONEq(t, `{"reason":"unmatched topic"}`, string(reply.Response))

	_, reply = c.join("realtime:room", channelConfig{}, "not-a-jwt")
	require.Equal(t, "error", reply.Status)
	require.JSONEq(t, `{"reason":"MalformedJWT: The token provided is not a valid JWT"}`, string(reply.Response))
}

func TestJoinAgainReplacesTheChannel(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	first, _ := c.join("realtime:room", channelConfig{}, "")
	second, reply := c.join("realtime:room", channelConfig{}, "")
	require.Equal(t, "ok", reply.Status)
	closed := c.expect(event("realtime:room", "phx_close"))
	require.Equal(t, first, closed.JoinRef, "the old channel is closed")
	require.NotEqual(t, first, second)
}

func TestHeartbeatTimeoutClosesSilentConnections(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{HeartbeatTimeout: 300 * time.Millisecond}})
	c := dial(t, n)
	c.join("realtime:room", channelConfig{}, "")
	code, text := c.waitClosed()
	require.Equal(t, websocket.CloseNormalClosure, code)
	require.Equal(t, "heartbeat timeout", text)
}

func TestHeartbeatsKeepTheConnectionOpen(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{HeartbeatTimeout: time.Second}})
	c := dial(t, n)
	// Heartbeats well within the timeout, for longer than the timeout in total.
	for range 6 {
		ref := c.send("", "phoenix", "heartbeat", map[string]any{})
		require.Equal(t, "ok", c.awaitReply("phoenix", ref).Status)
		time.Sleep(300 * time.Millisecond)
	}
}

func TestConnectNeedsAnAPIKeyAndAKnownSerializer(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	_, resp, err := tryDial(t, n, dialOptions{key: "wrong"})
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	_, resp, err = tryDial(t, n, dialOptions{vsn: "3.0.0"})
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestMalformedFramesAreIgnored(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	c.sendRaw(websocket.TextMessage, []byte(`not json`))
	c.sendRaw(websocket.BinaryMessage, []byte{9, 9})
	ref := c.send("", "phoenix", "heartbeat", map[string]any{})
	require.Equal(t, "ok", c.awaitReply("phoenix", ref).Status, "the connection survives garbage")
}

func TestServerShutdownClosesConnections(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	c.join("realtime:room", channelConfig{}, "")
	n.stop()
	code, text := c.waitClosed()
	require.Equal(t, websocket.CloseGoingAway, code)
	require.Equal(t, "server shutting down", text)
}

// TestV1SerializerUsesObjects checks the 1.0.0 wire shape end to end.
func TestV1SerializerUsesObjects(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	u := n.url
	ws, _, err := websocket.DefaultDialer.Dial("ws"+u[len("http"):]+realtime.Prefix+"/websocket?vsn=1.0.0&apikey="+n.env.AnonKey(), nil)
	require.NoError(t, err)
	defer ws.Close()
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"5"}`)))
	_, data, err := ws.ReadMessage()
	require.NoError(t, err)
	require.JSONEq(t, `{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"5","join_ref":null}`, string(data))
}
