package realtime

import (
	"net/netip"
	"sync"

	"github.com/goforward/goforward/internal/ratelimit"
)

// connLimits counts this node's WebSockets per key (an apikey's hash, or a client address)
// and refuses those beyond max.
type connLimits struct {
	max int // at most this many per key; 0 or less: no limit

	mu     sync.Mutex
	counts map[string]int
}

func newConnLimits(max int) *connLimits {
	return &connLimits{max: max, counts: map[string]int{}}
}

// acquire counts one more connection for key, unless key is at its limit.
func (l *connLimits) acquire(key string) bool {
	if l.max <= 0 {
		return true
	}
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
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key]--; l.counts[key] <= 0 {
		delete(l.counts, key)
	}
}

// addressKey is what the per-address limit counts a client under (ratelimit.IPKey): its IPv4
// address, or the /64 network of its IPv6 address, since one IPv6 host or customer usually
// holds a whole /64 and could otherwise open every connection from a fresh address. It is ""
// when the address is unknown (a unix socket listener), which no limit applies to.
func addressKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ratelimit.IPKey(ip)
}
