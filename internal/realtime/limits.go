package realtime

import "sync"

// connLimits counts this node's WebSockets per apikey.
type connLimits struct {
	max int

	mu     sync.Mutex
	counts map[string]int
}

func newConnLimits(max int) *connLimits {
	return &connLimits{max: max, counts: map[string]int{}}
}

// acquire counts one more connection for key, unless key is at its limit.
func (l *connLimits) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key] >= l.max {
		return false
	}
	l.counts[key]++
	return true
}

// release forgets one connection acquire counted.
func (l *connLimits) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key]--; l.counts[key] <= 0 {
		delete(l.counts, key)
	}
}
