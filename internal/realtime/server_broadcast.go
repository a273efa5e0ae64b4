package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Broadcast sends event with payload (JSON) to every subscriber of the public channel topic
// (given without the "realtime:" prefix) on every node, as POST /realtime/v1/api/broadcast
// does for a service_role caller: the server's own code needs no token. Subscribers of the
// private channel of the same name do not receive it.
func (s *Service) Broadcast(ctx context.Context, topic, event string, payload json.RawMessage) error {
	switch {
	case topic == "" || event == "":
		return errors.New("realtime: a broadcast needs a topic and an event")
	case strings.HasPrefix(topic, topicPrefix):
		return fmt.Errorf("realtime: topic %q: give it without the %q prefix", topic, topicPrefix)
	case int64(len(payload)) > s.cfg.MaxMessageBytes:
		return fmt.Errorf("realtime: payload exceeds %d bytes", s.cfg.MaxMessageBytes)
	case len(payload) > 0 && !json.Valid(payload):
		return errors.New("realtime: payload is not JSON")
	}
	return s.publish(ctx, topicPrefix+topic, envelope{Kind: kindBroadcast, Payload: broadcastPayload(event, payload)})
}
