package servicetest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestEnvServesAServiceBehindTheGateway mounts a probe service and checks that requests reach
// it through the real middleware with the right principal.
func TestEnvServesAServiceBehindTheGateway(t *testing.T) {
	t.Parallel()
	env := servicetest.New(t, func(*servicetest.Env) []gateway.Service {
		return []gateway.Service{{
			Name: "probe", Prefix: "/probe/v1",
			Mount: func(mux *http.ServeMux) {
				mux.HandleFunc("GET /probe/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
					p, _ := security.PrincipalFrom(r.Context())
					_, _ = w.Write([]byte(p.Role + ":" + p.Subject))
				})
			},
		}}
	})
	res := env.Do(t, servicetest.Request{Method: "GET", Path: "/probe/v1/whoami"})
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "anon:", string(res.Body))

	res = env.Do(t, servicetest.Request{Method: "GET", Path: "/probe/v1/whoami", Token: env.UserToken(t, "user-1", nil)})
	require.Equal(t, "authenticated:user-1", string(res.Body))

	res = env.Do(t, servicetest.Request{Method: "GET", Path: "/probe/v1/whoami", Key: env.ServiceRoleKey()})
	require.Equal(t, "service_role:", string(res.Body))

	res = env.Do(t, servicetest.Request{Method: "GET", Path: "/probe/v1/whoami", Key: "-"})
	require.Equal(t, http.StatusUnauthorized, res.Status)
}
