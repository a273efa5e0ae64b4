package realtime

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// What subscribers are told when the replication stream breaks and when it is back. The
// stream resumes where it stopped, so nothing is lost in between: the messages only explain a
// pause, and realtime-js passes them to "system" listeners without leaving the channel.
const (
	streamLostMessage    = "The connection to PostgreSQL was lost; changes will follow from where they stopped once it is back"
	streamResumedMessage = "Subscribed to PostgreSQL"
	// joinUnavailableMessage is the system error of a join whose tables could not be checked
	// because the database is unavailable; the client should join again.
	joinUnavailableMessage = "The database is unavailable (restarting or unreachable); join again shortly"
)

// outageWait bounds how long one change's delivery waits for an unavailable database (a
// restarting server) before its subscribers are failed as for any other error.
const outageWait = 2 * time.Minute

// streamWatch tells this node's postgres_changes subscribers about breaks of the stream this
// node reads.
type streamWatch struct {
	svc  *Service
	lost atomic.Bool
}

func (w *streamWatch) changed(streaming bool) {
	switch {
	case !streaming:
		w.lost.Store(true)
		w.svc.logger.Warn("realtime: replication stream interrupted; subscribers told, resuming once PostgreSQL is back")
		w.announce("error", streamLostMessage)
	case w.lost.Swap(false):
		w.announce("ok", streamResumedMessage)
	}
}

func (w *streamWatch) announce(status, message string) {
	d := w.svc.changes
	d.mu.RLock()
	defer d.mu.RUnlock()
	for ch := range d.subs {
		ch.conn.pushSystem(ch, "postgres_changes", status, message)
	}
}

// watchStream subscribes to the source's breaks when it reports them.
func (s *Service) watchStream() {
	if src, ok := s.source.(interface{ OnStream(func(bool)) }); ok {
		w := &streamWatch{svc: s}
		src.OnStream(w.changed)
	}
}

// authorizeThroughOutage is authorizeSet, retried while the database is unavailable (up to
// outageWait): a change read just before the server died is delivered once it is back,
// instead of failing its subscribers' channels.
func (d *changeDispatcher) authorizeThroughOutage(ctx context.Context, changes []*replication.Change, role string, groups [][]candidate) ([]*roleVerdict, error) {
	deadline := time.Now().Add(outageWait)
	pause := 50 * time.Millisecond
	for {
		checkCtx, cancel := context.WithTimeout(ctx, checkTimeout)
		visible, err := d.authorizeSet(checkCtx, changes, role, groups)
		cancel()
		if err == nil || !httpx.DatabaseUnavailable(err) || time.Now().After(deadline) {
			return visible, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// markUnavailable gives the checked bindings of a join whose tables could not be looked up,
// because the database is unavailable, the message telling the client to join again.
func markUnavailable(req *joinRequest, checked func(*binding) bool) {
	for i, b := range req.bindings {
		if req.problems[i] == "" && checked(b) {
			req.problems[i] = joinUnavailableMessage
		}
	}
}
