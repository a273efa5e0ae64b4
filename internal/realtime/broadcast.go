package realtime

import (
	"context"
	"encoding/json"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// broadcast relays a client's broadcast to every subscriber of the topic, on every node; the
// sender gets it back only with config.broadcast.self, and a reply only with ack.
func (c *conn) broadcast(ctx context.Context, ch *channel, msg phoenix.Message) {
	if !c.allow(ctx, ch) {
		return
	}
	if pol := ch.policies.Load(); pol != nil && !pol.BroadcastWrite {
		if ch.ack {
			c.replyError(msg, "Unauthorized: You do not have permissions to write to this Channel topic: "+ch.name)
		}
		return
	}
	env := envelope{Kind: kindBroadcast}
	size := len(msg.Payload)
	switch {
	case msg.Broadcast != nil && msg.Broadcast.JSON:
		env.Payload = msg.Broadcast.Envelope()
		size = len(msg.Broadcast.Payload)
	case msg.Broadcast != nil:
		env.Binary = msg.Broadcast
		size = len(msg.Broadcast.Payload)
	default:
		var probe struct {
			Event *string `json:"event"`
		}
		if json.Unmarshal(msg.Payload, &probe) != nil || probe.Event == nil {
			if ch.ack {
				c.replyError(msg, "Broadcast payload must be an object with an event")
			}
			return
		}
		env.Payload = msg.Payload
	}
	if int64(size) > c.svc.cfg.MaxMessageBytes {
		if ch.ack {
			c.replyError(msg, "payload_size_exceeded")
		}
		return
	}
	if !ch.self {
		env.Origin = c.origin
	}
	err := c.svc.publish(ctx, ch.key, env)
	if err != nil {
		c.svc.logger.WarnContext(ctx, "realtime: publishing a broadcast failed", "topic", ch.topic, "error", err)
	}
	if !ch.ack {
		return
	}
	if err != nil {
		c.replyError(msg, "UnableToBroadcast: the message could not be delivered")
		return
	}
	c.reply(msg, "ok", nil)
}

// allow applies the per-connection message rate; a channel that exceeds it is closed, as
// Supabase does.
func (c *conn) allow(ctx context.Context, ch *channel) bool {
	if c.limiter.Allow() {
		return true
	}
	c.shutdown(ctx, ch, "Too many messages per second")
	return false
}
