package realtime

import (
	"hash/maphash"
	"sync"
)

// hubShards splits the topic registry so that joins, leaves and fan-outs on different topics
// rarely wait for the same lock (centrifuge's hub does the same).
const hubShards = 64

// hub knows which local channels are joined to which topic, by the channels' keys (the
// topic, or for private channels the topic behind privateKeyPrefix).
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

type hubShard struct {
	// busMu serialises joins and leaves of the shard's topics together with the bus
	// subscription they cause, so a topic's last leave and next join cannot reorder their
	// unsubscribe and subscribe. Fan-out only takes mu.
	busMu  sync.Mutex
	mu     sync.RWMutex
	topics map[string]map[*channel]struct{}
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = map[string]map[*channel]struct{}{}
	}
	return h
}

func (h *hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%hubShards]
}

// add registers ch. For the first local channel of a topic it calls subscribe first, and
// registers nothing if that fails.
func (h *hub) add(ch *channel, subscribe func() error) error {
	s := h.shard(ch.key)
	s.busMu.Lock()
	defer s.busMu.Unlock()
	s.mu.RLock()
	first := len(s.topics[ch.key]) == 0
	s.mu.RUnlock()
	if first {
		if err := subscribe(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := s.topics[ch.key]
	if subs == nil {
		subs = map[*channel]struct{}{}
		s.topics[ch.key] = subs
	}
	subs[ch] = struct{}{}
	return nil
}

// remove unregisters ch; when it was the topic's last local channel it calls unsubscribe.
// Removing a channel that is not registered does nothing.
func (h *hub) remove(ch *channel, unsubscribe func()) {
	s := h.shard(ch.key)
	s.busMu.Lock()
	defer s.busMu.Unlock()
	s.mu.Lock()
	subs := s.topics[ch.key]
	_, member := subs[ch]
	if member {
		delete(subs, ch)
		if len(subs) == 0 {
			delete(s.topics, ch.key)
		}
	}
	last := member && len(subs) == 0
	s.mu.Unlock()
	if last {
		unsubscribe()
	}
}

// each calls fn for every local channel of the topic key, under the shard's read lock: fn must not
// block (enqueueing is non-blocking) and must not join or leave channels.
func (h *hub) each(topic string, fn func(*channel)) {
	s := h.shard(topic)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for ch := range s.topics[topic] {
		fn(ch)
	}
}
