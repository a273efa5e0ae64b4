package phoenix_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// userBroadcastPush builds a kind-3 frame the way realtime-js 2.109's serializer does.
func userBroadcastPush(joinRef, ref, topic, event, metadata string, encoding byte, payload []byte) []byte {
	out := []byte{3, byte(len(joinRef)), byte(len(ref)), byte(len(topic)), byte(len(event)), byte(len(metadata)), encoding}
	out = append(out, joinRef...)
	out = append(out, ref...)
	out = append(out, topic...)
	out = append(out, event...)
	out = append(out, metadata...)
	return append(out, payload...)
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		version string
		binary  bool
		data    []byte
		want    phoenix.Message
	}{
		{
			name:    "v2 join",
			version: phoenix.Version2,
			data:    []byte(`["1","1","realtime:room1","phx_join",{"config":{}}]`),
			want:    phoenix.Message{JoinRef: "1", Ref: "1", Topic: "realtime:room1", Event: "phx_join", Payload: json.RawMessage(`{"config":{}}`)},
		},
		{
			name:    "v2 heartbeat with null join_ref",
			version: phoenix.Version2,
			data:    []byte(`[null,"7","phoenix","heartbeat",{}]`),
			want:    phoenix.Message{Ref: "7", Topic: "phoenix", Event: "heartbeat", Payload: json.RawMessage(`{}`)},
		},
		{
			name:    "v1 object with numeric ref and null payload",
			version: phoenix.Version1,
			data:    []byte(`{"topic":"phoenix","event":"heartbeat","payload":null,"ref":12}`),
			want:    phoenix.Message{Ref: "12", Topic: "phoenix", Event: "heartbeat", Payload: json.RawMessage(`{}`)},
		},
		{
			name:    "v2 binary user broadcast push with a JSON payload",
			version: phoenix.Version2,
			binary:  true,
			data:    userBroadcastPush("3", "4", "realtime:room1", "cursor", "", 1, []byte(`{"x":1}`)),
			want: phoenix.Message{JoinRef: "3", Ref: "4", Topic: "realtime:room1", Event: "broadcast",
				Broadcast: &phoenix.UserBroadcast{Event: "cursor", JSON: true, Payload: []byte(`{"x":1}`)}},
		},
		{
			name:    "v2 binary user broadcast push with bytes and metadata, no refs",
			version: phoenix.Version2,
			binary:  true,
			data:    userBroadcastPush("", "", "realtime:r", "bin", `{"id":"a"}`, 0, []byte{0, 1, 2}),
			want: phoenix.Message{Topic: "realtime:r", Event: "broadcast",
				Broadcast: &phoenix.UserBroadcast{Event: "bin", Payload: []byte{0, 1, 2}, Metadata: json.RawMessage(`{"id":"a"}`)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := phoenix.Decode(tt.version, tt.binary, tt.data)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeRejectsMalformedFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		version string
		binary  bool
		data    []byte
	}{
		{"not json", phoenix.Version2, false, []byte(`[`)},
		{"v2 array too short", phoenix.Version2, false, []byte(`["1","1","t","e"]`)},
		{"v2 topic not a string", phoenix.Version2, false, []byte(`[null,"1",5,"e",{}]`)},
		{"v1 without event", phoenix.Version1, false, []byte(`{"topic":"t"}`)},
		{"ref is an object", phoenix.Version1, false, []byte(`{"topic":"t","event":"e","ref":{}}`)},
		{"binary on v1", phoenix.Version1, true, userBroadcastPush("", "", "t", "e", "", 1, []byte(`{}`))},
		{"binary of another kind", phoenix.Version2, true, []byte{0, 0, 0, 0, 0, 0, 0}},
		{"binary truncated", phoenix.Version2, true, []byte{3, 0, 0, 200, 0, 0, 1, 'a'}},
		{"binary shorter than its header", phoenix.Version2, true, []byte{3, 0}},
		{"binary with an unknown encoding", phoenix.Version2, true, userBroadcastPush("", "", "t", "e", "", 9, nil)},
		{"binary JSON payload that is not JSON", phoenix.Version2, true, userBroadcastPush("", "", "t", "e", "", 1, []byte(`{`))},
		{"binary metadata that is not JSON", phoenix.Version2, true, userBroadcastPush("", "", "t", "e", "{", 1, []byte(`{}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := phoenix.Decode(tt.version, tt.binary, tt.data)
			require.ErrorIs(t, err, phoenix.ErrMalformed)
		})
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	m := phoenix.Message{JoinRef: "1", Ref: "2", Topic: "realtime:room1", Event: "phx_reply",
		Payload: phoenix.ReplyPayload("ok", json.RawMessage(`{"postgres_changes":[]}`))}
	require.JSONEq(t,
		`["1","2","realtime:room1","phx_reply",{"status":"ok","response":{"postgres_changes":[]}}]`,
		string(phoenix.Encode(phoenix.Version2, m)))
	require.JSONEq(t,
		`{"topic":"realtime:room1","event":"phx_reply","payload":{"status":"ok","response":{"postgres_changes":[]}},"ref":"2","join_ref":"1"}`,
		string(phoenix.Encode(phoenix.Version1, m)))
	require.JSONEq(t, `[null,null,"t","phx_close",{}]`, string(phoenix.Encode(phoenix.Version2, phoenix.Message{Topic: "t", Event: "phx_close"})))
}

// TestEncodedFramesDecode checks that what the server writes is what a client reads back.
func TestEncodedFramesDecode(t *testing.T) {
	t.Parallel()
	for _, version := range []string{phoenix.Version1, phoenix.Version2} {
		m := phoenix.Message{JoinRef: "5", Ref: "9", Topic: "realtime:<a&b>", Event: "broadcast", Payload: json.RawMessage(`{"type":"broadcast","event":"x","payload":{"n":1}}`)}
		got, err := phoenix.Decode(version, false, phoenix.Encode(version, m))
		require.NoError(t, err)
		require.Equal(t, m.Topic, got.Topic)
		require.Equal(t, m.Ref, got.Ref)
		require.Equal(t, m.JoinRef, got.JoinRef)
		require.JSONEq(t, string(m.Payload), string(got.Payload))
	}
}

func TestEncodeUserBroadcast(t *testing.T) {
	t.Parallel()
	frame, err := phoenix.EncodeUserBroadcast("realtime:r", &phoenix.UserBroadcast{Event: "ev", Payload: []byte{9, 8}, Metadata: json.RawMessage(`{"k":1}`)})
	require.NoError(t, err)
	want := []byte{4, 10, 2, 7, 0}
	want = append(want, "realtime:r"...)
	want = append(want, "ev"...)
	want = append(want, `{"k":1}`...)
	want = append(want, 9, 8)
	require.Equal(t, want, frame)

	long := make([]byte, 256)
	_, err = phoenix.EncodeUserBroadcast(string(long), &phoenix.UserBroadcast{Event: "ev", JSON: true, Payload: []byte(`{}`)})
	require.Error(t, err)
}

func TestUserBroadcastEnvelope(t *testing.T) {
	t.Parallel()
	ub := phoenix.UserBroadcast{Event: "cursor", JSON: true, Payload: []byte(`{"x":1}`), Metadata: json.RawMessage(`{"id":"m"}`)}
	require.JSONEq(t, `{"type":"broadcast","event":"cursor","payload":{"x":1},"meta":{"id":"m"}}`, string(ub.Envelope()))
}

func FuzzDecode(f *testing.F) {
	f.Add(true, []byte{3, 1, 1, 1, 1, 0, 1, 'a', 'b', 'c', 'd', '{', '}'})
	f.Add(false, []byte(`["1","1","realtime:x","phx_join",{}]`))
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		m, err := phoenix.Decode(phoenix.Version2, binary, data)
		if err != nil {
			require.ErrorIs(t, err, phoenix.ErrMalformed)
			return
		}
		if m.Broadcast == nil {
			require.True(t, json.Valid(m.Payload))
		}
	})
}
