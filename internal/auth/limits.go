package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/goforward/goforward/internal/ratelimit"
)

// maxBurst caps how many requests a key may make at once, as GoTrue's limiters do (burst 30).
const maxBurst = 30

// limiters are the service's in-process token buckets; nil fields are limits turned off.
type limiters struct {
	otp, verify, token, anonymous *ratelimit.Memory
	emailSent, smsSent            *ratelimit.Memory
	mfa                           *ratelimit.Memory
}

func newLimiters(cfg RateLimits) *limiters {
	return &limiters{
		otp:       bucket(cfg.OTP, 5*time.Minute),
		verify:    bucket(cfg.Verify, 5*time.Minute),
		token:     bucket(cfg.Token, 5*time.Minute),
		anonymous: bucket(cfg.AnonymousUsers, time.Hour),
		emailSent: bucket(cfg.EmailSent, time.Hour),
		smsSent:   bucket(cfg.SMSSent, time.Hour),
		mfa:       bucket(cfg.MFA, time.Minute),
	}
}

// bucket allows n events per period, in bursts of at most maxBurst; n < 0 means no limit.
func bucket(n int, per time.Duration) *ratelimit.Memory {
	if n < 0 {
		return nil
	}
	return ratelimit.NewMemory(ratelimit.MemoryConfig{
		Rate:  float64(n) / per.Seconds(),
		Burst: min(n, maxBurst),
	})
}

func (l *limiters) all() []*ratelimit.Memory {
	var out []*ratelimit.Memory
	for _, m := range []*ratelimit.Memory{l.otp, l.verify, l.token, l.anonymous, l.emailSent, l.smsSent, l.mfa} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// limit takes one event from bucket for the client's IP and for each non-empty address
// (e-mail or phone) the request names, answering 429 over_request_rate_limit when any is
// exhausted. An address key is shared by every IP, so spreading requests over many addresses
// does not help a single client, and many clients cannot flood one inbox.
func (s *Service) limit(r *http.Request, m *ratelimit.Memory, addresses ...string) error {
	if m == nil {
		return nil
	}
	keys := []string{"ip:" + clientOf(r).IP.String()}
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
func allow(ctx context.Context, m *ratelimit.Memory, key, code, msg string) error {
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
