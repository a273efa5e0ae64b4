package realtime_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/servicetest"
)

func heartbeatReply(c *client) func(phoenix.Message) bool {
	ref := c.send("", "phoenix", "heartbeat", map[string]any{})
	return func(m phoenix.Message) bool { return m.Topic == "phoenix" && m.Ref == ref }
}

func broadcastMsg(event string, payload any) map[string]any {
	return map[string]any{"type": "broadcast", "event": event, "payload": payload}
}

func TestBroadcastReachesOthersButNotTheSenderByDefault(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	sender, receiver := dial(t, n), dial(t, n)
	joinRef, _ := sender.join("realtime:room", channelConfig{}, "")
	receiver.join("realtime:room", channelConfig{}, "")

	sender.send(joinRef, "realtime:room", "broadcast", broadcastMsg("cursor", map[string]any{"x": 1}))
	got := receiver.expect(broadcastEvent("realtime:room", "cursor"))
	require.JSONEq(t, `{"type":"broadcast","event":"cursor","payload":{"x":1}}`, string(got.Payload))
	require.Empty(t, got.JoinRef)

	require.False(t, sender.seenBefore(broadcastEvent("realtime:room", "cursor"), heartbeatReply(sender)),
		"without self the sender does not get its own broadcast")
	require.False(t, sender.seenBefore(event("realtime:room", "phx_reply"), heartbeatReply(sender)),
		"without ack a broadcast is not answered")
}

func TestBroadcastWithSelfAndAck(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{Broadcast: map[string]any{"self": true, "ack": true}}, "")
	ref := c.send(joinRef, "realtime:room", "broadcast", broadcastMsg("ping", map[string]any{"n": 2}))
	require.Equal(t, "ok", c.awaitReply("realtime:room", ref).Status)
	got := c.expect(broadcastEvent("realtime:room", "ping"))
	require.JSONEq(t, `{"type":"broadcast","event":"ping","payload":{"n":2}}`, string(got.Payload))
}

func TestBroadcastStaysInItsTopic(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	sender, other := dial(t, n), dial(t, n)
	joinRef, _ := sender.join("realtime:a", channelConfig{}, "")
	other.join("realtime:b", channelConfig{}, "")
	sender.send(joinRef, "realtime:a", "broadcast", broadcastMsg("x", map[string]any{}))
	marker := dial(t, n)
	marker.join("realtime:a", channelConfig{}, "")
	sender.send(joinRef, "realtime:a", "broadcast", broadcastMsg("y", map[string]any{}))
	marker.expect(broadcastEvent("realtime:a", "y"))
	require.False(t, other.seenBefore(broadcastEvent("realtime:a", "x"), heartbeatReply(other)))
}

// userBroadcastPush is a kind-3 frame as realtime-js 2.x sends every socket broadcast.
func userBroadcastPush(joinRef, ref, topic, event string, encoding byte, payload []byte) []byte {
	out := []byte{3, byte(len(joinRef)), byte(len(ref)), byte(len(topic)), byte(len(event)), 0, encoding}
	out = append(out, joinRef...)
	out = append(out, ref...)
	out = append(out, topic...)
	out = append(out, event...)
	return append(out, payload...)
}

func TestBinaryBroadcastPushes(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	sender := dial(t, n)
	v2, v1 := dial(t, n), dial(t, n, dialOptions{vsn: phoenix.Version1})
	joinRef, _ := sender.join("realtime:room", channelConfig{Broadcast: map[string]any{"ack": true}}, "")
	v2.join("realtime:room", channelConfig{}, "")
	v1.join("realtime:room", channelConfig{}, "")

	// A JSON user payload reaches both serializers as an ordinary broadcast.
	sender.sendRaw(websocket.BinaryMessage, userBroadcastPush(joinRef, "77", "realtime:room", "json-event", 1, []byte(`{"a":[1,2]}`)))
	require.Equal(t, "ok", sender.awaitReply("realtime:room", "77").Status)
	for _, c := range []*client{v2, v1} {
		got := c.expect(broadcastEvent("realtime:room", "json-event"))
		require.JSONEq(t, `{"type":"broadcast","event":"json-event","payload":{"a":[1,2]}}`, string(got.Payload))
	}

	// Bytes reach 2.0.0 clients as a binary frame; 1.0.0 cannot carry them.
	sender.sendRaw(websocket.BinaryMessage, userBroadcastPush(joinRef, "78", "realtime:room", "bytes", 0, []byte{0, 255, 7}))
	require.Equal(t, "ok", sender.awaitReply("realtime:room", "78").Status)
	got := v2.expect(broadcastEvent("realtime:room", "bytes"))
	require.NotNil(t, got.Broadcast)
	require.False(t, got.Broadcast.JSON)
	require.Equal(t, []byte{0, 255, 7}, got.Broadcast.Payload)
	require.False(t, v1.seenBefore(broadcastEvent("realtime:room", "bytes"), heartbeatReply(v1)))
}

func TestBroadcastAPI(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	c.join("realtime:news", channelConfig{}, "")

	resp := n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast",
		Body: map[string]any{"messages": []map[string]any{{"topic": "news", "event": "headline", "payload": map[string]any{"t": "hi"}}}}})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	got := c.expect(broadcastEvent("realtime:news", "headline"))
	require.JSONEq(t, `{"type":"broadcast","event":"headline","payload":{"t":"hi"}}`, string(got.Payload))

	// realtime-js httpSend: one message per request, JSON or bytes.
	resp = n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast/news/events/single", Body: map[string]any{"k": 1}})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	got = c.expect(broadcastEvent("realtime:news", "single"))
	require.JSONEq(t, `{"type":"broadcast","event":"single","payload":{"k":1}}`, string(got.Payload))

	resp = n.env.Do(t, servicetest.Request{Method: http.MethodPost, Path: realtime.Prefix + "/api/broadcast/news/events/raw",
		Body: bytes.NewReader([]byte{1, 2, 3}), Header: http.Header{"Content-Type": {"application/octet-stream"}}})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	got = c.expect(broadcastEvent("realtime:news", "raw"))
	require.Equal(t, []byte{1, 2, 3}, got.Broadcast.Payload)
}

func TestBroadcastAPIErrors(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	tests := []struct {
		name   string
		req    servicetest.Request
		status int
		msg    string
	}{
		{"no messages", servicetest.Request{Body: map[string]any{"messages": []any{}}}, http.StatusBadRequest, "messages must hold"},
		{"no topic", servicetest.Request{Body: map[string]any{"messages": []any{map[string]any{"event": "e"}}}}, http.StatusBadRequest, "needs a topic and an event"},
		{"private without a policy", servicetest.Request{Body: map[string]any{"messages": []any{map[string]any{"topic": "t", "event": "e", "private": true}}}}, http.StatusForbidden, "You do not have permissions to write to this Channel topic: t"},
		{"bad bearer", servicetest.Request{Token: "not.a.jwt", Body: map[string]any{"messages": []any{map[string]any{"topic": "t", "event": "e"}}}}, http.StatusUnauthorized, "Invalid JWT"},
		{"not json", servicetest.Request{Body: "nope", Header: http.Header{"Content-Type": {"application/json"}}}, http.StatusBadRequest, "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Method, tt.req.Path = http.MethodPost, realtime.Prefix+"/api/broadcast"
			resp := n.env.Do(t, tt.req)
			require.Equal(t, tt.status, resp.Status, string(resp.Body))
			var body map[string]string
			resp.JSON(t, &body)
			require.Contains(t, body["message"], tt.msg)
		})
	}
}

func TestTooManyMessagesPerSecondClosesTheChannel(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MessagesPerSecond: 1}})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{}, "")
	for range 10 {
		c.send(joinRef, "realtime:room", "broadcast", broadcastMsg("spam", map[string]any{}))
	}
	sys := c.expectSystem("realtime:room")
	require.Equal(t, systemMessage{Extension: "system", Status: "error", Message: "Too many messages per second", Channel: "room"}, sys)
	closed := c.expect(event("realtime:room", "phx_close"))
	require.Equal(t, joinRef, closed.Ref)
}

func TestChannelLimit(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{MaxChannelsPerConnection: 2}})
	c := dial(t, n)
	for _, topic := range []string{"realtime:a", "realtime:b"} {
		_, reply := c.join(topic, channelConfig{}, "")
		require.Equal(t, "ok", reply.Status)
	}
	_, reply := c.join("realtime:c", channelConfig{}, "")
	require.Equal(t, "error", reply.Status)
	require.JSONEq(t, `{"reason":"ChannelRateLimitReached: Too many channels"}`, string(reply.Response))
}

// TestSlowConsumerIsDisconnected: a client that stops reading is cut off once its queue is
// full, and the others keep receiving.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{cfg: realtime.Config{SendQueueSize: 8, MessagesPerSecond: 1e6}})
	sender, healthy := dial(t, n), dial(t, n)
	joinRef, _ := sender.join("realtime:flood", channelConfig{}, "")
	healthy.join("realtime:flood", channelConfig{}, "")

	// The slow client joins and then never reads again; a small receive buffer makes the
	// kernel stop taking its data early.
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		conn, err := net.Dial(network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(4096)
		}
		return conn, err
	}}
	u := strings.Replace(n.url, "http://", "ws://", 1) + realtime.Prefix + "/websocket?vsn=2.0.0&apikey=" + n.env.AnonKey()
	slow, _, err := dialer.Dial(u, nil)
	require.NoError(t, err)
	defer slow.Close()
	require.NoError(t, slow.WriteMessage(websocket.TextMessage, []byte(`["1","1","realtime:flood","phx_join",{"config":{}}]`)))
	_, data, err := slow.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(data), `"status":"ok"`)

	big := strings.Repeat("x", 128<<10)
	disconnected := false
	for i := 0; i < 1000 && !disconnected; i++ {
		sender.send(joinRef, "realtime:flood", "broadcast", broadcastMsg("blob", map[string]any{"i": i, "data": big}))
		healthy.expect(broadcastEvent("realtime:flood", "blob"))
		disconnected = counter(t, n, "goforward_realtime_slow_disconnects_total") > 0
	}
	require.True(t, disconnected, "the slow client is disconnected while the healthy one kept up")

	// The server let go of it (a client this far behind cannot even get the close frame).
	require.Eventually(t, func() bool { return gauge(t, n, "goforward_realtime_connections") == 2 }, waitTimeout, 10*time.Millisecond)
}

func TestBroadcastPayloadMustBeAnEvent(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{})
	c := dial(t, n)
	joinRef, _ := c.join("realtime:room", channelConfig{Broadcast: map[string]any{"ack": true}}, "")
	ref := c.send(joinRef, "realtime:room", "broadcast", map[string]any{"type": "broadcast"})
	reply := c.awaitReply("realtime:room", ref)
	require.Equal(t, "error", reply.Status)
	var r map[string]string
	require.NoError(t, json.Unmarshal(reply.Response, &r))
	require.Contains(t, r["reason"], "event")
}
