package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// topicPrefix starts every channel topic realtime-js joins (supabase.channel("room1") joins
// "realtime:room1").
const topicPrefix = "realtime:"

// channel is one joined topic of one connection.
type channel struct {
	conn    *conn
	topic   string // realtime:<name>
	name    string
	key     string // topic, behind privateKeyPrefix for a private channel: the hub and bus key
	joinRef string
	self    bool // the sender receives its own broadcasts
	ack     bool // broadcasts are acknowledged
	// presenceKey is config.presence.key, or a generated one.
	presenceKey     string
	presenceEnabled atomic.Bool
	auth            atomic.Pointer[channelAuth]
	// policies, for a private channel, are what realtime.messages' policies allow it; nil for
	// a public channel, which may do everything.
	policies atomic.Pointer[channelPolicies]
	// bindings are the postgres_changes subscriptions, in the order the client sent them.
	bindings []*binding

	// Guarded by conn.mu.
	tracked *PresenceEntry
	expiry  *time.Timer
}

func (c *conn) join(ctx context.Context, msg phoenix.Message) {
	name, ok := strings.CutPrefix(msg.Topic, topicPrefix)
	switch {
	case !ok:
		c.replyError(msg, "unmatched topic")
		return
	case name == "":
		c.replyError(msg, "TopicNameRequired: You must provide a topic name")
		return
	}
	req, reason := decodeJoin(msg.Payload, c.svc.cfg.MaxBindingsPerChannel)
	if reason != "" {
		c.replyError(msg, reason)
		return
	}
	payload := &req.payload
	// A join of a topic already joined replaces the old channel, as in Phoenix (realtime-js
	// rejoins this way after an error).
	if old := c.channel(msg.Topic); old != nil {
		c.removeChannel(ctx, old)
		c.push(phoenix.Message{JoinRef: old.joinRef, Ref: old.joinRef, Topic: old.topic, Event: phoenix.EventClose})
	}
	c.mu.Lock()
	count := len(c.channels)
	c.mu.Unlock()
	if count >= c.svc.cfg.MaxChannelsPerConnection {
		c.replyError(msg, "ChannelRateLimitReached: Too many channels")
		return
	}
	token := payload.AccessToken
	if token == "" {
		token = payload.UserToken
	}
	auth, authErr := c.svc.authorize(token, c.principal)
	if authErr != nil {
		c.replyError(msg, authErr.Error())
		return
	}
	ch := &channel{
		conn: c, topic: msg.Topic, name: name, key: msg.Topic, joinRef: msg.JoinRef,
		self: payload.Config.Broadcast.Self, ack: payload.Config.Broadcast.Ack,
		presenceKey: payload.Config.Presence.Key,
	}
	if ch.presenceKey == "" {
		ch.presenceKey = randomKey()
	}
	ch.presenceEnabled.Store(payload.Config.Presence.Enabled)
	ch.auth.Store(auth)
	if payload.Config.Private {
		pol, err := c.svc.policiesFor(ctx, name, auth.principal)
		if err != nil {
			c.svc.logger.WarnContext(ctx, "realtime: evaluating private channel policies failed", "topic", msg.Topic, "error", err)
			c.replyError(msg, "UnableToSetPolicies: Realtime was unable to evaluate the channel's policies")
			return
		}
		if !pol.canRead() {
			c.replyError(msg, "Unauthorized: You do not have permissions to read from this Channel topic: "+name)
			return
		}
		ch.key = privateKeyPrefix + msg.Topic
		ch.policies.Store(&pol)
	}
	bindingErr := c.svc.changes.prepare(ctx, ch, req)

	err := c.svc.hub.add(ch, func() error { return c.svc.bus.Subscribe(ctx, topicChannelPrefix+ch.key) })
	if err != nil {
		c.svc.logger.ErrorContext(ctx, "realtime: subscribing a topic on the bus failed", "topic", ch.topic, "error", err)
		c.replyError(msg, "UnknownErrorOnChannel: Unknown Error on Channel")
		return
	}
	c.mu.Lock()
	c.channels[ch.topic] = ch
	ch.expiry = time.AfterFunc(time.Until(auth.exp), func() { c.expire(ch) })
	c.mu.Unlock()
	c.svc.changes.add(ch)

	echo := req.echo
	if echo == nil {
		echo = []map[string]json.RawMessage{}
	}
	c.reply(msg, "ok", map[string]any{"postgres_changes": echo})
	if ch.presenceEnabled.Load() && ch.mayReadPresence() {
		c.sendPresenceState(ctx, ch)
	}
	if len(payload.Config.PostgresChanges) > 0 {
		c.svc.announceSubscription(ctx, ch, bindingErr)
	}
}

// leave answers the client's phx_leave and closes the channel.
func (c *conn) leave(ctx context.Context, ch *channel, msg phoenix.Message) {
	c.removeChannel(ctx, ch)
	c.reply(msg, "ok", nil)
	c.push(phoenix.Message{JoinRef: ch.joinRef, Ref: ch.joinRef, Topic: ch.topic, Event: phoenix.EventClose})
}

// shutdown closes a channel from the server side: a system message saying why, then
// phx_close, as Supabase does for expired tokens and exceeded limits.
func (c *conn) shutdown(ctx context.Context, ch *channel, message string) {
	c.pushSystem(ch, "system", "error", message)
	c.removeChannel(ctx, ch)
	c.push(phoenix.Message{JoinRef: ch.joinRef, Ref: ch.joinRef, Topic: ch.topic, Event: phoenix.EventClose})
}

// pushSystem sends a system message on ch.
func (c *conn) pushSystem(ch *channel, extension, status, message string) {
	payload, _ := json.Marshal(map[string]string{"extension": extension, "status": status, "message": message, "channel": ch.name})
	c.push(phoenix.Message{JoinRef: ch.joinRef, Topic: ch.topic, Event: phoenix.EventSystem, Payload: payload})
}

// fail ends a channel the server can no longer serve, as Phoenix does when a channel
// process crashes: it is dropped, then phx_error with its join ref tells the client, which
// rejoins. A channel already gone (left, replaced by a rejoin) is left alone.
func (c *conn) fail(ch *channel) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if c.removeChannel(ctx, ch) {
		c.push(phoenix.Message{JoinRef: ch.joinRef, Ref: ch.joinRef, Topic: ch.topic, Event: phoenix.EventError})
	}
}

// removeChannel forgets ch everywhere: the connection, the hub, postgres_changes and its
// presence, and reports whether it was still there. Removing it twice does nothing the
// second time.
func (c *conn) removeChannel(ctx context.Context, ch *channel) bool {
	c.mu.Lock()
	if c.channels[ch.topic] != ch {
		c.mu.Unlock()
		return false
	}
	delete(c.channels, ch.topic)
	if ch.expiry != nil {
		ch.expiry.Stop()
	}
	tracked := c.setTracked(ch, nil)
	c.mu.Unlock()

	c.svc.changes.remove(ch)
	c.svc.hub.remove(ch, func() {
		if err := c.svc.bus.Unsubscribe(ctx, topicChannelPrefix+ch.key); err != nil {
			c.svc.logger.WarnContext(ctx, "realtime: unsubscribing a topic on the bus failed", "topic", ch.topic, "error", err)
		}
	})
	if tracked != nil {
		c.svc.untrack(ctx, ch.key, tracked.ID)
	}
	return true
}

func (ch *channel) mayReadPresence() bool {
	pol := ch.policies.Load()
	return pol == nil || pol.PresenceRead
}

// leaveAll removes every channel of a connection that ended.
func (c *conn) leaveAll(ctx context.Context) {
	c.mu.Lock()
	channels := make([]*channel, 0, len(c.channels))
	for _, ch := range c.channels {
		channels = append(channels, ch)
	}
	c.mu.Unlock()
	for _, ch := range channels {
		c.removeChannel(ctx, ch)
	}
}

// expire closes a channel whose token ran out (unless a refreshed token replaced it).
func (c *conn) expire(ch *channel) {
	auth := ch.auth.Load()
	if time.Now().Before(auth.exp) {
		return
	}
	if c.channel(ch.topic) != ch {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	c.shutdown(ctx, ch, expiredError(auth.exp).message)
}

// accessToken handles a token refresh: the new token is verified and from then on decides
// what the channel may see; a token that fails closes the channel.
func (c *conn) accessToken(ctx context.Context, ch *channel, msg phoenix.Message) {
	var payload struct {
		AccessToken *string `json:"access_token"`
	}
	if err := json.Unmarshal(msg.Payload, &payload); err != nil || payload.AccessToken == nil {
		return
	}
	token := *payload.AccessToken
	if token == "" || isOpaqueKey(token) || token == ch.auth.Load().principal.Token {
		return
	}
	auth, authErr := c.svc.authorize(token, c.principal)
	if authErr != nil {
		c.shutdown(ctx, ch, authErr.message)
		return
	}
	if old := ch.policies.Load(); old != nil {
		// A private channel's rights follow the new token; losing a read right closes it.
		pol, err := c.svc.policiesFor(ctx, ch.name, auth.principal)
		if err != nil {
			c.svc.logger.WarnContext(ctx, "realtime: evaluating private channel policies failed", "topic", ch.topic, "error", err)
			c.shutdown(ctx, ch, "Realtime was unable to evaluate the channel's policies")
			return
		}
		if (old.BroadcastRead && !pol.BroadcastRead) || (old.PresenceRead && !pol.PresenceRead) {
			c.shutdown(ctx, ch, "You no longer have permission to read from this Channel topic: "+ch.name)
			return
		}
		ch.policies.Store(&pol)
	}
	ch.auth.Store(auth)
	c.mu.Lock()
	if ch.expiry != nil {
		ch.expiry.Stop()
	}
	ch.expiry = time.AfterFunc(time.Until(auth.exp), func() { c.expire(ch) })
	c.mu.Unlock()
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}
