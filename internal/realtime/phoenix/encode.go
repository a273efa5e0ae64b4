package phoenix

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Encode builds the text frame for m in serializer version: {"topic","event","payload","ref",
// "join_ref"} for 1.0.0, [join_ref, ref, topic, event, payload] for 2.0.0. Empty refs are
// sent as null; a nil payload as {}. m.Broadcast is ignored: use EncodeUserBroadcast.
func Encode(version string, m Message) []byte {
	payload := m.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	var b bytes.Buffer
	b.Grow(len(payload) + len(m.Topic) + len(m.Event) + 64)
	if version == Version2 {
		b.WriteByte('[')
		writeRef(&b, m.JoinRef)
		b.WriteByte(',')
		writeRef(&b, m.Ref)
		b.WriteByte(',')
		writeString(&b, m.Topic)
		b.WriteByte(',')
		writeString(&b, m.Event)
		b.WriteByte(',')
		b.Write(payload)
		b.WriteByte(']')
		return b.Bytes()
	}
	b.WriteString(`{"topic":`)
	writeString(&b, m.Topic)
	b.WriteString(`,"event":`)
	writeString(&b, m.Event)
	b.WriteString(`,"payload":`)
	b.Write(payload)
	b.WriteString(`,"ref":`)
	writeRef(&b, m.Ref)
	b.WriteString(`,"join_ref":`)
	writeRef(&b, m.JoinRef)
	b.WriteByte('}')
	return b.Bytes()
}

// EncodeUserBroadcast builds the binary kind-4 frame serializer 2.0.0 clients decode into a
// broadcast event: u8 4, u8 len(topic), u8 len(event), u8 len(metadata), u8 encoding, then
// topic, event, metadata and the payload bytes. It fails when a field exceeds 255 bytes.
func EncodeUserBroadcast(topic string, ub *UserBroadcast) ([]byte, error) {
	for name, field := range map[string]int{"topic": len(topic), "event": len(ub.Event), "metadata": len(ub.Metadata)} {
		if field > maxField {
			return nil, fmt.Errorf("phoenix: broadcast %s of %d bytes exceeds %d", name, field, maxField)
		}
	}
	encoding := byte(encodingBinary)
	if ub.JSON {
		encoding = encodingJSON
	}
	out := make([]byte, 0, 5+len(topic)+len(ub.Event)+len(ub.Metadata)+len(ub.Payload))
	out = append(out, kindUserBroadcast, byte(len(topic)), byte(len(ub.Event)), byte(len(ub.Metadata)), encoding)
	out = append(out, topic...)
	out = append(out, ub.Event...)
	out = append(out, ub.Metadata...)
	return append(out, ub.Payload...), nil
}

// ReplyPayload is the payload of a phx_reply: {"status": status, "response": response}. A nil
// response is sent as {}.
func ReplyPayload(status string, response json.RawMessage) json.RawMessage {
	if len(response) == 0 {
		response = json.RawMessage("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	writeString(&b, status)
	b.WriteString(`,"response":`)
	b.Write(response)
	b.WriteByte('}')
	return b.Bytes()
}

func writeRef(b *bytes.Buffer, ref string) {
	if ref == "" {
		b.WriteString("null")
		return
	}
	writeString(b, ref)
}

func writeString(b *bytes.Buffer, s string) {
	encoded, _ := json.Marshal(s) // a string always encodes
	b.Write(encoded)
}
