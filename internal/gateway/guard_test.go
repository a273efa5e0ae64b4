package gateway_test

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

// standInGuard blocks the addresses in blocked and records what it was told.
type standInGuard struct {
	mu       sync.Mutex
	blocked  map[netip.Addr]bool
	observed []int
}

func (g *standInGuard) Blocked(_ context.Context, ip netip.Addr) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return 90 * time.Second, g.blocked[ip]
}

func (g *standInGuard) Observe(_ *http.Request, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.observed = append(g.observed, status)
}

func (g *standInGuard) statuses() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.observed...)
}

// A blocked address is refused with 403 before the apikey check, probes excepted; every
// 401/403 answer, and only those, is reported to the guard.
func TestClientGuard(t *testing.T) {
	t.Parallel()
	guard := &standInGuard{blocked: map[netip.Addr]bool{}}
	f := newFixture(t, func(o *options) { o.deps.Guard = guard })
	get := func(path string, header http.Header) *http.Response {
		req, err := http.NewRequest("GET", f.srv.URL+path, nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	anon := http.Header{"Apikey": {f.keys.AnonKey()}}
	require.Equal(t, http.StatusOK, get("/auth/v1/whoami", anon).StatusCode)
	require.Equal(t, http.StatusUnauthorized, get("/auth/v1/whoami", nil).StatusCode)
	require.Equal(t, http.StatusUnauthorized, get("/auth/v1/whoami", http.Header{"Apikey": {"nope"}}).StatusCode)
	require.Equal(t, []int{401, 401}, guard.statuses())

	guard.mu.Lock()
	guard.blocked[netip.MustParseAddr("127.0.0.1")] = true
	guard.mu.Unlock()
	res := get("/auth/v1/whoami", anon)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, "90", res.Header.Get("Retry-After"))
	res = get("/auth/v1/whoami", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode, "refused before the apikey check")
	require.Equal(t, http.StatusOK, get("/health", nil).StatusCode, "probes are never refused")
	require.Equal(t, []int{401, 401}, guard.statuses(), "the guard's own refusals are not counted again")
}

var _ gateway.ClientGuard = (*standInGuard)(nil)
