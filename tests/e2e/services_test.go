package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServicesSubset: --services runs only the named services; the others' routes answer 404
// even with a valid key, while the chosen ones serve.
func TestServicesSubset(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, nil, "--services", "rest")
	srv.waitReady(60 * time.Second)
	key := http.Header{"Apikey": {statusJSON(t, dataDir)["anon_key"].(string)}}

	require.Equal(t, []any{"rest"}, statusJSON(t, dataDir)["services"], "status reports the mounted services")
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/rest/v1/", key), "rest is running")
	require.Equal(t, http.StatusNotFound, get(t, srv.url()+"/auth/v1/settings", key), "auth is not")
	require.Equal(t, http.StatusNotFound, get(t, srv.url()+"/auth/v1/health", key))
}

// TestAllServicesByDefault: without --services every built service answers, and status lists
// exactly those: no service that is not built is reported as running.
func TestAllServicesByDefault(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, nil)
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)
	require.Equal(t, []any{"auth", "rest", "storage", "realtime", "admin", "meta", "functions", "dashboard"}, status["services"])
	key := http.Header{"Apikey": {status["anon_key"].(string)}}
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/rest/v1/", key))
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/auth/v1/settings", key))
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/storage/v1/bucket", http.Header{
		"Apikey": {status["service_role_key"].(string)}, "Authorization": {"Bearer " + status["service_role_key"].(string)},
	}))
	require.NotEqual(t, http.StatusNotFound, get(t, srv.url()+"/realtime/v1/websocket", key), "realtime is mounted (a plain GET is no WebSocket upgrade)")
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/admin/v1/me", http.Header{"Apikey": {status["service_role_key"].(string)}}))
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/pg/config/version", http.Header{"Apikey": {status["service_role_key"].(string)}}), "the meta API answers the service-role key")
	require.Equal(t, http.StatusForbidden, get(t, srv.url()+"/pg/tables", key), "and refuses the anon key")
}
