package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/redistest"
)

// limitedTo gives the fixture a limiter of burst requests per key that does not refill
// within a test.
func limitedTo(burst int) func(*options) {
	return func(o *options) {
		o.deps.Limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: 0.001, Burst: burst})
	}
}

func (f *fixture) tokenFor(t *testing.T, sub string) string {
	return f.sign(t, jwt.MapClaims{"sub": sub, "role": "authenticated", "aud": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
}

func status(t *testing.T, f *fixture, headers map[string]string) int {
	t.Helper()
	resp, body := get(t, f, "/auth/v1/whoami", headers)
	if resp.StatusCode == http.StatusTooManyRequests {
		require.JSONEq(t, kong("API rate limit exceeded"), body)
	}
	return resp.StatusCode
}

func TestRateLimitPerUserThenPerIP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, limitedTo(2))
	anon := f.keys.AnonKey()
	as := func(token string) map[string]string {
		return map[string]string{"apikey": anon, "Authorization": "Bearer " + token}
	}
	alice, bob := as(f.tokenFor(t, "alice")), as(f.tokenFor(t, "bob"))

	// An app server relays two users from one address: each user has a budget of their own.
	require.Equal(t, http.StatusOK, status(t, f, alice))
	require.Equal(t, http.StatusOK, status(t, f, alice))
	require.Equal(t, http.StatusTooManyRequests, status(t, f, alice))
	require.Equal(t, http.StatusOK, status(t, f, bob), "bob is not throttled for alice's requests")
	require.Equal(t, http.StatusOK, status(t, f, map[string]string{"apikey": anon}), "nor is the address")

	// Without a verified user the address counts: the anon key, or a token that fails.
	require.Equal(t, http.StatusOK, status(t, f, as(forged(t, jwt.MapClaims{"sub": "mallory", "role": "authenticated"}))))
	require.Equal(t, http.StatusTooManyRequests, status(t, f, map[string]string{"apikey": anon}))
	require.Equal(t, http.StatusOK, status(t, f, as(f.tokenFor(t, "mallory"))), "a real user still has a budget")
}

func TestRateLimitExemptsServiceRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, limitedTo(2))
	service := f.keys.ServiceRoleKey()
	for range 10 {
		require.Equal(t, http.StatusOK, status(t, f, map[string]string{"apikey": service}))
		require.Equal(t, http.StatusOK, status(t, f, map[string]string{"apikey": f.keys.AnonKey(), "Authorization": "Bearer " + service}))
	}

	limited := newFixture(t, limitedTo(2), func(o *options) { o.cfg.RateLimitServiceRole = true })
	service = limited.keys.ServiceRoleKey()
	require.Equal(t, http.StatusOK, status(t, limited, map[string]string{"apikey": service}))
	require.Equal(t, http.StatusOK, status(t, limited, map[string]string{"apikey": service}))
	require.Equal(t, http.StatusTooManyRequests, status(t, limited, map[string]string{"apikey": service}))
}

func TestRateLimitKeysIPv6ByNetwork(t *testing.T) {
	t.Parallel()
	f := newFixture(t, limitedTo(2), func(o *options) {
		o.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	from := func(ip string) map[string]string {
		return map[string]string{"apikey": f.keys.AnonKey(), "X-Forwarded-For": ip}
	}
	require.Equal(t, http.StatusOK, status(t, f, from("2001:db8:1:2::1")))
	require.Equal(t, http.StatusOK, status(t, f, from("2001:db8:1:2::2")))
	require.Equal(t, http.StatusTooManyRequests, status(t, f, from("2001:db8:1:2:ffff:ffff:ffff:ffff")),
		"a new address in the same /64 is the same client")
	require.Equal(t, http.StatusOK, status(t, f, from("2001:db8:1:3::1")), "the next /64 is another client")

	// IPv4 stays per address.
	require.Equal(t, http.StatusOK, status(t, f, from("198.51.100.1")))
	require.Equal(t, http.StatusOK, status(t, f, from("198.51.100.1")))
	require.Equal(t, http.StatusTooManyRequests, status(t, f, from("198.51.100.1")))
	require.Equal(t, http.StatusOK, status(t, f, from("198.51.100.2")))
}

func TestRateLimitIPv6PeerWithoutProxy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, limitedTo(1))
	g := f.gateway
	serve := func(remote string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/auth/v1/whoami", nil)
		require.NoError(t, err)
		req.RemoteAddr = remote
		req.Header.Set("apikey", f.keys.AnonKey())
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusOK, serve("[2001:db8:aa:bb::1]:50000"))
	require.Equal(t, http.StatusTooManyRequests, serve("[2001:db8:aa:bb:1:2:3:4]:50001"))
	require.Equal(t, http.StatusOK, serve("[2001:db8:aa:bc::1]:50002"))
}

// sharedNode is one gateway with its own Store on the shared Redis, as on its own node.
func sharedNode(t *testing.T, srv *redistest.Server, burst int) *fixture {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	store := ratelimit.NewStore(ratelimit.StoreConfig{Redis: client, Logger: slog.New(slog.DiscardHandler)})
	return newFixture(t, func(o *options) {
		o.deps.Limiter = store.Limiter("gateway", 0.001, burst)
		o.deps.Metrics = prometheus.NewRegistry()
	})
}

func TestRateLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := sharedNode(t, srv, 3), sharedNode(t, srv, 3)
	anon := map[string]string{"apikey": a.keys.AnonKey()}

	require.Equal(t, http.StatusOK, status(t, a, anon))
	require.Equal(t, http.StatusOK, status(t, b, anon))
	require.Equal(t, http.StatusOK, status(t, a, anon))
	require.Equal(t, http.StatusTooManyRequests, status(t, b, anon), "node b counts node a's requests")
	require.Equal(t, http.StatusTooManyRequests, status(t, a, anon))

	user := map[string]string{"apikey": a.keys.AnonKey(), "Authorization": "Bearer " + a.tokenFor(t, "carol")}
	for range 3 {
		require.Equal(t, http.StatusOK, status(t, b, user))
	}
	require.Equal(t, http.StatusTooManyRequests, status(t, a, user), "a user's budget is shared too")
}

func TestMetricsNeedTheServiceRoleKeyWhenProtected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *options) { o.cfg.ProtectMetrics = true })
	service := f.keys.ServiceRoleKey()
	// The scenarios run in parallel, and a request is counted after its answer is sent: count
	// one first, so that the scrapes below always have a request counter to show.
	require.Eventually(t, func() bool {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("apikey", service)
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(raw), "goforward_http_requests_total")
	}, 10*time.Second, 10*time.Millisecond)
	run(t, f, []scenario{
		{name: "no key", url: "/metrics", expectedStatus: http.StatusUnauthorized, expectedContent: []string{kong("No API key found in request")}},
		{
			name: "anon key", url: "/metrics", headers: map[string]string{"apikey": f.keys.AnonKey()},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{kong("Invalid authentication credentials")},
		},
		{
			name: "user token", url: "/metrics", headers: map[string]string{"apikey": f.keys.AnonKey(), "Authorization": "Bearer " + f.userToken(t)},
			expectedStatus: http.StatusUnauthorized, notExpected: []string{"goforward_http_requests_total"},
		},
		{
			name: "forged service role", url: "/metrics", headers: map[string]string{"apikey": forged(t, jwt.MapClaims{"role": "service_role"})},
			expectedStatus: http.StatusUnauthorized,
		},
		{name: "service key in the query", url: "/metrics?apikey=" + service, expectedStatus: http.StatusUnauthorized},
		{
			name: "service key", url: "/metrics", headers: map[string]string{"apikey": service},
			expectedStatus: http.StatusOK, expectedContent: []string{"goforward_http_requests_total"},
		},
		{
			name: "service key as bearer", url: "/metrics", headers: map[string]string{"Authorization": "Bearer " + service},
			expectedStatus: http.StatusOK, expectedContent: []string{"goforward_http_requests_total"},
		},
		{name: "health stays open", url: "/health", expectedStatus: http.StatusOK},
	})
}
