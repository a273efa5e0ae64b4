package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/goforward/goforward/internal/ratelimit"
)

// maxBurst caps how many requests a key may make at once, as GoTrue's limiters do (burst 30).
const maxBurst = 30

// limiters are the service's token buckets; nil fields are limits turned off. They come from
// Deps.RateLimits (shared across nodes when it has Redis) or from a store of the service's
// own, in memory, which the service then runs.
type limiters struct {
	otp, verify, token, anonymous ratelimit.Limiter
	emailSent, smsSent            ratelimit.Limiter
	mfa                           ratelimit.Limiter
	own                           *ratelimit.Store // nil when the store is someone else's to run
}

func newLimiters(cfg RateLimits, store *ratelimit.Store) *limiters {
	l := &limiters{}
	if store == nil {
		store = ratelimit.NewStore(ratelimit.StoreConfig{})
		l.own = store
	}
	// Names are the Redis key segments: they must stay distinct, and stable across versions
	// so that nodes of different versions share buckets during a rolling upgrade.
	bucket := func(name string, n int, per time.Duration) ratelimit.Limiter {
		if n < 0 {
			return nil
		}
		return store.Limiter("auth_"+name, float64(n)/per.Seconds(), min(n, maxBurst))
	}
	l.otp = bucket("otp", cfg.OTP, 5*time.Minute)
	l.verify = bucket("verify", cfg.Verify, 5*time.Minute)
	l.token = bucket("token", cfg.Token, 5*time.Minute)
	l.anonymous = bucket("anonymous", cfg.AnonymousUsers, time.Hour)
	l.emailSent = bucket("email_sent", cfg.EmailSent, time.Hour)
	l.smsSent = bucket("sms_sent", cfg.SMSSent, time.Hour)
	l.mfa = bucket("mfa", cfg.MFA, time.Minute)
	return l
}

// all is the background work the limiters need: sweeping the service's own in-memory store.
func (l *limiters) all() []interface{ Run(context.Context) error } {
	if l.own == nil {
		return nil
	}
	return []interface{ Run(context.Context) error }{l.own}
}

// limit takes one event from bucket for the client's network (ratelimit.IPKey: IPv6 per /64)
// and for each non-empty address (e-mail or phone) the request names, answering 429
// over_request_rate_limit when any is exhausted. An address key is shared by every IP, so
// spreading requests over many addresses does not help a single client, and many clients
// cannot flood one inbox.
func (s *Service) limit(r *http.Request, m ratelimit.Limiter, addresses ...string) error {
	if m == nil {
		return nil
	}
	keys := []string{"ip:" + ratelimit.IPKey(clientOf(r).IP)}
	for _, a := range addresses {
		if a != "" {
			keys = append(keys, "addr:"+a)
		}
	}
	for _, key := range keys {
		if err := allow(r.Context(), m, key, CodeOverRequestRateLimit, msgRateLimited); err != nil {
			return err
		}
	}
	return nil
}

// allow takes one event for key from m, or returns a 429 with code and msg.
func allow(ctx context.Context, m ratelimit.Limiter, key, code, msg string) error {
	if m == nil {
		return nil
	}
	d, err := m.Allow(ctx, key)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return tooManyRequests(code, msg, d.RetryAfter)
	}
	return nil
}
