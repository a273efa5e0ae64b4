package realtime

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// PresenceEntry is one tracked presence: the state a channel tracked under a presence key.
type PresenceEntry struct {
	// ID identifies the tracking channel across nodes: "<node id>/<connection id>".
	ID string `json:"id"`
	// Key is the presence key (config.presence.key, or a generated one).
	Key string `json:"key"`
	// Meta is the tracked state with its phx_ref, as clients receive it.
	Meta json.RawMessage `json:"meta"`
}

// Node returns the node part of the entry's ID.
func (e PresenceEntry) Node() string {
	node, _, _ := strings.Cut(e.ID, "/")
	return node
}

// PresenceStore holds the presence entries of every topic, so that every node shows the
// same presence_state. Track replaces an entry with the same ID and returns the one it
// replaced; Untrack returns the entry it removed, or nil when there was none.
type PresenceStore interface {
	Track(ctx context.Context, topic string, e PresenceEntry) (*PresenceEntry, error)
	Untrack(ctx context.Context, topic, id string) (*PresenceEntry, error)
	List(ctx context.Context, topic string) ([]PresenceEntry, error)
}

// presenceReaper is implemented by stores shared between nodes: Run keeps this node's
// entries alive and removes those of nodes that stopped refreshing theirs, reporting each
// removal to gone so that leaves can be announced.
type presenceReaper interface {
	Run(ctx context.Context, gone func(topic string, entries []PresenceEntry)) error
}

// memoryPresence is the PresenceStore of a single node.
type memoryPresence struct {
	mu     sync.Mutex
	topics map[string]map[string]PresenceEntry
}

var _ PresenceStore = (*memoryPresence)(nil)

func newMemoryPresence() *memoryPresence {
	return &memoryPresence{topics: map[string]map[string]PresenceEntry{}}
}

func (m *memoryPresence) Track(_ context.Context, topic string, e PresenceEntry) (*PresenceEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := m.topics[topic]
	if entries == nil {
		entries = map[string]PresenceEntry{}
		m.topics[topic] = entries
	}
	prev, had := entries[e.ID]
	entries[e.ID] = e
	if had {
		return &prev, nil
	}
	return nil, nil
}

func (m *memoryPresence) Untrack(_ context.Context, topic, id string) (*PresenceEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := m.topics[topic]
	prev, had := entries[id]
	if !had {
		return nil, nil
	}
	delete(entries, id)
	if len(entries) == 0 {
		delete(m.topics, topic)
	}
	return &prev, nil
}

func (m *memoryPresence) List(_ context.Context, topic string) ([]PresenceEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PresenceEntry, 0, len(m.topics[topic]))
	for _, e := range m.topics[topic] {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b PresenceEntry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
