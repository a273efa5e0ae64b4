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

// TestFrameworkFunctionsWithSupabaseJS builds examples/basic, a program in its own module
// that embeds Go Forward through the root package, and drives what it adds with supabase-js:
// its function endpoint through functions.invoke, unchanged, its custom auth provider, its
// own page, its OnServe hook, its custom access token hook (the claim after sign-in), its
// change hook (the row it writes after an insert) and its cron job (its runs at the admin API).
func TestFrameworkFunctionsWithSupabaseJS(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("node")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@supabase", "supabase-js"))
	require.NoError(t, err, "run `npm ci --prefix tests/e2e/node` (scripts/deps.sh test does)")

	// Built from inside its own module, as its authors would: go.mod's replace points here.
	program := filepath.Join(t.TempDir(), "basic")
	build := exec.Command("go", "build", "-o", program, ".")
	build.Dir = filepath.Join("..", "..", "examples", "basic")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build examples/basic: %s", out)

	dataDir := tempDataDir(t)
	srv := startProgram(t, program, dataDir, []string{"BADGE_1001_PIN=4321"})
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "framework/functions.mjs")
	cmd.Dir = dir
	cmd.Env = cleanEnv(
		"GOFORWARD_URL="+srv.url(),
		"GOFORWARD_ANON_KEY="+status["anon_key"].(string),
		"GOFORWARD_SERVICE_ROLE_KEY="+status["service_role_key"].(string),
		"GOFORWARD_DB_URL="+status["db_url"].(string),
	)
	out, err = cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the supabase-js functions suite failed")
}
