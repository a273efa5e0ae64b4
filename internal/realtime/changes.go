package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// changeQueueSize is how many changes may wait for this node's dispatcher. When it is full
// the bus waits (and, on the reading node, so does the reader, which then confirms nothing):
// changes are delayed, never dropped.
const changeQueueSize = 4096

// checkTimeout bounds one attempt at the authorization checks of one change.
const checkTimeout = 10 * time.Second

// changeDispatcher delivers database changes to this node's subscribers, one change at a
// time in commit order, each only to the subscribers allowed to see it.
type changeDispatcher struct {
	svc     *Service
	queue   chan []byte
	stopped chan struct{}

	mu   sync.RWMutex
	subs map[*channel]struct{} // channels with postgres_changes bindings
}

func newChangeDispatcher(s *Service) *changeDispatcher {
	return &changeDispatcher{
		svc:     s,
		queue:   make(chan []byte, changeQueueSize),
		stopped: make(chan struct{}),
		subs:    map[*channel]struct{}{},
	}
}

// emitChange is the replication source's emit: it publishes one change to every node. It
// returns once the bus took the change, which is when the source may confirm it.
func (s *Service) emitChange(ctx context.Context, ch *replication.Change) error {
	msg, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	return s.bus.Publish(ctx, changesChannel, msg)
}

func (d *changeDispatcher) add(ch *channel) {
	if !slices.ContainsFunc(ch.bindings, func(b *binding) bool { return b.valid }) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs[ch] = struct{}{}
}

func (d *changeDispatcher) remove(ch *channel) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.subs, ch)
}

// enqueue hands a change from the bus to the dispatcher, waiting while the queue is full.
func (d *changeDispatcher) enqueue(msg []byte) {
	select {
	case d.queue <- msg:
	case <-d.stopped:
	}
}

// delivered is the position of the last change this node delivered. Only one node reads the
// stream at a time and it publishes in commit order, so a change at or before it is one that
// a new reader sent again after taking over (it resumes from the position the old one last
// confirmed): dropping it leaves every change delivered once on every node.
type delivered struct {
	lsn uint64
	seq int
}

// fresh reports whether ch comes after the last delivered change, and if so records it.
// Changes without a position (from a node of an older version) always pass.
func (p *delivered) fresh(ch *replication.Change) bool {
	if ch.LSN == 0 {
		return true
	}
	if ch.LSN < p.lsn || (ch.LSN == p.lsn && ch.Seq <= p.seq) {
		return false
	}
	p.lsn, p.seq = ch.LSN, ch.Seq
	return true
}

func (d *changeDispatcher) run(ctx context.Context) error {
	defer close(d.stopped)
	var last delivered
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-d.queue:
			var ch replication.Change
			if err := json.Unmarshal(msg, &ch); err != nil {
				d.svc.logger.WarnContext(ctx, "realtime: dropping an unreadable change", "error", err)
				continue
			}
			if !last.fresh(&ch) {
				continue
			}
			d.dispatch(ctx, &ch)
		}
	}
}

// candidate is a channel with bindings matching a change, before authorization.
type candidate struct {
	ch       *channel
	bindings []*binding
	auth     *channelAuth
}

// matching returns this node's channels with a binding that matches the change's table,
// event and filters. A DELETE is matched on its key only here: whether its other values
// may decide depends on the subscriber's role (see candidateVerdict.admits).
func (d *changeDispatcher) matching(ch *replication.Change) []candidate {
	keyOnly := ch.Type == replication.Delete
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []candidate
	for sub := range d.subs {
		var matched []*binding
		for _, b := range sub.bindings {
			if b.valid && b.matchesTable(ch.Schema, ch.Table) && b.matchesEvent(ch.Type) && b.matchesRow(ch, keyOnly) {
				matched = append(matched, b)
			}
		}
		if len(matched) > 0 {
			out = append(out, candidate{ch: sub, bindings: matched, auth: sub.auth.Load()})
		}
	}
	return out
}

// dispatch delivers one change: find the matching channels, check per role and per distinct
// claims what they may see, and push each the payload of its role.
func (d *changeDispatcher) dispatch(ctx context.Context, change *replication.Change) {
	cands := d.matching(change)
	if len(cands) == 0 {
		return
	}
	byRole := map[string][]candidate{}
	for _, c := range cands {
		byRole[c.auth.principal.Role] = append(byRole[c.auth.principal.Role], c)
	}
	payloads := newPayloadCache(change, d.svc.cfg.PostgresChanges.MaxRecordBytes)
	for role, group := range byRole {
		visible, err := d.authorizeThroughOutage(ctx, change, role, group)
		if err != nil {
			d.failGroup(ctx, change, role, group, err)
			continue
		}
		for _, c := range group {
			v := visible.of(c)
			if v.skip {
				continue
			}
			ids := make([]uint32, 0, len(c.bindings))
			for _, b := range c.bindings {
				if v.admits(b, change) && !slices.Contains(ids, b.id) {
					ids = append(ids, b.id)
				}
			}
			if len(ids) == 0 {
				continue
			}
			f := payloads.frame(c.ch.topic, c.ch.conn.vsn, ids, v.access)
			if f != nil && c.ch.conn.enqueue(f) {
				d.svc.metrics.changesDelivered.Inc()
			}
		}
	}
}

// failGroup handles a change the role's channels could not be authorized for (a database
// error, a timeout): they would silently miss it, so each is ended the way Phoenix ends a
// crashed channel process, with phx_error, upon which realtime-js reports CHANNEL_ERROR and
// rejoins. A dispatcher that is stopping fails nobody.
func (d *changeDispatcher) failGroup(ctx context.Context, change *replication.Change, role string, group []candidate, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	d.svc.logger.WarnContext(ctx, "realtime: authorizing a change failed; failing the role's channels",
		"schema", change.Schema, "table", change.Table, "role", role, "channels", len(group), "error", err)
	for _, c := range group {
		// Out of the dispatcher now, so it gets no later change; the rest of the cleanup
		// talks to the bus, which must not hold up the dispatcher.
		d.remove(c.ch)
		go c.ch.conn.fail(c.ch)
	}
}
