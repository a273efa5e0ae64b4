package realtime

import "sync"

// sendQueue is a connection's bounded queue of frames waiting to be written. It holds no
// memory while empty (an idle connection costs nothing here, which matters with tens of
// thousands of them) and grows up to max frames as a burst arrives.
type sendQueue struct {
	max int
	// ready has room for one signal: "there is something to write".
	ready chan struct{}

	mu    sync.Mutex
	items []*frame
}

// shrinkAbove is the capacity above which a drained queue gives its memory back.
const shrinkAbove = 64

func newSendQueue(max int) *sendQueue {
	return &sendQueue{max: max, ready: make(chan struct{}, 1)}
}

// push adds f and reports false, adding nothing, when the queue is full.
func (q *sendQueue) push(f *frame) bool {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// drain moves every queued frame to dst (reused by the caller) and returns it.
func (q *sendQueue) drain(dst []*frame) []*frame {
	q.mu.Lock()
	defer q.mu.Unlock()
	dst = append(dst, q.items...)
	clear(q.items)
	if cap(q.items) > shrinkAbove {
		q.items = nil
	} else {
		q.items = q.items[:0]
	}
	return dst
}
