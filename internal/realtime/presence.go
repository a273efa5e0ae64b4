package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// presenceMetas is the shape Phoenix Presence groups entries in: {"<key>": {"metas": [...]}}.
type presenceMetas map[string]struct {
	Metas []json.RawMessage `json:"metas"`
}

func (p presenceMetas) add(key string, meta json.RawMessage) {
	group := p[key]
	group.Metas = append(group.Metas, meta)
	p[key] = group
}

// presence handles track and untrack pushes.
func (c *conn) presence(ctx context.Context, ch *channel, msg phoenix.Message) {
	if !c.allow(ctx, ch) {
		return
	}
	var payload struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(msg.Payload, &payload); err != nil {
		c.replyError(msg, "Presence payload must be an object")
		return
	}
	if pol := ch.policies.Load(); pol != nil && !pol.PresenceWrite {
		c.replyError(msg, "Unauthorized: You do not have permissions to track presence on this Channel topic: "+ch.name)
		return
	}
	switch strings.ToLower(payload.Event) {
	case "track":
		state := bytes.TrimSpace(payload.Payload)
		if len(state) == 0 {
			state = []byte("{}")
		}
		if state[0] != '{' {
			c.replyError(msg, "Presence track payload must be a map")
			return
		}
		if int64(len(state)) > c.svc.cfg.MaxMessageBytes {
			c.shutdown(ctx, ch, "Track message size exceeded")
			return
		}
		err := c.track(ctx, ch, state)
		switch {
		case errors.Is(err, errPresenceTooLarge):
			c.replyError(msg, fmt.Sprintf("PresenceStateTooLarge: the presence state tracked on this connection would exceed %d bytes",
				c.svc.cfg.MaxPresenceBytesPerConnection))
			return
		case err != nil:
			c.svc.logger.WarnContext(ctx, "realtime: presence track failed", "topic", ch.topic, "error", err)
			c.reply(msg, "error", nil)
			return
		}
		c.reply(msg, "ok", nil)
	case "untrack":
		c.mu.Lock()
		tracked := c.setTracked(ch, nil)
		c.mu.Unlock()
		if tracked != nil {
			c.svc.untrack(ctx, ch.key, tracked.ID)
		}
		c.reply(msg, "ok", nil)
	default:
		c.replyError(msg, "unknown presence event")
	}
}

// track stores state as the channel's presence and announces the join (and, when it
// replaces an earlier state, the leave of that one).
func (c *conn) track(ctx context.Context, ch *channel, state json.RawMessage) error {
	ref := c.svc.presenceRef()
	meta, err := withRef(state, ref)
	if err != nil {
		return err
	}
	entry := PresenceEntry{ID: c.origin, Key: ch.presenceKey, Meta: meta}
	// Messages of a connection are handled one at a time, so nothing else tracks on it
	// between this check and the update after Track.
	c.mu.Lock()
	over := c.presenceBytes-entryBytes(ch.tracked)+entryBytes(&entry) > c.svc.cfg.MaxPresenceBytesPerConnection
	c.mu.Unlock()
	if over {
		return errPresenceTooLarge
	}
	prev, err := c.svc.presence.Track(ctx, ch.key, entry)
	if err != nil {
		return err
	}
	c.mu.Lock()
	gone := c.channels[ch.topic] != ch
	if !gone {
		c.setTracked(ch, &entry)
	}
	c.mu.Unlock()
	if gone {
		// The channel was closed meanwhile (its token expired, say) and has forgotten its
		// presence already; this entry must not outlive it.
		c.svc.untrack(ctx, ch.key, entry.ID)
		return nil
	}
	joins, leaves := presenceMetas{}, presenceMetas{}
	joins.add(entry.Key, meta)
	if prev != nil {
		leaves.add(prev.Key, prev.Meta)
	}
	c.svc.publishDiff(ctx, ch.key, joins, leaves)
	// Tracking turns presence on for a channel that joined without it; it has not had the
	// current state yet.
	if !ch.presenceEnabled.Swap(true) && ch.mayReadPresence() {
		c.sendPresenceState(ctx, ch)
	}
	return nil
}

// errPresenceTooLarge refuses a track that would take the connection's presence state over
// MaxPresenceBytesPerConnection.
var errPresenceTooLarge = errors.New("presence state over the connection's limit")

// entryBytes is what a tracked entry counts against the connection's presence limit.
func entryBytes(e *PresenceEntry) int64 {
	if e == nil {
		return 0
	}
	return int64(len(e.Key) + len(e.Meta))
}

// setTracked makes e (nil: nothing) ch's tracked entry, keeping the connection's presence
// total, and returns the entry it replaced. The caller holds c.mu.
func (c *conn) setTracked(ch *channel, e *PresenceEntry) *PresenceEntry {
	prev := ch.tracked
	c.presenceBytes += entryBytes(e) - entryBytes(prev)
	ch.tracked = e
	return prev
}

// withRef adds phx_ref to a tracked state.
func withRef(state json.RawMessage, ref string) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(state, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fields["phx_ref"], _ = json.Marshal(ref)
	return json.Marshal(fields)
}

// presenceRef returns a ref unique across nodes for one tracked state.
func (s *Service) presenceRef() string {
	return s.cfg.NodeID + "-" + strconv.FormatUint(s.nextRef.Add(1), 36)
}

// untrack removes a tracked entry of the topic key and announces its leave.
func (s *Service) untrack(ctx context.Context, key, id string) {
	removed, err := s.presence.Untrack(ctx, key, id)
	if err != nil {
		s.logger.WarnContext(ctx, "realtime: presence untrack failed", "topic", wireTopic(key), "error", err)
		return
	}
	if removed == nil {
		return
	}
	leaves := presenceMetas{}
	leaves.add(removed.Key, removed.Meta)
	s.publishDiff(ctx, key, presenceMetas{}, leaves)
}

// announceGone announces the leaves of entries whose node stopped (found by the reaper); key
// is the topic key the entries were stored under.
func (s *Service) announceGone(key string, entries []PresenceEntry) {
	leaves := presenceMetas{}
	for _, e := range entries {
		leaves.add(e.Key, e.Meta)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	s.publishDiff(ctx, key, presenceMetas{}, leaves)
}

func (s *Service) publishDiff(ctx context.Context, key string, joins, leaves presenceMetas) {
	diff, err := json.Marshal(map[string]presenceMetas{"joins": joins, "leaves": leaves})
	if err == nil {
		err = s.publish(ctx, key, envelope{Kind: kindPresenceDiff, Payload: diff})
	}
	if err != nil {
		s.logger.WarnContext(ctx, "realtime: publishing a presence diff failed", "topic", wireTopic(key), "error", err)
	}
}

// sendPresenceState sends the topic's whole presence to one channel.
func (c *conn) sendPresenceState(ctx context.Context, ch *channel) {
	entries, err := c.svc.presence.List(ctx, ch.key)
	if err != nil {
		c.svc.logger.WarnContext(ctx, "realtime: reading presence failed", "topic", ch.topic, "error", err)
		return
	}
	state := presenceMetas{}
	for _, e := range entries {
		state.add(e.Key, e.Meta)
	}
	payload, err := json.Marshal(state)
	if err != nil {
		return
	}
	c.push(phoenix.Message{JoinRef: ch.joinRef, Topic: ch.topic, Event: "presence_state", Payload: payload})
}
