package realtime

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// Kinds of bus messages on a topic channel.
const (
	kindBroadcast    = "broadcast"
	kindPresenceDiff = "presence_diff"
)

// envelope is a message on a topic's bus channel.
type envelope struct {
	Kind string `json:"k"`
	// Origin is "<node>/<connection>" of a sender that does not want its own broadcast back.
	Origin string `json:"o,omitempty"`
	// Payload is a broadcast's JSON payload ({"type":"broadcast","event":...,"payload":...})
	// or a presence diff ({"joins":...,"leaves":...}).
	Payload json.RawMessage `json:"p,omitempty"`
	// Binary holds a broadcast whose user payload is bytes, not JSON (a client's ArrayBuffer).
	// JSON user payloads travel in Payload.
	Binary *phoenix.UserBroadcast `json:"b,omitempty"`
}

// publish sends env to every node's channels of the topic key. When the cluster's bus (Redis)
// cannot take it, this node's own subscribers still get it: realtime falls back to what a
// single node does until Redis answers again, and says so once each way in the log.
func (s *Service) publish(ctx context.Context, key string, env envelope) error {
	msg, err := json.Marshal(env)
	if err != nil {
		return err
	}
	channel := topicChannelPrefix + key
	err = s.bus.Publish(ctx, channel, msg)
	if _, clustered := s.bus.(*redisBus); !clustered || ctx.Err() != nil {
		return err
	}
	if err != nil {
		if !s.busDown.Swap(true) {
			s.logger.WarnContext(ctx, "realtime: redis unreachable; broadcasts and presence reach this node's subscribers only until it answers again", "error", err)
		}
		s.deliver(channel, msg)
		return nil
	}
	if s.busDown.Swap(false) {
		s.logger.InfoContext(ctx, "realtime: redis reachable again; broadcasts and presence cross nodes")
	}
	return nil
}

// deliver receives every bus message for this node.
func (s *Service) deliver(channel string, msg []byte) {
	if channel == changesChannel {
		s.changes.enqueue(msg)
		return
	}
	key, ok := strings.CutPrefix(channel, topicChannelPrefix)
	if !ok {
		return
	}
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		s.logger.Warn("realtime: dropping an unreadable bus message", "channel", channel, "error", err)
		return
	}
	switch env.Kind {
	case kindBroadcast:
		s.fanOutBroadcast(key, &env)
	case kindPresenceDiff:
		s.fanOutPresenceDiff(key, env.Payload)
	}
}

// frames holds one encoded frame per serializer, built on first use so a fan-out encodes a
// message at most twice whatever the number of subscribers.
type frames struct {
	v1, v2 *frame
	build  func(version string) *frame
}

func (f *frames) get(version string) *frame {
	if version == phoenix.Version2 {
		if f.v2 == nil {
			f.v2 = f.build(version)
		}
		return f.v2
	}
	if f.v1 == nil {
		f.v1 = f.build(version)
	}
	return f.v1
}

// noFrame marks a message a serializer cannot carry (binary payloads on 1.0.0).
var noFrame = &frame{}

func (s *Service) fanOutBroadcast(key string, env *envelope) {
	topic := wireTopic(key)
	fs := frames{build: func(version string) *frame {
		if env.Binary == nil {
			return &frame{data: phoenix.Encode(version, phoenix.Message{Topic: topic, Event: phoenix.EventBroadcast, Payload: env.Payload})}
		}
		if version != phoenix.Version2 {
			return noFrame // serializer 1.0.0 cannot represent bytes, as in Supabase
		}
		data, err := phoenix.EncodeUserBroadcast(topic, env.Binary)
		if err != nil {
			return noFrame
		}
		return &frame{data: data, binary: true}
	}}
	s.hub.each(key, func(ch *channel) {
		if env.Origin != "" && env.Origin == ch.conn.origin {
			return
		}
		if pol := ch.policies.Load(); pol != nil && !pol.BroadcastRead {
			return
		}
		if f := fs.get(ch.conn.vsn); f != noFrame {
			ch.conn.enqueue(f)
		}
	})
}

func (s *Service) fanOutPresenceDiff(key string, diff json.RawMessage) {
	fs := frames{build: func(version string) *frame {
		return &frame{data: phoenix.Encode(version, phoenix.Message{Topic: wireTopic(key), Event: "presence_diff", Payload: diff})}
	}}
	s.hub.each(key, func(ch *channel) {
		if ch.presenceEnabled.Load() && ch.mayReadPresence() {
			ch.conn.enqueue(fs.get(ch.conn.vsn))
		}
	})
}
