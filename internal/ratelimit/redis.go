package ratelimit

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults used by NewRedis for zero RedisConfig fields.
const (
	DefaultRedisPrefix  = "goforward:ratelimit:"
	DefaultRedisTimeout = 250 * time.Millisecond
)

//go:embed bucket.lua
var bucketScript string

// bucketLua is shared by every Redis limiter; go-redis runs it by hash and loads it on demand.
var bucketLua = redis.NewScript(bucketScript)

// RedisConfig configures a limiter whose buckets live in Redis, shared by every node that
// uses the same Redis, Prefix and Name. Zero values mean the stated defaults.
type RedisConfig struct {
	// Name tells limiters sharing one Redis apart ("gateway", "auth_otp"). Default "default".
	Name string
	// Prefix starts every key, so deployments can share a Redis. Default
	// "goforward:ratelimit:".
	Prefix string
	// Rate is the sustained number of events per second each key may make. Default 20.
	Rate float64
	// Burst is how many events a key may make at once before Rate applies. Default 50.
	Burst int
	// Timeout bounds one decision, so a slow Redis cannot hold requests up for long.
	// Default 250ms.
	Timeout time.Duration
}

// Redis is a Limiter keeping one token bucket per key in Redis, with the semantics of Memory:
// a denied event consumes nothing. One Lua script reads, refills and takes in a single atomic
// step on Redis's clock, so nodes neither race each other nor need synchronised clocks. A
// bucket's key expires once the bucket would be full again, so idle keys cost nothing. Keys
// are hashed (unkeyed SHA-256), so e-mail addresses and IPs are not readable in Redis at a
// glance; a hash of an IP address can still be reversed by trying every address, so Redis
// remains infrastructure to trust.
type Redis struct {
	client  redis.Scripter
	prefix  string // Prefix + Name + ":"
	rate    float64
	burst   int
	ttl     int64 // milliseconds
	timeout time.Duration
	now     func() time.Time // nil: Redis's clock; tests set it
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter over client for cfg. It does no I/O.
func NewRedis(client redis.Scripter, cfg RedisConfig) *Redis {
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	// An empty bucket is full again after Burst/Rate; a key gone by then reads as full, which
	// is what it would hold anyway. The extra second covers rounding.
	refill := time.Duration(math.Ceil(float64(cfg.Burst) / cfg.Rate * float64(time.Second)))
	return &Redis{
		client:  client,
		prefix:  cfg.Prefix + cfg.Name + ":",
		rate:    cfg.Rate,
		burst:   cfg.Burst,
		ttl:     (refill + time.Second).Milliseconds(),
		timeout: cfg.Timeout,
	}
}

// Allow takes one token from key's bucket if one is available. It fails when Redis does not
// answer within the timeout or ctx is done.
func (l *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	args := []any{l.rate, l.burst, l.ttl}
	if l.now != nil {
		args = append(args, l.now().UnixMicro())
	}
	res, err := bucketLua.Run(ctx, l.client, []string{l.redisKey(key)}, args...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected script result %v", res)
	}
	if res[0] == 1 {
		return Decision{Allowed: true, Remaining: int(max(0, res[1]))}, nil
	}
	return Decision{RetryAfter: time.Duration(res[2]) * time.Microsecond}, nil
}

// redisKey hashes key so that addresses are not kept in clear text and every key has the same
// length.
func (l *Redis) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return l.prefix + hex.EncodeToString(sum[:16])
}
