package realtime

import (
	"context"
	"sync"
)

// Bus carries messages between the nodes serving realtime: broadcasts and presence diffs on
// one channel per topic, database changes on one channel every node listens to. A message
// published on a channel reaches every node subscribed to it, the publisher included, in the
// order it was published. Delivery is at most once: a node that is cut off misses what was
// sent meanwhile.
type Bus interface {
	// Publish sends msg to the nodes subscribed to channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe makes messages on the channels reach this node's deliver function.
	Subscribe(ctx context.Context, channels ...string) error
	// Unsubscribe stops them.
	Unsubscribe(ctx context.Context, channels ...string) error
	// Run delivers messages until ctx ends.
	Run(ctx context.Context) error
}

// DeliverFunc receives the messages of subscribed channels, one at a time and in order. It
// must not block for long: it holds up every later message.
type DeliverFunc func(channel string, msg []byte)

// memoryBus is the Bus of a single node: Publish delivers synchronously to this process.
type memoryBus struct {
	deliver DeliverFunc

	mu         sync.RWMutex
	subscribed map[string]bool
}

var _ Bus = (*memoryBus)(nil)

func newMemoryBus(deliver DeliverFunc) *memoryBus {
	return &memoryBus{deliver: deliver, subscribed: map[string]bool{}}
}

// Publish delivers msg before it returns, so an acknowledged broadcast is already queued for
// every local subscriber.
func (b *memoryBus) Publish(_ context.Context, channel string, msg []byte) error {
	b.mu.RLock()
	ok := b.subscribed[channel]
	b.mu.RUnlock()
	if ok {
		b.deliver(channel, msg)
	}
	return nil
}

func (b *memoryBus) Subscribe(_ context.Context, channels ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range channels {
		b.subscribed[c] = true
	}
	return nil
}

func (b *memoryBus) Unsubscribe(_ context.Context, channels ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range channels {
		delete(b.subscribed, c)
	}
	return nil
}

func (b *memoryBus) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
