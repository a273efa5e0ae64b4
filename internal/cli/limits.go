package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/ratelimit"
)

// rateLimitDialTimeout bounds connecting to Redis for a rate-limit decision; the store's own
// deadline (250ms) bounds the whole decision once connected.
const rateLimitDialTimeout = time.Second

// rateLimitStore builds the store every rate limiter of this node (the gateway's, auth's)
// comes from: one shared by all nodes through Redis when redis.url is set, else in memory.
// The returned function closes its Redis connections.
func rateLimitStore(cfg config.Config, logger *slog.Logger) (*ratelimit.Store, func(), error) {
	storeCfg := ratelimit.StoreConfig{Prefix: cfg.Redis.RateLimitPrefix, Logger: logger}
	if cfg.Redis.URL == "" {
		return ratelimit.NewStore(storeCfg), func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis.url: %s: %w", db.RedactURL(cfg.Redis.URL), err)
	}
	// A rate-limit decision is made quickly or locally: no retries, and the decision's
	// deadline applies to every read and write, not just to waiting for a connection.
	opts.MaxRetries = -1
	opts.DialTimeout = rateLimitDialTimeout
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	storeCfg.Redis = client
	logger.Info("rate limits are shared through Redis", "redis", db.RedactURL(cfg.Redis.URL), "prefix", cfg.Redis.RateLimitPrefix)
	return ratelimit.NewStore(storeCfg), func() { client.Close() }, nil
}
