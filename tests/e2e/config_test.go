package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
)

// TestExternalDatabaseURL: with DATABASE_URL the server starts no cluster of its own and
// applies the internal schema to the given database.
func TestExternalDatabaseURL(t *testing.T) {
	t.Parallel()
	database := pgtest.NewEmptyDatabase(t)
	dataDir := tempDataDir(t)

	srv := startServer(t, dataDir, []string{"DATABASE_URL=" + database.URL})
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)
	require.Equal(t, database.URL, status["db_url"])
	require.Equal(t, false, status["managed_cluster"])
	// Without database.authenticator_password requests run on the owner's connection: in
	// development that starts, with a warning in the log and under the banner.
	require.Contains(t, srv.stdout.String(), "WARNING: database.authenticator_password is not set, so requests run on the owner's connection")
	require.Contains(t, srv.stderr.String(), `"level":"WARN","msg":"database.authenticator_password is not set`)
	_, err := os.Stat(filepath.Join(dataDir, "postgres"))
	require.ErrorIs(t, err, os.ErrNotExist, "no managed cluster may be created when DATABASE_URL is set")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, database.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var applied int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM goforward.schema_migrations").Scan(&applied))
	require.Positive(t, applied)

	// /metrics carries request and pool statistics.
	metrics := body(t, srv.url()+"/metrics")
	require.Contains(t, metrics, `goforward_db_pool_total_conns{pool="admin"}`)
	require.Contains(t, metrics, `goforward_db_pool_total_conns{pool="request"}`)
	require.Contains(t, metrics, `goforward_http_requests_total{code="200",method="GET",route="GET /ready",service="gateway"}`)

	// /ready follows the database: a schema behind the binary makes the node unready.
	var version, name, checksum string
	require.NoError(t, conn.QueryRow(ctx, `DELETE FROM goforward.schema_migrations
		WHERE version = (SELECT max(version) FROM goforward.schema_migrations) RETURNING version, name, checksum`).
		Scan(&version, &name, &checksum))
	require.Equal(t, http.StatusServiceUnavailable, get(t, srv.url()+"/ready", nil))
	require.Contains(t, body(t, srv.url()+"/ready"), "not applied")
	_, err = conn.Exec(ctx, `INSERT INTO goforward.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, version, name, checksum)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/ready", nil))

	require.Equal(t, 0, srv.stop())
}

func TestInvalidConfigurationNamesTheField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		env   []string
		args  []string
		field string
	}{
		{"port from env is not a number", []string{"GOFORWARD_SERVER_PORT=abc"}, nil, "server.port"},
		{"port flag out of range", nil, []string{"--port", "70000"}, "server.port"},
		{"unknown service", []string{"GOFORWARD_SERVICES=auth,nosuch"}, nil, "services"},
		{"unknown service named by a flag", nil, []string{"--services", "rest,graphql"}, `services: unknown service; known services are auth, rest, realtime, storage, admin, meta, functions, dashboard (got "graphql" from flags)`},
		{"short jwt secret", []string{"JWT_SECRET=short"}, nil, "jwt.secret"},
		{"bad environment", []string{"GOFORWARD_ENV=prod"}, nil, "environment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := tempDataDir(t)
			args := append([]string{"serve", "--data-dir", dataDir}, tc.args...)
			_, errOut, code := run(t, tc.env, args...)
			require.Equal(t, 2, code, errOut)
			require.Contains(t, errOut, tc.field)
			_, err := os.Stat(dataDir)
			require.ErrorIs(t, err, os.ErrNotExist, "an invalid configuration must fail before touching the data directory")
		})
	}
}

func TestConfigCommandRedactsSecrets(t *testing.T) {
	t.Parallel()
	secret := "a-very-long-secret-that-must-never-be-printed-0123456789"
	out, errOut, code := run(t, []string{
		"JWT_SECRET=" + secret,
		"DATABASE_URL=postgres://owner:dbpassword123@db.internal:5432/app",
		"GOFORWARD_SERVER_PORT=9191",
	}, "config")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out, secret)
	require.NotContains(t, out, "dbpassword123")
	require.Contains(t, out, "9191", "env overrides show in the effective configuration")
	require.Contains(t, out, "db.internal")
}

func TestProductionRefusesWeakDefaults(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	_, errOut, code := run(t, []string{"GOFORWARD_ENV=production"}, "serve", "--data-dir", dataDir)
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "refusing to start in production")
	require.Contains(t, errOut, "jwt.secret")
}

func TestMissingPostgresBinaries(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	empty := t.TempDir()
	_, errOut, code := run(t, []string{"GOFORWARD_DATABASE_BIN_DIR=" + empty}, "serve", "--data-dir", dataDir)
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "apt-get install postgresql")
	require.Contains(t, errOut, "DATABASE_URL")
}

// productionEnv satisfies every production requirement for a node running only rest (so no
// SMTP server is needed) on an external database.
func productionEnv(databaseURL string) []string {
	return []string{
		"GOFORWARD_ENV=production",
		"JWT_SECRET=e2e-production-secret-0123456789abcdef",
		"GOFORWARD_SERVER_PUBLIC_URL=https://api.example.com",
		"GOFORWARD_SERVICES=rest",
		"DATABASE_URL=" + databaseURL,
	}
}

// TestProductionRefusesOwnerRequestPool: with an external database and no authenticator
// password requests would run on the owner's (often a superuser's) connection; production
// refuses to start, and env check names the setting.
func TestProductionRefusesOwnerRequestPool(t *testing.T) {
	t.Parallel()
	env := productionEnv("postgres://postgres:owner-password@db.internal:5432/app")
	dataDir := tempDataDir(t)
	_, errOut, code := run(t, env, "serve", "--data-dir", dataDir)
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "refusing to start in production")
	require.Contains(t, errOut, "database.authenticator_password is not set while database.url names an external database")
	require.NotContains(t, errOut, "owner-password")

	out, errOut, code := run(t, env, "env", "check")
	require.Equal(t, 2, code, errOut)
	require.Contains(t, out, "database.authenticator_password is not set")

	out, errOut, code = run(t, append(env, "GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD=Yq3v8kPz1sXw4nB7"), "env", "check")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "nothing production would refuse")
}

// TestConfigCheck: `config check`, which the README documents, is `env check`.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	for _, env := range [][]string{nil, {"GOFORWARD_ENV=production"}, productionEnv("postgres://u:p@db:5432/app")} {
		configOut, configErr, configCode := run(t, env, "config", "check")
		envOut, envErr, envCode := run(t, env, "env", "check")
		require.Equal(t, envCode, configCode, "%v: %s", env, configErr)
		require.Equal(t, envOut, configOut, "%v", env)
		require.Equal(t, envErr, configErr, "%v", env)
		require.Contains(t, configOut, "configuration is valid")
	}
	_, errOut, code := run(t, []string{"GOFORWARD_ENV=production"}, "config", "check")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "production requirement(s) not met")
}
