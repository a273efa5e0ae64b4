package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

// TestAccessLogClientGone checks that a request whose client went away before anything was
// sent is logged at info with nginx's 499, not with a status it never had.
func TestAccessLogClientGone(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	f := newFixture(t, func(o *options) {
		o.services = append(o.services, gateway.Service{Name: "slow", Prefix: "/slow/v1", Open: []string{"/slow/v1/"},
			Mount: func(mux *http.ServeMux) {
				mux.HandleFunc("GET /slow/v1/wait", func(_ http.ResponseWriter, r *http.Request) {
					close(started)
					<-r.Context().Done()
				})
			}})
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/slow/v1/wait", nil)
	require.NoError(t, err)
	go func() {
		<-started
		cancel()
	}()
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)

	var entry map[string]any
	require.Eventually(t, func() bool {
		for line := range strings.SplitSeq(strings.TrimSpace(f.logs.String()), "\n") {
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "request" {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "INFO", entry["level"])
	require.EqualValues(t, 499, entry["status"])
}
