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

// checkTimeout bounds one attempt at the authorization checks of one set of changes.
const checkTimeout = 10 * time.Second

// maxSetSize bounds how many consecutive changes of one transaction are checked together.
const maxSetSize = 256

// droppedNoticeEvery bounds how often a subscriber is told that changes were dropped.
const droppedNoticeEvery = time.Second

// changesDroppedMessage is the system message of subscribers whose changes were shed.
const changesDroppedMessage = "Changes were dropped because the server fell behind; read the table again to catch up"

// changeDispatcher delivers database changes to this node's subscribers in commit order, each
// only to the subscribers allowed to see it. Its queue is bounded in length
// (PostgresChanges.MaxQueuedChanges) and in age (PostgresChanges.MaxDelay): beyond either
// the oldest changes are dropped, and their subscribers told, so a node that cannot keep up
// delivers late by a bounded time, never by an ever-growing one.
type changeDispatcher struct {
	svc     *Service
	wake    chan struct{} // a change was queued
	stopped chan struct{}

	qmu     sync.Mutex
	pending []queuedChange
	dropped map[droppedKey]bool // tables and events of changes shed since the last notice
	last    streamPosition      // the newest change accepted from the bus

	mu   sync.RWMutex
	subs map[*channel]struct{} // channels with postgres_changes bindings
}

// queuedChange is a change waiting for the dispatcher, with when it arrived.
type queuedChange struct {
	change *replication.Change
	at     time.Time
}

// droppedKey is what a shed change tells about itself: enough to find its subscribers, and
// nothing of its row.
type droppedKey struct {
	schema, table string
	kind          string
}

func newChangeDispatcher(s *Service) *changeDispatcher {
	return &changeDispatcher{
		svc:     s,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		dropped: map[droppedKey]bool{},
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

// enqueue hands a change from the bus to the dispatcher. It never waits: when the queue is
// full the oldest change is dropped to make room.
func (d *changeDispatcher) enqueue(msg []byte) {
	var ch replication.Change
	if err := json.Unmarshal(msg, &ch); err != nil {
		d.svc.logger.Warn("realtime: dropping an unreadable change", "error", err)
		return
	}
	d.qmu.Lock()
	if !d.last.fresh(&ch) {
		d.qmu.Unlock()
		return
	}
	if over := len(d.pending) + 1 - d.svc.cfg.PostgresChanges.MaxQueuedChanges; over > 0 {
		for _, q := range d.pending[:over] {
			d.shedLocked(q.change)
		}
		d.pending = slices.Delete(d.pending, 0, over)
	}
	d.pending = append(d.pending, queuedChange{change: &ch, at: time.Now()})
	d.qmu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// streamPosition is the position of the newest change this node accepted. Only one node reads the
// stream at a time and it publishes in commit order, so a change at or before it is one that
// a new reader sent again after taking over (it resumes from the position the old one last
// confirmed): dropping it leaves every change delivered once on every node.
type streamPosition struct {
	lsn uint64
	seq int
}

// fresh reports whether ch comes after the newest accepted change, and if so records it.
// Changes without a position (from a node of an older version) always pass.
func (p *streamPosition) fresh(ch *replication.Change) bool {
	if ch.CommitLSN == 0 {
		return true
	}
	if ch.CommitLSN < p.lsn || (ch.CommitLSN == p.lsn && ch.Seq <= p.seq) {
		return false
	}
	p.lsn, p.seq = ch.CommitLSN, ch.Seq
	return true
}

// shedLocked records a dropped change; qmu is held.
func (d *changeDispatcher) shedLocked(ch *replication.Change) {
	d.dropped[droppedKey{ch.Schema, ch.Table, ch.Type}] = true
	d.svc.metrics.changesDropped.Inc()
}

// take returns every queued change, oldest first, and empties the queue.
func (d *changeDispatcher) take() []queuedChange {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	out := d.pending
	d.pending = nil
	return out
}

func (d *changeDispatcher) run(ctx context.Context) error {
	defer close(d.stopped)
	notice := time.NewTimer(time.Hour)
	notice.Stop()
	var lastNotice time.Time
	noticePending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-notice.C:
		}
		d.process(ctx, d.take())
		// Tell the subscribers of shed changes, at most every droppedNoticeEvery.
		if d.hasDropped() {
			if wait := droppedNoticeEvery - time.Since(lastNotice); wait > 0 {
				if !noticePending {
					notice.Reset(wait)
					noticePending = true
				}
			} else {
				d.noticeDropped()
				lastNotice = time.Now()
				noticePending = false
			}
		} else {
			noticePending = false
		}
	}
}

// process delivers queued changes in order, as sets of consecutive changes of one
// transaction and table, dropping those that waited longer than MaxDelay.
func (d *changeDispatcher) process(ctx context.Context, queue []queuedChange) {
	maxDelay := d.svc.cfg.PostgresChanges.MaxDelay
	for len(queue) > 0 && ctx.Err() == nil {
		if time.Since(queue[0].at) > maxDelay {
			d.qmu.Lock()
			d.shedLocked(queue[0].change)
			d.qmu.Unlock()
			queue = queue[1:]
			continue
		}
		n := 1
		for n < len(queue) && n < maxSetSize && sameSet(queue[0].change, queue[n].change) {
			n++
		}
		set := make([]*replication.Change, n)
		for i := range n {
			set[i] = queue[i].change
		}
		d.dispatchSet(ctx, set)
		queue = queue[n:]
	}
}

// sameSet reports whether b may be checked with a: same transaction and table, both DELETEs
// or neither, and the same key columns.
func sameSet(a, b *replication.Change) bool {
	if a.XID != b.XID || a.RelationID != b.RelationID || (a.Type == replication.Delete) != (b.Type == replication.Delete) {
		return false
	}
	ka, _ := primaryKey(a)
	kb, _ := primaryKey(b)
	return slices.Equal(ka, kb)
}

func (d *changeDispatcher) hasDropped() bool {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return len(d.dropped) > 0
}

// noticeDropped sends changesDroppedMessage to every channel with a binding on the table and
// event of a shed change. Filters are not looked at: the message says only that some change
// of the table was lost, not which row.
func (d *changeDispatcher) noticeDropped() {
	d.qmu.Lock()
	dropped := d.dropped
	d.dropped = map[droppedKey]bool{}
	d.qmu.Unlock()
	d.mu.RLock()
	defer d.mu.RUnlock()
	for sub := range d.subs {
		for key := range dropped {
			if slices.ContainsFunc(sub.bindings, func(b *binding) bool {
				return b.valid && b.matchesTable(key.schema, key.table) && b.matchesEvent(key.kind)
			}) {
				sub.conn.pushSystem(sub, "postgres_changes", "error", changesDroppedMessage)
				break
			}
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

// dispatchSet delivers consecutive changes of one transaction and table: find each one's
// matching channels, check per role (one statement for the whole set) and per distinct claims
// what they may see, and push each channel the payload of its role, change after change.
func (d *changeDispatcher) dispatchSet(ctx context.Context, changes []*replication.Change) {
	byRole := map[string][][]candidate{}
	var roles []string
	for i, change := range changes {
		for _, c := range d.matching(change) {
			role := c.auth.principal.Role
			groups, ok := byRole[role]
			if !ok {
				groups = make([][]candidate, len(changes))
				roles = append(roles, role)
			}
			groups[i] = append(groups[i], c)
			byRole[role] = groups
		}
	}
	verdicts := map[string][]*roleVerdict{}
	for _, role := range roles {
		groups := byRole[role]
		// Only the changes someone of the role matched are checked for it.
		var sub []*replication.Change
		var subGroups [][]candidate
		var index []int
		for i, g := range groups {
			if len(g) > 0 {
				sub = append(sub, changes[i])
				subGroups = append(subGroups, g)
				index = append(index, i)
			}
		}
		got, err := d.authorizeThroughOutage(ctx, sub, role, subGroups)
		if err != nil {
			d.failGroup(ctx, changes[0], role, groups, err)
			continue
		}
		all := make([]*roleVerdict, len(changes))
		for j, i := range index {
			all[i] = got[j]
		}
		verdicts[role] = all
	}
	for i, change := range changes {
		var payloads *payloadCache
		for _, role := range roles {
			vs, ok := verdicts[role]
			if !ok || vs[i] == nil {
				continue
			}
			for _, c := range byRole[role][i] {
				v := vs[i].of(c)
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
				if payloads == nil {
					payloads = newPayloadCache(change, d.svc.cfg.PostgresChanges.MaxRecordBytes)
				}
				f := payloads.frame(c.ch.topic, c.ch.conn.vsn, ids, v.access)
				if f != nil && c.ch.conn.enqueue(f) {
					d.svc.metrics.changesDelivered.Inc()
				}
			}
		}
	}
}

// failGroup handles a change the role's channels could not be authorized for (a database
// error, a timeout): they would silently miss it, so each is ended the way Phoenix ends a
// crashed channel process, with phx_error, upon which realtime-js reports CHANNEL_ERROR and
// rejoins. A dispatcher that is stopping fails nobody.
func (d *changeDispatcher) failGroup(ctx context.Context, change *replication.Change, role string, groups [][]candidate, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	failed := map[*channel]bool{}
	for _, group := range groups {
		for _, c := range group {
			failed[c.ch] = true
		}
	}
	d.svc.logger.WarnContext(ctx, "realtime: authorizing a change failed; failing the role's channels",
		"schema", change.Schema, "table", change.Table, "role", role, "channels", len(failed), "error", err)
	for ch := range failed {
		// Out of the dispatcher now, so it gets no later change; the rest of the cleanup
		// talks to the bus, which must not hold up the dispatcher.
		d.remove(ch)
		go ch.conn.fail(ch)
	}
}
