package realtime

import (
	"bytes"
	"context"
	"encoding/json"
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
		if err := c.track(ctx, ch, state); err != nil {
			c.svc.logger.WarnContext(ctx, "realtime: presence track failed", "topic", ch.topic, "error", err)
			c.reply(msg, "error", nil)
			return
		}
		c.reply(msg, "ok", nil)
	case "untrack":
		c.mu.Lock()
		tracked := ch.tracked
		ch.tracked = nil
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
	prev, err := c.svc.presence.Track(ctx, ch.key, entry)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ch.tracked = &entry
	c.mu.Unlock()
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
