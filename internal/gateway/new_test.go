package gateway_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/security"
)

func TestNewRejectsBadWiring(t *testing.T) {
	t.Parallel()
	keys, err := security.NewKeys(testSecret, "", time.Now())
	require.NoError(t, err)
	deps := gateway.Deps{Keys: keys, Logger: slog.New(slog.DiscardHandler)}
	mount := func(patterns ...string) func(*http.ServeMux) {
		return func(mux *http.ServeMux) {
			for _, p := range patterns {
				mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
			}
		}
	}
	svc := func(name, prefix string, open ...string) gateway.Service {
		return gateway.Service{Name: name, Prefix: prefix, Open: open, Mount: mount("GET " + prefix + "/x")}
	}

	tests := []struct {
		name     string
		deps     gateway.Deps
		services []gateway.Service
		want     string
	}{
		{"no keys", gateway.Deps{}, nil, "Keys is required"},
		{"no name", deps, []gateway.Service{svc("", "/auth/v1")}, "name must be set"},
		{"reserved name", deps, []gateway.Service{svc("gateway", "/auth/v1")}, "name must be set"},
		{"relative prefix", deps, []gateway.Service{svc("auth", "auth/v1")}, "clean absolute path"},
		{"unclean prefix", deps, []gateway.Service{svc("auth", "/auth/../v1")}, "clean absolute path"},
		{"no mount", deps, []gateway.Service{{Name: "auth", Prefix: "/auth/v1"}}, "Mount function is required"},
		{"open path outside the prefix", deps, []gateway.Service{svc("auth", "/auth/v1", "/rest/v1")}, "not under prefix"},
		{"open look-alike prefix", deps, []gateway.Service{svc("auth", "/auth/v1", "/auth/v10")}, "not under prefix"},
		{"bad body limit", deps, []gateway.Service{{Name: "auth", Prefix: "/auth/v1", Mount: mount(), MaxBodyBytes: -2}}, "MaxBodyBytes"},
		{"duplicate name", deps, []gateway.Service{svc("auth", "/auth/v1"), svc("auth", "/auth/v2")}, "already used"},
		{"duplicate prefix", deps, []gateway.Service{svc("auth", "/auth/v1"), svc("auth2", "/auth/v1/")}, "already used"},
		{
			"conflicting patterns", deps,
			[]gateway.Service{{Name: "a", Prefix: "/a", Mount: mount("GET /health")}}, "mount",
		},
		{
			"metrics registerer that cannot be gathered",
			gateway.Deps{Keys: keys, Metrics: prometheus.WrapRegistererWith(prometheus.Labels{"node": "1"}, prometheus.NewRegistry())},
			nil, "Gatherer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := gateway.New(gateway.Config{}, tt.deps, tt.services...)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, g)
		})
	}
}

func TestGatewaysCanShareARegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	configure := func(o *options) { o.deps.Metrics = reg }
	first := newFixture(t, configure)
	second := newFixture(t, configure)

	get(t, first, "/health", nil)
	get(t, second, "/health", nil)
	_, body := get(t, first, "/metrics", nil)
	require.Contains(t, body, `goforward_http_requests_total{code="200",method="GET",route="GET /health",service="gateway"} 2`)
}
