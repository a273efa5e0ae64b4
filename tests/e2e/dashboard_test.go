package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDashboardInBrowser runs the browser tests in tests/e2e/dashboard: playwright-core drives
// Debian's chromium through the embedded dashboard of a goforward started on a fresh data
// directory (development), plus one in staging for the page that names the CLI command.
// scripts/deps.sh test installs chromium and the packages; without them this test fails
// rather than skips. Screenshots of every page in both themes are written to
// $GOFORWARD_ARTIFACTS (default: a directory the test names in its log), not committed.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("dashboard")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "node_modules", "playwright-core"))
	require.NoError(t, err, "run `npm ci --prefix tests/e2e/dashboard` (scripts/deps.sh test does)")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	require.NoError(t, err, "Debian's chromium (scripts/deps.sh test installs it)")
	artifacts := os.Getenv("GOFORWARD_ARTIFACTS")
	if artifacts == "" {
		artifacts, err = os.MkdirTemp("", "goforward-dashboard-screenshots-")
		require.NoError(t, err)
	}
	t.Logf("screenshots: %s", artifacts)

	dataDir := tempDataDir(t)
	// The tests sign in many times from 127.0.0.1; the limits are auth's and tested there.
	srv := startServer(t, dataDir, []string{
		// The migrations page writes files: into a directory of this test, not the package's.
		"GOFORWARD_MIGRATIONS_DIR=" + t.TempDir(),
		"GOFORWARD_AUTH_RATE_LIMIT_TOKEN=0",
		"GOFORWARD_AUTH_RATE_LIMIT_VERIFY=0",
		"GOFORWARD_AUTH_RATE_LIMIT_MFA=0",
	})
	staging := startServer(t, tempDataDir(t), []string{
		"GOFORWARD_ENV=staging",
		"JWT_SECRET=e2e-staging-secret-0123456789abcdef0123",
	}, "--services", "auth,admin,dashboard")
	srv.waitReady(90 * time.Second)
	staging.waitReady(90 * time.Second)
	status := statusJSON(t, dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec")
	cmd.Dir = dir
	cmd.Env = cleanEnv(
		"GOFORWARD_URL="+srv.url(),
		"GOFORWARD_STAGING_URL="+staging.url(),
		"GOFORWARD_ANON_KEY="+status["anon_key"].(string),
		"GOFORWARD_DB_URL="+status["db_url"].(string),
		"GOFORWARD_ARTIFACTS="+artifacts,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the dashboard's browser tests failed")
}
