package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisRetryPause is the pause before receiving again after the connection to Redis failed
// (go-redis reconnects and subscribes again by itself).
const redisRetryPause = 200 * time.Millisecond

// subscribeTimeout bounds how long Subscribe waits for Redis to confirm a subscription.
const subscribeTimeout = 5 * time.Second

// probePrefix starts the messages Subscribe sends itself to learn that a subscription is in
// effect; real messages are JSON and never start with a NUL byte.
const probePrefix = "\x00probe\x00"

// redisBus is the Bus of a cluster: Redis pub/sub on channels named prefix + channel.
type redisBus struct {
	client  redis.UniversalClient
	prefix  string
	node    string
	deliver DeliverFunc
	logger  *slog.Logger
	pubsub  *redis.PubSub

	mu      sync.Mutex
	probes  map[string]chan struct{}
	probeID atomic.Uint64
	// subscribed is this node's own view of its subscriptions. UNSUBSCRIBE gets no reply
	// either, so Redis may still hand over messages published just after Unsubscribe
	// returned; Run drops those by checking this set.
	subscribed map[string]struct{}
}

var _ Bus = (*redisBus)(nil)

func newRedisBus(client redis.UniversalClient, prefix, node string, deliver DeliverFunc, logger *slog.Logger) *redisBus {
	return &redisBus{
		client:  client,
		prefix:  prefix,
		node:    node,
		deliver: deliver,
		logger:  logger,
		// No channel yet: the connection opens with the first Subscribe or Receive.
		pubsub:     client.Subscribe(context.Background()),
		probes:     map[string]chan struct{}{},
		subscribed: map[string]struct{}{},
	}
}

func (b *redisBus) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := b.client.Publish(ctx, b.prefix+channel, msg).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Subscribe returns once Redis delivers the channels' messages to this node: SUBSCRIBE gets
// no reply of its own, so it publishes a probe on each channel and waits for it to come back.
// A client told it has joined therefore never misses a message sent right after.
func (b *redisBus) Subscribe(ctx context.Context, channels ...string) error {
	b.mu.Lock()
	for _, c := range channels {
		b.subscribed[c] = struct{}{}
	}
	b.mu.Unlock()
	if err := b.pubsub.Subscribe(ctx, b.prefixed(channels)...); err != nil {
		return fmt.Errorf("redis subscribe: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	for _, c := range channels {
		token := probePrefix + b.node + "/" + strconv.FormatUint(b.probeID.Add(1), 10)
		arrived := make(chan struct{})
		b.mu.Lock()
		b.probes[token] = arrived
		b.mu.Unlock()
		err := b.client.Publish(ctx, b.prefix+c, token).Err()
		if err == nil {
			select {
			case <-arrived:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		b.mu.Lock()
		delete(b.probes, token)
		b.mu.Unlock()
		if err != nil {
			return fmt.Errorf("redis subscribe %s: %w", c, err)
		}
	}
	return nil
}

func (b *redisBus) Unsubscribe(ctx context.Context, channels ...string) error {
	b.mu.Lock()
	for _, c := range channels {
		delete(b.subscribed, c)
	}
	b.mu.Unlock()
	if err := b.pubsub.Unsubscribe(ctx, b.prefixed(channels)...); err != nil {
		return fmt.Errorf("redis unsubscribe: %w", err)
	}
	return nil
}

func (b *redisBus) prefixed(channels []string) []string {
	out := make([]string, len(channels))
	for i, c := range channels {
		out[i] = b.prefix + c
	}
	return out
}

// Run receives until ctx ends, then closes the subscription.
func (b *redisBus) Run(ctx context.Context) error {
	// A pub/sub read blocks without a deadline and ignores ctx; closing the subscription is
	// what ends it.
	stop := context.AfterFunc(ctx, func() { _ = b.pubsub.Close() })
	defer stop()
	defer b.pubsub.Close()
	for {
		msg, err := b.pubsub.ReceiveMessage(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, redis.ErrClosed):
			return nil
		case err != nil:
			b.logger.WarnContext(ctx, "realtime: receiving from redis failed; reconnecting", "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(redisRetryPause):
			}
			continue
		}
		if strings.HasPrefix(msg.Payload, probePrefix) {
			b.mu.Lock()
			if arrived, ok := b.probes[msg.Payload]; ok {
				close(arrived)
				delete(b.probes, msg.Payload)
			}
			b.mu.Unlock()
			continue
		}
		channel, ok := strings.CutPrefix(msg.Channel, b.prefix)
		if !ok {
			continue
		}
		b.mu.Lock()
		_, wanted := b.subscribed[channel]
		b.mu.Unlock()
		if !wanted {
			continue
		}
		b.deliver(channel, []byte(msg.Payload))
	}
}
