package ratelimit

import (
	"container/list"
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults used by NewMemory for zero MemoryConfig fields.
const (
	DefaultRate          = 20.0
	DefaultBurst         = 50
	DefaultMaxKeys       = 100_000
	DefaultSweepInterval = time.Minute
)

const (
	// minIdleTimeout keeps briefly idle keys around even when buckets refill quickly.
	minIdleTimeout = time.Minute
	// maxShards bounds lock striping; keysPerShardFloor keeps small limiters on few shards.
	maxShards         = 64
	keysPerShardFloor = 64
)

// MemoryConfig configures an in-process limiter. Zero values mean the stated defaults.
type MemoryConfig struct {
	// Rate is the sustained number of events per second each key may make. Default 20.
	Rate float64
	// Burst is how many events a key may make at once before Rate applies. Default 50.
	Burst int
	// MaxKeys bounds how many keys are tracked; when full, the least recently used key is
	// forgotten (it starts again with a full bucket). Default 100,000.
	MaxKeys int
	// IdleTimeout is how long an unused key is kept. Default (and minimum): the time an empty
	// bucket takes to refill, and at least one minute, so forgetting a key never lets it do
	// more than it could have done anyway.
	IdleTimeout time.Duration
	// SweepInterval is how often Run forgets idle keys. Default one minute.
	SweepInterval time.Duration
}

// Memory is a Limiter keeping one token bucket per key in process memory. Keys are spread
// over shards by hash, each with its own lock and least-recently-used list, so concurrent
// callers rarely contend and memory stays bounded by MaxKeys.
type Memory struct {
	limit         rate.Limit
	burst         int
	idleTimeout   time.Duration
	sweepInterval time.Duration
	seed          maphash.Seed
	shards        []shard
	now           func() time.Time
}

type shard struct {
	mu      sync.Mutex
	maxKeys int
	byKey   map[string]*list.Element // of *bucket
	recency list.List                // most recently used at the front
}

type bucket struct {
	key      string
	limiter  *rate.Limiter
	lastSeen time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-process limiter for cfg. Call Run to forget idle keys over time;
// without it, memory is still bounded by MaxKeys.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	refill := time.Duration(math.Ceil(float64(cfg.Burst) / cfg.Rate * float64(time.Second)))
	cfg.IdleTimeout = max(cfg.IdleTimeout, refill, minIdleTimeout)

	// Few keys need few shards; each shard's cap is its share of MaxKeys, so the total never
	// exceeds MaxKeys.
	n := min(maxShards, max(1, cfg.MaxKeys/keysPerShardFloor))
	m := &Memory{
		limit:         rate.Limit(cfg.Rate),
		burst:         cfg.Burst,
		idleTimeout:   cfg.IdleTimeout,
		sweepInterval: cfg.SweepInterval,
		seed:          maphash.MakeSeed(),
		shards:        make([]shard, n),
		now:           time.Now,
	}
	for i := range m.shards {
		m.shards[i].maxKeys = cfg.MaxKeys / n
		m.shards[i].byKey = make(map[string]*list.Element)
	}
	return m
}

// Allow takes one token from key's bucket if one is available. It fails only when ctx is
// already done.
func (m *Memory) Allow(ctx context.Context, key string) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	now := m.now()
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]

	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.touch(key, now, m.newLimiter)
	r := b.limiter.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return Decision{RetryAfter: delay}, nil
	}
	return Decision{Allowed: true, Remaining: max(0, int(b.limiter.TokensAt(now)))}, nil
}

func (m *Memory) newLimiter() *rate.Limiter { return rate.NewLimiter(m.limit, m.burst) }

// touch returns key's bucket, marking it most recently used, creating it (and evicting the
// least recently used bucket when the shard is full) if needed. The caller holds s.mu.
func (s *shard) touch(key string, now time.Time, newLimiter func() *rate.Limiter) *bucket {
	if el, ok := s.byKey[key]; ok {
		s.recency.MoveToFront(el)
		b := el.Value.(*bucket)
		b.lastSeen = now
		return b
	}
	if len(s.byKey) >= s.maxKeys {
		oldest := s.recency.Back()
		s.recency.Remove(oldest)
		delete(s.byKey, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, limiter: newLimiter(), lastSeen: now}
	s.byKey[key] = s.recency.PushFront(b)
	return b
}

// Len returns the number of keys currently tracked.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.byKey)
		s.mu.Unlock()
	}
	return n
}

// Run forgets keys idle for longer than IdleTimeout every SweepInterval until ctx is done,
// then returns nil.
func (m *Memory) Run(ctx context.Context) error {
	ticker := time.NewTicker(m.sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			m.sweep(m.now())
		}
	}
}

// sweep removes buckets last used before now-IdleTimeout. Each shard's list is ordered by
// use, so it stops at the first bucket still in use.
func (m *Memory) sweep(now time.Time) {
	cutoff := now.Add(-m.idleTimeout)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for el := s.recency.Back(); el != nil; el = s.recency.Back() {
			b := el.Value.(*bucket)
			if b.lastSeen.After(cutoff) {
				break
			}
			s.recency.Remove(el)
			delete(s.byKey, b.key)
		}
		s.mu.Unlock()
	}
}
