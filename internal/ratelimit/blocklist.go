package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Blocklist keeps keys (client addresses) refused until a time. With the store's Redis every
// node sees a block at once; while Redis cannot answer, and without Redis, the blocks this
// node made or saw are kept in its memory and decide, as the store's limiters do.
type Blocklist struct {
	name  string
	store *Store
	mu    sync.Mutex
	local map[string]time.Time
	// clear remembers, per key, until when Redis said it is not blocked: asking once per key
	// and NegativeTTL rather than on every request keeps the check off most requests' path, at
	// the price of a block reaching other nodes up to NegativeTTL late.
	clear map[string]time.Time
}

// NegativeTTL is how long a Blocklist trusts Redis's "not blocked" for a key.
const NegativeTTL = time.Second

// maxClear bounds the "not blocked" memory; past it, it starts over.
const maxClear = 100_000

var (
	blockLua   = redis.NewScript(`redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) return 1`)
	blockedLua = redis.NewScript(`return redis.call('PTTL', KEYS[1])`)
	unblockLua = redis.NewScript(`return redis.call('DEL', KEYS[1])`)
)

// Blocklist returns the block list called name. Names must be unique within a store.
func (s *Store) Blocklist(name string) *Blocklist {
	return &Blocklist{name: name, store: s, local: map[string]time.Time{}, clear: map[string]time.Time{}}
}

func (b *Blocklist) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return b.store.cfg.Prefix + "block:" + b.name + ":" + hex.EncodeToString(sum[:16])
}

// Block refuses key for d. It is kept in this node's memory in any case, so that it holds
// here even when Redis fails.
func (b *Blocklist) Block(ctx context.Context, key string, d time.Duration) error {
	until := b.store.now().Add(d)
	b.mu.Lock()
	if until.After(b.local[key]) {
		b.local[key] = until
	}
	delete(b.clear, key)
	b.mu.Unlock()
	if b.store.cfg.Redis == nil {
		return nil
	}
	ctx, cancel := b.timeout(ctx)
	defer cancel()
	if err := blockLua.Run(ctx, b.store.cfg.Redis, []string{b.redisKey(key)}, max(1, d.Milliseconds())).Err(); err != nil {
		b.store.failed(ctx, b.name, err)
		return fmt.Errorf("ratelimit: block: %w", err)
	}
	return nil
}

// Blocked reports whether key is blocked and for how much longer.
func (b *Blocklist) Blocked(ctx context.Context, key string) (time.Duration, bool) {
	if b.store.cfg.Redis != nil && b.store.useRedis() {
		now := b.store.now()
		b.mu.Lock()
		clearUntil, known := b.clear[key]
		b.mu.Unlock()
		if known && now.Before(clearUntil) {
			return 0, false
		}
		rctx, cancel := b.timeout(ctx)
		ms, err := blockedLua.Run(rctx, b.store.cfg.Redis, []string{b.redisKey(key)}).Int64()
		cancel()
		if err == nil {
			b.store.succeeded(ctx)
			if ms > 0 {
				return time.Duration(ms) * time.Millisecond, true
			}
			b.mu.Lock()
			if len(b.clear) >= maxClear {
				b.clear = map[string]time.Time{}
			}
			b.clear[key] = now.Add(NegativeTTL)
			b.mu.Unlock()
			return 0, false
		}
		if ctx.Err() == nil {
			b.store.failed(ctx, b.name, err)
		}
	}
	now := b.store.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.local[key]
	if !ok {
		return 0, false
	}
	if !now.Before(until) {
		delete(b.local, key)
		return 0, false
	}
	return until.Sub(now), true
}

func (b *Blocklist) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	t := b.store.cfg.Timeout
	if t <= 0 {
		t = DefaultRedisTimeout
	}
	return context.WithTimeout(ctx, t)
}

// Unblock lifts key's block here and, with Redis, on every node.
func (b *Blocklist) Unblock(ctx context.Context, key string) error {
	b.mu.Lock()
	delete(b.local, key)
	b.mu.Unlock()
	if b.store.cfg.Redis == nil {
		return nil
	}
	ctx, cancel := b.timeout(ctx)
	defer cancel()
	if err := unblockLua.Run(ctx, b.store.cfg.Redis, []string{b.redisKey(key)}).Err(); err != nil {
		b.store.failed(ctx, b.name, err)
		return fmt.Errorf("ratelimit: unblock: %w", err)
	}
	return nil
}
