package rest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/rest"
)

// TestInDatabaseConfiguration: PostgREST's in-database configuration, the way Supabase turns
// aggregates and plans on (ALTER ROLE authenticator SET pgrst.db_aggregates_enabled = 'true';
// NOTIFY pgrst, 'reload config'), overrides the service's configuration, both ways. Settings
// for this database only, so that tests sharing the cluster do not see them.
func TestInDatabaseConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *rest.Config) { c.PlanEnabled = true })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	token := e.UserToken(t, userA, nil)
	plan := map[string]string{"Accept": "application/vnd.pgrst.plan+json"}
	require.Equal(t, http.StatusBadRequest, e.do(t, call{path: "/posts?select=count()"}).Status)
	require.Equal(t, http.StatusOK, e.do(t, call{path: "/posts", header: plan, token: token}).Status)

	_, err := e.DB.Pool.Exec(context.Background(), `DO $$BEGIN
		EXECUTE format('ALTER ROLE authenticator IN DATABASE %I SET pgrst.db_aggregates_enabled = %L', current_database(), 'true');
		EXECUTE format('ALTER ROLE authenticator IN DATABASE %I SET pgrst.db_plan_enabled = %L', current_database(), 'false');
	END$$; NOTIFY pgrst, 'reload config';`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := e.DB.Pool.Exec(context.Background(), `DO $$BEGIN
			EXECUTE format('ALTER ROLE authenticator IN DATABASE %I RESET ALL', current_database());
		END$$`)
		require.NoError(t, err)
	})
	require.Eventually(t, func() bool {
		return e.do(t, call{path: "/posts?select=count()"}).Status == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "reload config reads pgrst.db_aggregates_enabled")
	run(t, e, []scenario{
		{name: "aggregates on", call: call{path: "/posts?select=published,count()&order=published"}, status: 200,
			body: `[{"published":false,"count":1},{"published":true,"count":3}]`},
		{name: "plans off", call: call{path: "/posts", header: plan, token: token}, status: 406, code: "PGRST107"},
	})
}
