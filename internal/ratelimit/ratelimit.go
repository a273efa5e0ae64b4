// Package ratelimit decides whether a caller identified by a key (a client IP, a user id, an
// e-mail address) may proceed. Limiter is the seam: Memory keeps token buckets for one node,
// Redis keeps the same buckets in Redis for many, and Store hands out named limiters of the
// right kind, falling back to Memory while Redis cannot answer. IPKey turns a client address
// into a key.
package ratelimit

import (
	"context"
	"math"
	"time"
)

// Limiter decides whether one more event for key is allowed now. Implementations are safe for
// concurrent use. An error means the limiter could not decide (its store is unreachable);
// callers choose whether to fail open or closed.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

// Decision is a Limiter's answer for one event.
type Decision struct {
	// Allowed reports whether the event may proceed; a denied event consumed nothing.
	Allowed bool
	// RetryAfter is how long until the event would be allowed; zero when Allowed.
	RetryAfter time.Duration
	// Remaining is how many more events the key may make right away after this one.
	Remaining int
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1 for a denied event,
// as a Retry-After header wants it. It is 0 for an allowed event.
func (d Decision) RetryAfterSeconds() int {
	if d.Allowed {
		return 0
	}
	return max(1, int(math.Ceil(d.RetryAfter.Seconds())))
}
