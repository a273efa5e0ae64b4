package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// DefaultRetryInterval is how long a Store keeps deciding locally after Redis failed.
const DefaultRetryInterval = 5 * time.Second

// StoreConfig configures a Store. Zero values mean the stated defaults.
type StoreConfig struct {
	// Redis holds buckets shared by every node. Nil: each node keeps its own in memory.
	Redis redis.Scripter
	// Prefix starts every Redis key. Default "goforward:ratelimit:".
	Prefix string
	// Timeout bounds one Redis decision. Default 250ms.
	Timeout time.Duration
	// RetryInterval is how long after a Redis failure decisions are made in this process
	// before Redis is asked again, so an outage does not add Timeout to every request.
	// Default 5s.
	RetryInterval time.Duration
	// Logger receives the warning when Redis becomes unreachable and the notice when it is
	// back. Nil: slog.Default().
	Logger *slog.Logger
}

// Store makes the named limiters of one process. With Redis, every limiter's buckets are
// shared by all nodes using the same Redis and prefix. When Redis cannot answer, a limiter
// falls back to a bucket in this process with the same rate and burst: limits then hold per
// node (a cluster of N nodes admits up to N times the limit) instead of failing closed, which
// would turn a Redis outage into an API outage, or failing open, which would drop the
// protection exactly when something is already wrong. Each failure is counted in
// goforward_ratelimit_store_errors_total{limiter}; the switch to local limits and back is
// logged once each way.
type Store struct {
	cfg      StoreConfig
	logger   *slog.Logger
	errors   *prometheus.CounterVec
	now      func() time.Time
	degraded atomic.Bool // Redis failed; decide locally until retryAt

	mu       sync.Mutex
	retryAt  time.Time
	memories []*Memory
}

// NewStore returns a store for cfg. It does no I/O. Register Collector to export its metric.
func NewStore(cfg StoreConfig) *Store {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	s := &Store{cfg: cfg, logger: cfg.Logger, now: time.Now}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goforward_ratelimit_store_errors_total",
		Help: "Rate-limit decisions Redis could not make, by limiter; each was made by this node alone.",
	}, []string{"limiter"})
	return s
}

// Collector is the store's metric, goforward_ratelimit_store_errors_total{limiter}, for the
// caller's registry.
func (s *Store) Collector() prometheus.Collector { return s.errors }

// Shared reports whether the store's limits hold across nodes (it has Redis).
func (s *Store) Shared() bool { return s.cfg.Redis != nil }

// Limiter returns the limiter called name allowing rate events per second per key, in bursts
// of up to burst. Names must be unique within a store: two limiters of one name share
// buckets in Redis.
func (s *Store) Limiter(name string, rate float64, burst int) Limiter {
	local := NewMemory(MemoryConfig{Rate: rate, Burst: burst})
	s.mu.Lock()
	s.memories = append(s.memories, local)
	s.mu.Unlock()
	if s.cfg.Redis == nil {
		return local
	}
	remote := NewRedis(s.cfg.Redis, RedisConfig{
		Name: name, Prefix: s.cfg.Prefix, Rate: rate, Burst: burst, Timeout: s.cfg.Timeout,
	})
	return &shared{name: name, remote: remote, local: local, store: s}
}

// Run forgets idle in-process keys every minute until ctx is done, then returns nil.
func (s *Store) Run(ctx context.Context) error {
	ticker := time.NewTicker(DefaultSweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			s.mu.Lock()
			memories := s.memories
			s.mu.Unlock()
			for _, m := range memories {
				m.sweep(m.now())
			}
		}
	}
}

// useRedis reports whether Redis should be asked: always unless it failed within the last
// RetryInterval.
func (s *Store) useRedis() bool {
	if !s.degraded.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.now().Before(s.retryAt)
}

func (s *Store) failed(ctx context.Context, limiter string, err error) {
	s.errors.WithLabelValues(limiter).Inc()
	s.mu.Lock()
	s.retryAt = s.now().Add(s.cfg.RetryInterval)
	s.mu.Unlock()
	if !s.degraded.Swap(true) {
		s.logger.WarnContext(ctx, "rate-limit store unreachable, limiting per node until it answers again",
			"limiter", limiter, "retry_every", s.cfg.RetryInterval.String(), "error", err)
	}
}

func (s *Store) succeeded(ctx context.Context) {
	if s.degraded.Load() && s.degraded.Swap(false) {
		s.logger.InfoContext(ctx, "rate-limit store reachable again, limits are shared across nodes")
	}
}

// shared asks Redis and falls back to its in-process bucket while Redis cannot answer.
type shared struct {
	name   string
	remote *Redis
	local  *Memory
	store  *Store
}

func (l *shared) Allow(ctx context.Context, key string) (Decision, error) {
	if l.store.useRedis() {
		d, err := l.remote.Allow(ctx, key)
		if err == nil {
			l.store.succeeded(ctx)
			return d, nil
		}
		if ctx.Err() != nil {
			return Decision{}, ctx.Err() // the caller is gone; Redis is not to blame
		}
		l.store.failed(ctx, l.name, err)
	}
	return l.local.Allow(ctx, key)
}
