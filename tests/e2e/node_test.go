package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth/oidctest"
)

// TestSupabaseJS runs the Node test files in tests/e2e/node with @supabase/supabase-js
// against a goforward started on a fresh data directory. scripts/test.sh installs Node and
// the packages (npm ci); without them this test fails rather than skips, since CI must prove
// compatibility with the real client.
func TestSupabaseJS(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("node")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@supabase", "supabase-js"))
	require.NoError(t, err, "run `npm ci --prefix tests/e2e/node` (scripts/deps.sh test does)")

	// A real OpenID Connect provider on loopback for signInWithOAuth and linkIdentity
	// (auth_oauth.test.mjs); the browser's part is played by fetch with manual redirects.
	idp, err := oidctest.Start("e2e-client", "e2e-secret")
	require.NoError(t, err)
	t.Cleanup(idp.Close)

	dataDir := tempDataDir(t)
	// Every suite signs users up from 127.0.0.1; GoTrue's per-IP defaults (30 per 5 minutes)
	// would throttle the whole run, so the auth limits are off here and tested in internal/auth.
	srv := startServer(t, dataDir, []string{
		"GOFORWARD_AUTH_RATE_LIMIT_OTP=0",
		"GOFORWARD_AUTH_RATE_LIMIT_VERIFY=0",
		"GOFORWARD_AUTH_RATE_LIMIT_TOKEN=0",
		"GOFORWARD_AUTH_RATE_LIMIT_EMAIL_SENT=0",
		"GOFORWARD_AUTH_RATE_LIMIT_SMS_SENT=0",
		"GOFORWARD_AUTH_EXTERNAL_OIDC_ENABLED=true",
		"GOFORWARD_AUTH_EXTERNAL_OIDC_NAME=acme",
		"GOFORWARD_AUTH_EXTERNAL_OIDC_ISSUER=" + idp.URL,
		"GOFORWARD_AUTH_EXTERNAL_OIDC_CLIENT_ID=e2e-client",
		"GOFORWARD_AUTH_EXTERNAL_OIDC_SECRET=e2e-secret",
		"GOFORWARD_AUTH_MANUAL_LINKING_ENABLED=true",
		"GOFORWARD_AUTH_URI_ALLOW_LIST=http://app.test/**",
	})
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	applyFixtures(ctx, t, dir, status["db_url"].(string))
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec")
	cmd.Dir = dir
	cmd.Env = cleanEnv(
		"GOFORWARD_URL="+srv.url(),
		"GOFORWARD_ANON_KEY="+status["anon_key"].(string),
		"GOFORWARD_SERVICE_ROLE_KEY="+status["service_role_key"].(string),
		"GOFORWARD_DB_URL="+status["db_url"].(string),
		"GOFORWARD_IDP_URL="+idp.URL,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the supabase-js suite failed")
}

// applyFixtures runs node/*.sql (in name order) as the database owner: the tables, policies
// and functions the Node tests use, which an application would create with migrations.
func applyFixtures(ctx context.Context, t *testing.T, dir, dbURL string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	require.NoError(t, err)
	if len(files) == 0 {
		return
	}
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, f := range files {
		sql, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, string(sql))
		require.NoError(t, err, "fixture %s", filepath.Base(f))
	}
}
