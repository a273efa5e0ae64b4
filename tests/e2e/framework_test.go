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

// TestFrameworkFunctionsWithSupabaseJS builds a program that embeds Go Forward through the
// root package and registers a function endpoint in Go (frameworkapp), and drives it with
// supabase-js's functions.invoke, unchanged.
func TestFrameworkFunctionsWithSupabaseJS(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("node")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@supabase", "supabase-js"))
	require.NoError(t, err, "run `npm ci --prefix tests/e2e/node` (scripts/deps.sh test does)")

	program := filepath.Join(t.TempDir(), "frameworkapp")
	build := exec.Command("go", "build", "-o", program, "github.com/goforward/goforward/tests/e2e/frameworkapp")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build frameworkapp: %s", out)

	dataDir := tempDataDir(t)
	srv := startProgram(t, program, dataDir, nil)
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
