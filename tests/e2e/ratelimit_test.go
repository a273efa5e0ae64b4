package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/redistest"
)

// TestRateLimitSharedByTwoNodes runs two `goforward serve` processes on one database and one
// Redis in staging: the gateway's budget per client is one for both, the service-role key is
// not limited, and /metrics wants the service-role key.
func TestRateLimitSharedByTwoNodes(t *testing.T) {
	t.Parallel()
	redisSrv := redistest.Start(t)
	database := pgtest.NewDatabase(t)
	database.RequestPool(t) // sets the authenticator's password both nodes use
	env := []string{
		"GOFORWARD_ENV=staging",
		"GOFORWARD_SERVICES=rest",
		"DATABASE_URL=" + database.URL,
		"REDIS_URL=" + redisSrv.URL,
		"JWT_SECRET=e2e-ratelimit-secret-0123456789abcdef0123456789",
		"GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD=" + pgtest.AuthenticatorPassword,
		// Three requests, then one every 1000 s: nothing refills during the test.
		"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND=0.001",
		"GOFORWARD_SERVER_RATE_LIMIT_BURST=3",
	}
	nodes := []*server{startServer(t, tempDataDir(t), env), startServer(t, tempDataDir(t), env)}
	for _, n := range nodes {
		n.waitReady(60 * time.Second)
	}
	st := statusJSON(t, nodes[0].dataDir)
	anon := http.Header{"apikey": {st["anon_key"].(string)}}
	service := http.Header{"apikey": {st["service_role_key"].(string)}}

	for i := range 3 {
		require.NotEqual(t, http.StatusTooManyRequests, get(t, nodes[i%2].url()+"/rest/v1/", anon), "request %d", i+1)
	}
	for _, n := range nodes {
		require.Equal(t, http.StatusTooManyRequests, get(t, n.url()+"/rest/v1/", anon), "%s counts the other node's requests", n.url())
	}
	for _, n := range nodes {
		require.Equal(t, http.StatusOK, get(t, n.url()+"/rest/v1/", service), "the service-role key is not limited")
	}

	require.Equal(t, http.StatusUnauthorized, get(t, nodes[0].url()+"/metrics", nil))
	require.Equal(t, http.StatusUnauthorized, get(t, nodes[0].url()+"/metrics", anon))
	require.Equal(t, http.StatusOK, get(t, nodes[0].url()+"/metrics", service))
	require.Equal(t, http.StatusOK, get(t, nodes[0].url()+"/metrics",
		http.Header{"Authorization": {"Bearer " + st["service_role_key"].(string)}}))
	for _, n := range nodes {
		require.Contains(t, n.stderr.String(), "rate limits are shared through Redis")
	}
}
