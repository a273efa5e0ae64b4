// Package phoenix speaks the Phoenix channel wire protocol the way Supabase Realtime and
// realtime-js do: serializer 1.0.0 (JSON objects), serializer 2.0.0 (JSON arrays plus binary
// frames for user broadcasts), and the frames a server sends back.
//
// It is pure: no I/O, no state. Decode turns one WebSocket frame into a Message; the Encode
// functions build frames. Refs are strings on the wire or null; here null is the empty string.
package phoenix

import (
	"encoding/json"
	"errors"
)

// Serializer versions a client asks for with the vsn query parameter.
const (
	Version1 = "1.0.0"
	Version2 = "2.0.0"
)

// Events of the channel protocol that the server itself handles.
const (
	EventJoin        = "phx_join"
	EventLeave       = "phx_leave"
	EventReply       = "phx_reply"
	EventClose       = "phx_close"
	EventError       = "phx_error"
	EventHeartbeat   = "heartbeat"
	EventAccessToken = "access_token"
	EventBroadcast   = "broadcast"
	EventPresence    = "presence"
	EventSystem      = "system"
)

// TopicPhoenix is the socket-level topic heartbeats travel on.
const TopicPhoenix = "phoenix"

// Binary frame kinds of serializer 2.0.0 (realtime's V2Serializer).
const (
	kindUserBroadcastPush = 3 // client → server broadcast with a user event and payload
	kindUserBroadcast     = 4 // server → client broadcast with a user event and payload
)

// Payload encodings inside user broadcast frames.
const (
	encodingBinary = 0
	encodingJSON   = 1
)

// maxField is the largest topic, event, ref or metadata a binary frame can carry: its length
// travels in one byte.
const maxField = 255

// ErrMalformed is wrapped by every Decode error: the frame does not follow the protocol.
var ErrMalformed = errors.New("malformed message")

// Message is one push from a client, or one frame the server sends.
type Message struct {
	JoinRef string // "" is null
	Ref     string // "" is null
	Topic   string
	Event   string
	// Payload is the JSON payload. For a binary user broadcast it is nil and Broadcast is set.
	Payload json.RawMessage
	// Broadcast is set for broadcasts that arrived as binary frames (kind 3).
	Broadcast *UserBroadcast
}

// UserBroadcast is a broadcast whose user payload travels outside the JSON envelope: a
// binary kind-3 frame from a client, or a kind-4 frame to one.
type UserBroadcast struct {
	Event string
	// JSON reports whether Payload holds JSON text; otherwise it is opaque bytes (an
	// ArrayBuffer on the client).
	JSON    bool
	Payload []byte
	// Metadata is the JSON object of allow-listed extra keys, or nil.
	Metadata json.RawMessage
}

// Envelope returns the broadcast as the JSON payload a JSON-framed broadcast carries:
// {"type":"broadcast","event":...,"payload":...}. It is only meaningful for JSON payloads.
func (b *UserBroadcast) Envelope() json.RawMessage {
	out, _ := json.Marshal(struct {
		Type    string          `json:"type"`
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
		Meta    json.RawMessage `json:"meta,omitempty"`
	}{"broadcast", b.Event, b.Payload, b.Metadata})
	return out
}
