package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
)

// cli runs a goforward command on dataDir with stdin, and returns stdout, stderr and the exit
// code.
func cli(t *testing.T, dataDir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, "--data-dir", dataDir)...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(t, ok, "run %v: %v", args, err)
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// cliOK runs a command that must succeed and returns its output.
func cliOK(t *testing.T, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, dataDir, stdin, args...)
	require.Equal(t, 0, code, "goforward %v failed:\nstdout: %s\nstderr: %s", args, out, errOut)
	return out
}

// cliJSON runs a command with --json and decodes its answer.
func cliJSON(t *testing.T, dataDir, stdin string, args ...string) map[string]any {
	t.Helper()
	out := cliOK(t, dataDir, stdin, append(args, "--json")...)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

// cliFails runs a command that must fail with exit code 1 and returns its error output.
func cliFails(t *testing.T, dataDir, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, dataDir, stdin, args...)
	require.Equal(t, 1, code, "goforward %v should fail:\nstdout: %s\nstderr: %s", args, out, errOut)
	return errOut
}

// httpCall makes a request to a running server and decodes a JSON object answer.
func httpCall(t *testing.T, method, url string, header map[string]string, body any) (int, map[string]any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, reader)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return res.StatusCode, out
}

// signIn tries a password sign-in on /auth/v1/token and returns the status and error code.
func signIn(t *testing.T, srv *server, anonKey, email, password string) (int, map[string]any) {
	t.Helper()
	return httpCall(t, "POST", srv.url()+"/auth/v1/token?grant_type=password", map[string]string{"apikey": anonKey},
		map[string]any{"email": email, "password": password})
}

// TestAdminCLIWithoutServer: on a data directory no server runs on, the admin and user
// commands start the cluster themselves; what they did is there when the server starts.
func TestAdminCLIWithoutServer(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)

	out := cliOK(t, dataDir, "", "admin", "list")
	require.Contains(t, out, "goforward admin create --email EMAIL --level system_admin")

	errOut := cliFails(t, dataDir, "short\n", "admin", "create", "--email", "root@example.com", "--level", "system_admin", "--password-stdin")
	require.Contains(t, errOut, "Password should be at least")
	errOut = cliFails(t, dataDir, "", "admin", "create", "--email", "root@example.com", "--level", "system_admin")
	require.Contains(t, errOut, "--password-stdin", "without a terminal the command says how to pass a password")
	errOut = cliFails(t, dataDir, "", "admin", "create", "--email", "root@example.com", "--level", "root")
	require.Contains(t, errOut, "system_admin, super_admin, regular_admin, moderator")

	granted := cliJSON(t, dataDir, "Root-password-1\n", "admin", "create", "--email", "Root@Example.com", "--level", "system_admin", "--password-stdin")
	require.Equal(t, true, granted["user_created"])
	require.Equal(t, "root@example.com", granted["email"])
	require.Equal(t, "system_admin", granted["level"])
	require.Equal(t, "cli", granted["granted_via"])
	rootID := granted["user_id"].(string)

	out = cliOK(t, dataDir, "Ops-password-1", "admin", "create", "--email", "ops@example.com", "--level", "regular_admin", "--groups", "staff", "--password-stdin")
	require.Contains(t, out, "ops@example.com is now a regular_admin")
	errOut = cliFails(t, dataDir, "", "admin", "create", "--email", "ops@example.com", "--level", "moderator")
	require.Contains(t, errOut, "already a regular_admin")
	errOut = cliFails(t, dataDir, "", "admin", "revoke", "root@example.com")
	require.Contains(t, errOut, "last active system admin")
	errOut = cliFails(t, dataDir, "", "user", "delete", rootID)
	require.Contains(t, errOut, "last active system admin")

	cliOK(t, dataDir, "User-password-1", "user", "create", "--email", "bob@example.com", "--groups", "staff", "--password-stdin")
	cliOK(t, dataDir, "", "user", "ban", "bob@example.com", "--duration", "24h")
	users := cliJSON(t, dataDir, "", "user", "list", "--filter", "bob")
	require.EqualValues(t, 1, users["total"])
	require.NotEmpty(t, users["users"].([]any)[0].(map[string]any)["banned_until"])

	admins := cliJSON(t, dataDir, "", "admin", "list")
	require.Len(t, admins["admins"], 2)
	require.Equal(t, "system_admin", admins["admins"].([]any)[0].(map[string]any)["level"], "highest level first")

	// The server finds all of it.
	srv := startServer(t, dataDir, nil)
	srv.waitReady(60 * time.Second)
	st := statusJSON(t, dataDir)
	anon, service := st["anon_key"].(string), st["service_role_key"].(string)
	status, body := signIn(t, srv, anon, "root@example.com", "Root-password-1")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = signIn(t, srv, anon, "bob@example.com", "User-password-1")
	require.Equal(t, http.StatusBadRequest, status, "body: %v", body)
	require.Equal(t, "user_banned", body["error_code"])
	status, body = httpCall(t, "GET", srv.url()+"/admin/v1/admins/"+rootID, map[string]string{"Authorization": "Bearer " + service}, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "system_admin", body["level"])

	// Every change is on record as the command line's.
	conn, err := pgx.Connect(context.Background(), st["db_url"].(string))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT action || ':' || outcome FROM goforward.audit_log
WHERE actor_type = 'cli' AND user_agent LIKE 'goforward-cli/%' AND action NOT LIKE 'auth.%' ORDER BY id`)
	require.NoError(t, err)
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"user.create:success", "admin.grant:success", "user.create:success", "admin.grant:success",
		"admin.revoke:denied", "user.delete:denied", "user.create:success", "user.ban:success",
	}, actions)
	// Auth's own events for the same changes name the command line too, not the service role.
	rows, err = conn.Query(context.Background(), `SELECT action || ':' || actor_type FROM goforward.audit_log
WHERE action LIKE 'auth.admin_user_%' ORDER BY id`)
	require.NoError(t, err)
	authEvents, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"auth.admin_user_created:cli", "auth.admin_user_created:cli", "auth.admin_user_created:cli", "auth.admin_user_banned:cli",
	}, authEvents)
}

// TestAdminCLIWhileServing: with the server running, the commands use its cluster, and what
// they change takes effect on the server at once: bans, lockouts, passwords, admin sessions.
// The users API answers the same over HTTP, with auth's real code behind it.
func TestAdminCLIWhileServing(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, []string{"GOFORWARD_AUTH_LOCKOUT_ATTEMPTS=2"})
	srv.waitReady(60 * time.Second)
	st := statusJSON(t, dataDir)
	anon, service := st["anon_key"].(string), st["service_role_key"].(string)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st["db_url"].(string))
	require.NoError(t, err)
	defer conn.Close(ctx)
	sessions := access.NewSessions(access.SessionConfig{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, nil)
	// openSession signs an admin in as the sign-in route will.
	openSession := func(userID string, level access.Level, groups ...string) string {
		opened, err := sessions.Create(ctx, conn, access.NewSession{UserID: userID, Kind: access.KindAdmin, Level: level,
			Capabilities: access.For(level, nil, groups), MFAVerified: true})
		require.NoError(t, err)
		return opened.Token
	}
	me := func(token string) int {
		status, _ := httpCall(t, "GET", srv.url()+"/admin/v1/me", map[string]string{"Authorization": "Bearer " + token}, nil)
		return status
	}

	cliOK(t, dataDir, "Root-password-1", "admin", "create", "--email", "root@example.com", "--level", "system_admin", "--password-stdin")
	ops := cliJSON(t, dataDir, "Ops-password-1", "admin", "create", "--email", "ops@example.com", "--level", "super_admin", "--password-stdin")
	opsID := ops["user_id"].(string)
	opsSession := openSession(opsID, access.SuperAdmin)
	require.Equal(t, http.StatusOK, me(opsSession))

	// set-level ends the admin's sessions on the running server at once.
	out := cliOK(t, dataDir, "", "admin", "set-level", "ops@example.com", "--level", "regular_admin", "--groups", "staff")
	require.Contains(t, out, "ops@example.com is a regular_admin")
	require.Equal(t, http.StatusUnauthorized, me(opsSession))
	opsSession = openSession(opsID, access.RegularAdmin, "staff")

	// The users API with the service role, on auth's own code.
	adminAPI := func(token, method, path string, body any) (int, map[string]any) {
		return httpCall(t, method, srv.url()+"/admin/v1"+path, map[string]string{"Authorization": "Bearer " + token}, body)
	}
	status, body := adminAPI(service, "POST", "/users", map[string]any{"email": "carol@example.com", "password": "Carol-password-1",
		"email_confirm": true, "app_metadata": map[string]any{"groups": []string{"staff"}}})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	carol := body["id"].(string)
	status, body = adminAPI(service, "POST", "/users", map[string]any{"email": "dave@example.com", "password": "x"})
	require.Equal(t, http.StatusUnprocessableEntity, status, "body: %v", body)
	require.Equal(t, "weak_password", body["error_code"])
	status, body = adminAPI(service, "POST", "/users", map[string]any{"email": "dave@example.com", "password": "Dave-password-1", "email_confirm": true})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	dave := body["id"].(string)
	status, body = signIn(t, srv, anon, "carol@example.com", "Carol-password-1")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	carolRefresh := body["refresh_token"].(string)

	// A regular admin reaches carol (staff) and not dave.
	status, body = adminAPI(opsSession, "GET", "/users", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.EqualValues(t, 1, body["total"])
	status, body = adminAPI(opsSession, "POST", "/users/"+dave+"/ban", map[string]any{"duration": "1h"})
	require.Equal(t, http.StatusForbidden, status, "body: %v", body)
	require.Equal(t, "user_outside_groups", body["error_code"])
	status, body = adminAPI(opsSession, "POST", "/users/"+carol+"/ban", map[string]any{"duration": "1h"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = signIn(t, srv, anon, "carol@example.com", "Carol-password-1")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "user_banned", body["error_code"])
	status, _ = adminAPI(opsSession, "POST", "/users/"+carol+"/unban", nil)
	require.Equal(t, http.StatusOK, status)

	// Sign out everywhere ends the refresh token.
	status, body = adminAPI(opsSession, "POST", "/users/"+carol+"/logout", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.EqualValues(t, 1, body["sessions_ended"])
	status, _ = httpCall(t, "POST", srv.url()+"/auth/v1/token?grant_type=refresh_token", map[string]string{"apikey": anon},
		map[string]any{"refresh_token": carolRefresh})
	require.Equal(t, http.StatusBadRequest, status)

	// The CLI, against the running server: ban, unban, lockout, password.
	cliOK(t, dataDir, "", "user", "ban", "dave@example.com")
	status, body = signIn(t, srv, anon, "dave@example.com", "Dave-password-1")
	require.Equal(t, "user_banned", body["error_code"], "status %d", status)
	cliOK(t, dataDir, "", "user", "unban", dave)
	for range 2 {
		signIn(t, srv, anon, "dave@example.com", "wrong")
	}
	status, body = signIn(t, srv, anon, "dave@example.com", "Dave-password-1")
	require.Equal(t, http.StatusTooManyRequests, status, "body: %v", body)
	unlocked := cliJSON(t, dataDir, "", "user", "unlock", "dave@example.com")
	require.EqualValues(t, 2, unlocked["records_cleared"])
	status, _ = signIn(t, srv, anon, "dave@example.com", "Dave-password-1")
	require.Equal(t, http.StatusOK, status)

	errOut := cliFails(t, dataDir, "short", "user", "reset-password", "dave@example.com", "--password-stdin")
	require.Contains(t, errOut, "Password should be at least")
	cliOK(t, dataDir, "Dave-new-password-1\n", "user", "reset-password", "dave@example.com", "--password-stdin")
	status, _ = signIn(t, srv, anon, "dave@example.com", "Dave-password-1")
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = signIn(t, srv, anon, "dave@example.com", "Dave-new-password-1")
	require.Equal(t, http.StatusOK, status)

	// Revoking ends the admin's session; deleting a user removes it.
	cliOK(t, dataDir, "", "admin", "revoke", "ops@example.com")
	require.Equal(t, http.StatusUnauthorized, me(opsSession))
	out = cliOK(t, dataDir, "", "admin", "list", "--all")
	require.Regexp(t, `ops@example.com\s+regular_admin\s+-\s+staff\s+.*revoked`, out)
	cliOK(t, dataDir, "", "user", "delete", "dave@example.com")
	status, _ = signIn(t, srv, anon, "dave@example.com", "Dave-new-password-1")
	require.Equal(t, http.StatusBadRequest, status)
	errOut = cliFails(t, dataDir, "", "user", "unlock", "dave@example.com")
	require.Contains(t, errOut, "No user has the address dave@example.com")
}
