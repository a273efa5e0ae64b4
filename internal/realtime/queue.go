package realtime

import "sync"

// sendQueue is a connection's bounded queue of frames waiting to be written. An idle
// connection costs nothing here, which matters with tens of thousands of them: the queue holds
// no memory while empty (it grows up to max frames as a burst arrives), and no goroutine
// waits on it either. Whoever queues into an empty queue, or closes it, is told to start the
// writer, which runs until it has emptied the queue; at most one writer runs at a time.
type sendQueue struct {
	max int

	mu      sync.Mutex
	items   []*frame
	writing bool // a writer runs, or ran the connection's last write
	closing bool // the connection is closing: the writer's last job is the close frame
}

// shrinkAbove is the capacity above which a drained queue gives its memory back.
const shrinkAbove = 64

func newSendQueue(max int) *sendQueue {
	return &sendQueue{max: max}
}

// push adds f and reports whether it did (not when the queue is full or closing) and whether
// the caller must start the writer.
func (q *sendQueue) push(f *frame) (queued, startWriter bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing || len(q.items) >= q.max {
		return false, false
	}
	q.items = append(q.items, f)
	return true, q.claimWriter()
}

// close marks the queue closing, so that the writer's next turn ends the connection, and
// reports whether the caller must start the writer for it.
func (q *sendQueue) close() (startWriter bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closing = true
	return q.claimWriter()
}

// claimWriter makes the caller the one starting the writer, unless one runs already.
func (q *sendQueue) claimWriter() bool {
	if q.writing {
		return false
	}
	q.writing = true
	return true
}

// next is the writer's turn: it moves every queued frame to dst (reused by the caller) and
// returns it, with closing set when the writer must end the connection instead (what is
// still queued is then never written). An empty dst without closing ends the writer.
func (q *sendQueue) next(dst []*frame) (batch []*frame, closing bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return dst, true
	}
	if len(q.items) == 0 {
		q.writing = false
		return dst, false
	}
	dst = append(dst, q.items...)
	clear(q.items)
	if cap(q.items) > shrinkAbove {
		q.items = nil
	} else {
		q.items = q.items[:0]
	}
	return dst, false
}
