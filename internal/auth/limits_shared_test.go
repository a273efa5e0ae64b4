package auth_test

import (
	"log/slog"
	"net/http"
	"net/netip"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/redistest"
	"github.com/goforward/goforward/internal/servicetest"
)

var behindProxy = gateway.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

// otpFrom asks for a sign-in code for email as a client at ip behind the trusted proxy.
func (e *env) otpFrom(t *testing.T, ip, email string) servicetest.Response {
	t.Helper()
	return e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/otp", Body: map[string]any{"email": email},
		Header: http.Header{"X-Forwarded-For": {ip}, "X-Supabase-Api-Version": {"2024-01-01"}}})
}

func TestRateLimitsKeyIPv6ByNetwork(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{cfg: func(c *auth.Config) { c.RateLimits.OTP = 1 }, gateway: behindProxy})

	require.Equal(t, http.StatusOK, e.otpFrom(t, "2001:db8:1:2::1", emailFor(t, "one")).Status)
	limited := e.otpFrom(t, "2001:db8:1:2::2", emailFor(t, "two"))
	require.Equal(t, http.StatusTooManyRequests, limited.Status, "another address of the same /64: %s", limited.Body)
	require.Equal(t, "over_request_rate_limit", limited.Header.Get("x-sb-error-code"))
	require.Equal(t, http.StatusOK, e.otpFrom(t, "2001:db8:1:3::1", emailFor(t, "three")).Status, "the next /64")
}

func TestRateLimitsSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	// Two auth services, each with its own connection to the shared Redis, as two nodes.
	nodeEnv := func() *env {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { client.Close() })
		store := ratelimit.NewStore(ratelimit.StoreConfig{Redis: client, Logger: slog.New(slog.DiscardHandler)})
		return newEnv(t, options{
			cfg:     func(c *auth.Config) { c.RateLimits.OTP = 2 },
			deps:    func(d *auth.Deps) { d.RateLimits = store },
			gateway: behindProxy,
		})
	}
	a, b := nodeEnv(), nodeEnv()

	require.Equal(t, http.StatusOK, a.otpFrom(t, "203.0.113.9", emailFor(t, "first")).Status)
	require.Equal(t, http.StatusOK, b.otpFrom(t, "203.0.113.9", emailFor(t, "second")).Status)
	limited := a.otpFrom(t, "203.0.113.9", emailFor(t, "third"))
	require.Equal(t, http.StatusTooManyRequests, limited.Status, "node a counts node b's request: %s", limited.Body)
	require.NotEmpty(t, limited.Header.Get("Retry-After"))
	require.Equal(t, http.StatusTooManyRequests, b.otpFrom(t, "203.0.113.9", emailFor(t, "fourth")).Status)

	// A per-address budget is shared too: two codes for one inbox, from two nodes and IPs.
	target := emailFor(t, "target")
	require.Equal(t, http.StatusOK, a.otpFrom(t, "203.0.113.20", target).Status)
	require.Equal(t, http.StatusOK, b.otpFrom(t, "203.0.113.21", target).Status)
	require.Equal(t, http.StatusTooManyRequests, a.otpFrom(t, "203.0.113.22", target).Status)
}
