package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestServeFreshDataDir follows the README as a new user: serve on a fresh data directory,
// read the keys with status, use them, stop, start again and get the same keys back.
func TestServeFreshDataDir(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)

	start := time.Now()
	srv := startServer(t, dataDir, nil)
	srv.waitReady(60 * time.Second)
	first := statusJSON(t, dataDir)
	t.Logf("fresh data dir to `status --json` answering: %s", time.Since(start).Round(time.Millisecond))

	for _, field := range []string{"api_url", "db_url", "anon_key", "service_role_key", "jwt_secret"} {
		require.NotEmpty(t, first[field], "status --json lacks %s", field)
	}
	require.Equal(t, srv.url(), first["api_url"])
	require.Contains(t, srv.stdout.String(), first["anon_key"], "the banner prints the anon key")
	require.Contains(t, srv.stdout.String(), first["service_role_key"], "the banner prints the service-role key")
	require.NotContains(t, srv.stderr.String(), first["jwt_secret"], "logs never carry the secret")
	require.NotContains(t, srv.stderr.String(), first["service_role_key"], "logs never carry keys")

	// The human-readable status shows the same URL and key, one labelled row each.
	text, textErr, textCode := run(t, nil, "status", "--data-dir", dataDir)
	require.Equal(t, 0, textCode, "status failed: %s", textErr)
	require.Regexp(t, `(?m)^\s*API URL:\s+`+regexp.QuoteMeta(first["api_url"].(string))+`$`, text)
	require.Regexp(t, `(?m)^\s*anon key:\s+`+regexp.QuoteMeta(first["anon_key"].(string))+`$`, text)

	secret := []byte(first["jwt_secret"].(string))
	require.Equal(t, "anon", roleOf(t, first["anon_key"].(string), secret))
	require.Equal(t, "service_role", roleOf(t, first["service_role_key"].(string), secret))

	// The cluster is real, logical replication ready, and carries the internal schema.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, first["db_url"].(string))
	require.NoError(t, err)
	var walLevel string
	require.NoError(t, conn.QueryRow(ctx, "SHOW wal_level").Scan(&walLevel))
	require.Equal(t, "logical", walLevel)
	var roles int
	require.NoError(t, conn.QueryRow(ctx,
		`SELECT count(*) FROM pg_roles WHERE rolname IN ('anon','authenticated','service_role','authenticator')`).Scan(&roles))
	require.Equal(t, 4, roles)
	conn.Close(ctx)

	// The gateway answers.
	require.Equal(t, http.StatusOK, get(t, srv.url()+"/health", nil))
	require.Equal(t, http.StatusUnauthorized, get(t, srv.url()+"/rest/v1/anything", nil), "the REST service wants an apikey")

	// SIGTERM drains HTTP and stops PostgreSQL cleanly.
	require.Equal(t, 0, srv.stop(), "stderr:\n%s", srv.stderr)
	_, err = os.Stat(filepath.Join(dataDir, "postgres", "data", "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "PostgreSQL left its pid file behind")
	_, errOut, code := run(t, nil, "status", "--data-dir", dataDir, "--json")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "not running on "+dataDir)

	// A second start reuses the cluster, the secret and the keys.
	again := startServer(t, dataDir, nil)
	again.waitReady(60 * time.Second)
	second := statusJSON(t, dataDir)
	for _, field := range []string{"db_url", "anon_key", "service_role_key", "jwt_secret"} {
		require.Equal(t, first[field], second[field], "%s changed across restarts", field)
	}
	require.NotContains(t, again.stderr.String(), "initdb", "the second start must not initialise a new cluster")

	// Ctrl-C (SIGINT) stops it as cleanly as SIGTERM.
	again.signal(syscall.SIGINT)
	select {
	case <-again.done:
	case <-time.After(60 * time.Second):
		t.Fatal("goforward did not stop within 60s of SIGINT")
	}
	require.Equal(t, 0, again.cmd.ProcessState.ExitCode(), "stderr:\n%s", again.stderr)
	_, err = os.Stat(filepath.Join(dataDir, "postgres", "data", "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "PostgreSQL left its pid file behind")
}

// TestServeAfterKill9 shows that a crash of the Go process neither leaves PostgreSQL running
// nor leaves state that blocks the next start.
func TestServeAfterKill9(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, nil)
	srv.waitReady(60 * time.Second)
	dbURL := statusJSON(t, dataDir)["db_url"].(string)

	srv.signal(syscall.SIGKILL)
	<-srv.done

	// PostgreSQL follows its parent down (parent-death signal → fast shutdown).
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dbURL)
		if err == nil {
			conn.Close(ctx)
			return false
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "PostgreSQL still accepts connections after its parent was killed")

	_, errOut, code := run(t, nil, "status", "--data-dir", dataDir)
	require.NotEqual(t, 0, code, "status must notice the stale runtime record")
	require.Contains(t, errOut, "not running")

	again := startServer(t, dataDir, nil)
	again.waitReady(60 * time.Second)
	require.Equal(t, dbURL, statusJSON(t, dataDir)["db_url"])
}

func TestStatusWithoutServer(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	out, errOut, code := run(t, nil, "status", "--data-dir", dataDir, "--json")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "goforward is not running on "+dataDir)
}

func roleOf(t *testing.T, token string, secret []byte) string {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}))
	require.NoError(t, err)
	role, _ := claims["role"].(string)
	return role
}

func get(t *testing.T, url string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestBannerOutsideDevelopment: outside development the start banner, which process managers
// and container logs keep, shows neither the service-role key nor the superuser's database
// password; it points to `goforward status`, which reads them from the data directory.
func TestBannerOutsideDevelopment(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, []string{
		"GOFORWARD_ENV=production",
		"JWT_SECRET=e2e-production-secret-0123456789abcdef",
		"GOFORWARD_SERVER_PUBLIC_URL=https://api.example.com",
	}, "--services", "rest")
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)
	serviceKey := status["service_role_key"].(string)
	dbURL, err := url.Parse(status["db_url"].(string))
	require.NoError(t, err)
	password, ok := dbURL.User.Password()
	require.True(t, ok, "the managed cluster's URL carries the superuser's password")

	banner := srv.stdout.String()
	require.Contains(t, banner, "Go Forward is running (environment production)")
	require.Contains(t, banner, status["anon_key"], "the anon key is public: apps ship it")
	require.NotContains(t, banner, serviceKey)
	require.NotContains(t, banner, password)
	require.Contains(t, banner, `goforward status --data-dir `+dataDir)
	require.NotContains(t, srv.stderr.String(), serviceKey)
	require.NotContains(t, srv.stderr.String(), password)
}
