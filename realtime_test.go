package goforward_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// phxMessage is a Phoenix frame of serializer 1.0.0, as realtime-js exchanges them.
type phxMessage struct {
	Topic   string          `json:"topic"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Ref     *string         `json:"ref"`
	JoinRef *string         `json:"join_ref,omitempty"`
}

// awaitFrame reads frames until one matches.
func awaitFrame(t *testing.T, ws *websocket.Conn, match func(phxMessage) bool) phxMessage {
	t.Helper()
	// Only a guard against a hang: the frame normally arrives at once.
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		var m phxMessage
		require.NoError(t, ws.ReadJSON(&m))
		if match(m) {
			return m
		}
	}
}

// A broadcast from Go reaches a WebSocket client subscribed to the channel, as a client's own
// broadcast would.
func TestRealtimeBroadcast(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	require.ErrorContains(t, app.Realtime().Broadcast(context.Background(), "room1", "hello", nil), "not running")
	r := start(t, app, logs)

	wsURL := "ws" + strings.TrimPrefix(r.url, "http") + "/realtime/v1/websocket?vsn=1.0.0&apikey=" + r.anonKey
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	require.NoError(t, err)
	defer ws.Close()
	ref := "1"
	require.NoError(t, ws.WriteJSON(phxMessage{Topic: "realtime:room1", Event: "phx_join", Ref: &ref, JoinRef: &ref,
		Payload: json.RawMessage(`{"config":{"broadcast":{"ack":false,"self":false},"presence":{"key":""},"postgres_changes":[],"private":false},"access_token":"` + r.anonKey + `"}`)}))
	reply := awaitFrame(t, ws, func(m phxMessage) bool { return m.Event == "phx_reply" && m.Ref != nil && *m.Ref == ref })
	require.Contains(t, string(reply.Payload), `"status":"ok"`)

	require.NoError(t, app.Realtime().Broadcast(context.Background(), "room1", "order-shipped", map[string]any{"order": 42}))
	got := awaitFrame(t, ws, func(m phxMessage) bool { return m.Event == "broadcast" })
	require.Equal(t, "realtime:room1", got.Topic)
	require.JSONEq(t, `{"type":"broadcast","event":"order-shipped","payload":{"order":42}}`, string(got.Payload))

	require.Error(t, app.Realtime().Broadcast(context.Background(), "", "x", nil), "a topic is required")
}
