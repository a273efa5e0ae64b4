package phoenix

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Decode parses one frame received from a client speaking serializer version. Text frames are
// JSON (an object in 1.0.0, a five-element array in 2.0.0); binary frames exist only in 2.0.0
// and must be user broadcast pushes (kind 3). Every error wraps ErrMalformed.
func Decode(version string, binary bool, data []byte) (Message, error) {
	switch {
	case binary && version == Version2:
		return decodeBinary(data)
	case binary:
		return Message{}, fmt.Errorf("%w: binary frames need serializer %s", ErrMalformed, Version2)
	case version == Version2:
		return decodeArray(data)
	default:
		return decodeObject(data)
	}
}

func decodeObject(data []byte) (Message, error) {
	var raw struct {
		Topic   *string         `json:"topic"`
		Event   *string         `json:"event"`
		Payload json.RawMessage `json:"payload"`
		Ref     json.RawMessage `json:"ref"`
		JoinRef json.RawMessage `json:"join_ref"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if raw.Topic == nil || raw.Event == nil {
		return Message{}, fmt.Errorf("%w: topic and event are required", ErrMalformed)
	}
	ref, err := decodeRef(raw.Ref)
	if err != nil {
		return Message{}, err
	}
	joinRef, err := decodeRef(raw.JoinRef)
	if err != nil {
		return Message{}, err
	}
	return Message{JoinRef: joinRef, Ref: ref, Topic: *raw.Topic, Event: *raw.Event, Payload: payloadOrEmpty(raw.Payload)}, nil
}

func decodeArray(data []byte) (Message, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(raw) != 5 {
		return Message{}, fmt.Errorf("%w: expected [join_ref, ref, topic, event, payload], got %d elements", ErrMalformed, len(raw))
	}
	joinRef, err := decodeRef(raw[0])
	if err != nil {
		return Message{}, err
	}
	ref, err := decodeRef(raw[1])
	if err != nil {
		return Message{}, err
	}
	var topic, event string
	if err := json.Unmarshal(raw[2], &topic); err != nil {
		return Message{}, fmt.Errorf("%w: topic must be a string", ErrMalformed)
	}
	if err := json.Unmarshal(raw[3], &event); err != nil {
		return Message{}, fmt.Errorf("%w: event must be a string", ErrMalformed)
	}
	return Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event, Payload: payloadOrEmpty(raw[4])}, nil
}

// decodeRef accepts the ref forms clients send: a string, a number, or null.
func decodeRef(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("%w: refs must be strings, numbers or null", ErrMalformed)
}

// payloadOrEmpty turns a missing or null payload into {} so handlers always see an object.
func payloadOrEmpty(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return json.RawMessage("{}")
	}
	return raw
}

// decodeBinary parses a user broadcast push:
//
//	u8 kind=3, u8 len(join_ref), u8 len(ref), u8 len(topic), u8 len(event), u8 len(metadata),
//	u8 encoding, join_ref, ref, topic, event, metadata, payload...
func decodeBinary(data []byte) (Message, error) {
	const header = 7
	if len(data) < header {
		return Message{}, fmt.Errorf("%w: binary frame of %d bytes is shorter than its header", ErrMalformed, len(data))
	}
	if data[0] != kindUserBroadcastPush {
		return Message{}, fmt.Errorf("%w: binary frame kind %d is not a user broadcast push (%d)", ErrMalformed, data[0], kindUserBroadcastPush)
	}
	lengths := []int{int(data[1]), int(data[2]), int(data[3]), int(data[4]), int(data[5])}
	encoding := data[6]
	if encoding != encodingBinary && encoding != encodingJSON {
		return Message{}, fmt.Errorf("%w: unknown payload encoding %d", ErrMalformed, encoding)
	}
	fields := make([]string, len(lengths))
	offset := header
	for i, n := range lengths {
		if offset+n > len(data) {
			return Message{}, fmt.Errorf("%w: binary frame is truncated", ErrMalformed)
		}
		fields[i] = string(data[offset : offset+n])
		offset += n
	}
	b := &UserBroadcast{Event: fields[3], JSON: encoding == encodingJSON, Payload: bytes.Clone(data[offset:])}
	if b.JSON && !json.Valid(b.Payload) {
		return Message{}, fmt.Errorf("%w: broadcast payload is not valid JSON", ErrMalformed)
	}
	if fields[4] != "" {
		if !json.Valid([]byte(fields[4])) {
			return Message{}, fmt.Errorf("%w: broadcast metadata is not valid JSON", ErrMalformed)
		}
		b.Metadata = json.RawMessage(fields[4])
	}
	return Message{JoinRef: fields[0], Ref: fields[1], Topic: fields[2], Event: EventBroadcast, Broadcast: b}, nil
}
