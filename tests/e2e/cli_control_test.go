package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// controlCLI runs goforward commands on one data directory.
type controlCLI struct {
	t       *testing.T
	dataDir string
}

func (c controlCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	return run(c.t, nil, append(args, "--data-dir", c.dataDir)...)
}

// ok runs a command that must succeed and decodes its --json output into out.
func (c controlCLI) ok(out any, args ...string) {
	c.t.Helper()
	stdout, stderr, code := c.run(append(args, "--json")...)
	require.Equal(c.t, 0, code, "goforward %v failed:\n%s", args, stderr)
	require.NoError(c.t, json.Unmarshal([]byte(stdout), out), stdout)
}

type grant struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	Kind      string    `json:"kind"`
	Level     string    `json:"level"`
	Reason    string    `json:"reason"`
	ExpiresAt time.Time `json:"expires_at"`
	AlertID   int64     `json:"alert_id"`
}

// adminMe calls GET /admin/v1/me with an admin session token.
func adminMe(t *testing.T, baseURL, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, baseURL+"/admin/v1/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func ownerConn(t *testing.T, dataDir string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), statusJSON(t, dataDir)["db_url"].(string))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestEmergencyAccess issues emergency access with and without a server on the data
// directory, uses it against the running server's /admin/v1/me, and sees it stop working
// once revoked or expired; the log and the alerts show every step.
func TestEmergencyAccess(t *testing.T) {
	t.Parallel()
	cli := controlCLI{t, tempDataDir(t)}

	_, stderr, code := cli.run("emergency-access", "--reason", "locked out", "--duration", "5h")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "emergency access lasts at most 4h")
	_, stderr, code = cli.run("emergency-access", "--duration", "30m")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--reason is required")

	// No server: the command runs the cluster itself, and releases it for serve after.
	var offline grant
	cli.ok(&offline, "emergency-access", "--reason", "every system admin is locked out", "--duration", "30m")
	require.True(t, strings.HasPrefix(offline.Token, "gfa_"), offline.Token)
	require.Equal(t, "emergency", offline.Kind)
	require.Equal(t, "system_admin", offline.Level)
	require.WithinDuration(t, time.Now().Add(30*time.Minute), offline.ExpiresAt, time.Minute)
	var listed []grant
	cli.ok(&listed, "emergency-access", "list")
	require.Len(t, listed, 1)
	require.Equal(t, offline.ID, listed[0].ID)
	require.Equal(t, "every system admin is locked out", listed[0].Reason)
	require.Empty(t, listed[0].Token, "a listing never shows a token")

	srv := startServer(t, cli.dataDir, nil)
	srv.waitReady(60 * time.Second)
	status, me := adminMe(t, srv.url(), offline.Token)
	require.Equal(t, http.StatusOK, status, me)
	require.Equal(t, "emergency", me["kind"])
	require.Equal(t, "system_admin", me["level"])
	require.Equal(t, true, me["capabilities"].(map[string]any)["can_access_sql"])
	require.Equal(t, offline.ID, me["session"].(map[string]any)["id"])
	require.Equal(t, "every system admin is locked out", me["session"].(map[string]any)["reason"])

	// With the server running: the command uses the server's cluster.
	var online grant
	cli.ok(&online, "emergency-access", "--reason", "restore a dropped admin", "--duration", "1h")
	status, _ = adminMe(t, srv.url(), online.Token)
	require.Equal(t, http.StatusOK, status)

	out, stderr, code := cli.run("emergency-access", "revoke", offline.ID)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "Revoked emergency session "+offline.ID)
	status, me = adminMe(t, srv.url(), offline.Token)
	require.Equal(t, http.StatusUnauthorized, status, "revoked at once")
	require.Equal(t, "session_expired", me["error_code"])
	status, _ = adminMe(t, srv.url(), online.Token)
	require.Equal(t, http.StatusOK, status, "the other session is untouched")

	out, _, code = cli.run("emergency-access", "revoke", offline.ID)
	require.Equal(t, 0, code, "revoking an ended session leaves it ended")
	require.Contains(t, out, "had already ended")
	_, stderr, code = cli.run("emergency-access", "revoke", uuid.NewString())
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "goforward emergency-access list shows the live ones")
	_, stderr, code = cli.run("emergency-access", "revoke", "not-an-id")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "is not a session id")

	// Expiry ends a session just as revocation does.
	conn := ownerConn(t, cli.dataDir)
	_, err := conn.Exec(t.Context(), "UPDATE goforward.admin_sessions SET expires_at = now() - interval '1 second' WHERE id = $1", online.ID)
	require.NoError(t, err)
	status, _ = adminMe(t, srv.url(), online.Token)
	require.Equal(t, http.StatusUnauthorized, status, "expired")

	// Each grant wrote a critical audit entry and an alert tied to it; the revocation is
	// logged too, all by the operator at the command line.
	rows, err := conn.Query(t.Context(), `SELECT action, severity, actor_type, resource_id, coalesce(details->>'reason', '')
FROM goforward.audit_log WHERE action LIKE 'admin.emergency_access.%' ORDER BY id`)
	require.NoError(t, err)
	type logged struct{ Action, Severity, Actor, Session, Reason string }
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByPos[logged])
	require.NoError(t, err)
	require.Equal(t, []logged{
		{"admin.emergency_access.create", "critical", "cli", offline.ID, "every system admin is locked out"},
		{"admin.emergency_access.create", "critical", "cli", online.ID, "restore a dropped admin"},
		{"admin.emergency_access.revoke", "warning", "cli", offline.ID, ""},
	}, entries)
	rows, err = conn.Query(t.Context(), `SELECT a.id, a.severity, a.rule, l.resource_id
FROM goforward.security_alerts a JOIN goforward.audit_log l ON l.id = a.audit_entry_id ORDER BY a.id`)
	require.NoError(t, err)
	type alert struct {
		ID                   int64
		Severity, Kind, Sess string
	}
	alerts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[alert])
	require.NoError(t, err)
	require.Equal(t, []alert{
		{offline.AlertID, "critical", "emergency_access", offline.ID},
		{online.AlertID, "critical", "emergency_access", online.ID},
	}, alerts)

	// Without the server again: nothing is live any more.
	require.Equal(t, 0, srv.stop())
	cli.ok(&listed, "emergency-access", "list")
	require.Empty(t, listed)
	out, stderr, code = cli.run("emergency-access", "list")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "No live emergency sessions.\n", out)
}

// adminWithSession creates a user through GoTrue's admin API, makes it an admin and opens a
// session for it directly in the database (signing in is the admin service's business,
// tested there), returning the user's id and the session's token.
func adminWithSession(t *testing.T, srv *server, conn *pgx.Conn, email string) (string, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"email": email, "password": "correct horse battery staple", "email_confirm": true})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, srv.url()+"/auth/v1/admin/users", bytes.NewReader(body))
	require.NoError(t, err)
	key := statusJSON(t, srv.dataDir)["service_role_key"].(string)
	req.Header.Set("apikey", key)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var user struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&user))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	secret := make([]byte, 32)
	_, err = rand.Read(secret)
	require.NoError(t, err)
	token := "gfa_" + base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256([]byte(token))
	_, err = conn.Exec(t.Context(), `INSERT INTO goforward.admins (user_id, level, granted_via, granted_at, updated_at)
VALUES ($1, 'super_admin', 'cli', now(), now())`, user.ID)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `INSERT INTO goforward.admin_sessions
  (id, token_hash, user_id, kind, level, capabilities, created_at, last_active_at, expires_at)
VALUES ($1, $2, $3, 'password', 'super_admin', '{"can_create_admins": true}', now(), now(), now() + interval '1 hour')`,
		uuid.NewString(), hash[:], user.ID)
	require.NoError(t, err)
	return user.ID, token
}

// TestSessionsRevoke ends one admin's sessions while the server runs, and every admin session
// (emergency access included) while it does not; the server refuses them from then on.
func TestSessionsRevoke(t *testing.T) {
	t.Parallel()
	cli := controlCLI{t, tempDataDir(t)}
	srv := startServer(t, cli.dataDir, nil)
	srv.waitReady(60 * time.Second)
	conn := ownerConn(t, cli.dataDir)
	aliceID, alice := adminWithSession(t, srv, conn, "alice@example.com")
	_, bob := adminWithSession(t, srv, conn, "bob@example.com")
	var emergency grant
	cli.ok(&emergency, "emergency-access", "--reason", "cover for alice")
	for _, token := range []string{alice, bob, emergency.Token} {
		status, me := adminMe(t, srv.url(), token)
		require.Equal(t, http.StatusOK, status, me)
	}

	var sessions []map[string]any
	cli.ok(&sessions, "sessions", "list", "--user", "ALICE@example.com")
	require.Len(t, sessions, 1)
	require.Equal(t, aliceID, sessions[0]["user_id"])

	var revoked map[string]any
	cli.ok(&revoked, "sessions", "revoke", "--user", "Alice@Example.com")
	require.Equal(t, map[string]any{"scope": "user", "user_id": aliceID, "email": "alice@example.com", "revoked": 1.0}, revoked)
	status, _ := adminMe(t, srv.url(), alice)
	require.Equal(t, http.StatusUnauthorized, status, "alice's session ended at once")
	status, _ = adminMe(t, srv.url(), bob)
	require.Equal(t, http.StatusOK, status, "bob's did not")
	out, stderr, code := cli.run("sessions", "revoke", "--user", aliceID)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "Revoked 0 admin session(s) of alice@example.com ("+aliceID+").\n", out)

	require.Equal(t, 0, srv.stop())
	cli.ok(&sessions, "sessions", "list")
	require.Len(t, sessions, 2, "bob's and the emergency session")
	var all map[string]any
	cli.ok(&all, "sessions", "revoke", "--admins")
	require.Equal(t, map[string]any{"scope": "admins", "revoked": 2.0}, all)

	srv = startServer(t, cli.dataDir, nil)
	srv.waitReady(60 * time.Second)
	for _, token := range []string{alice, bob, emergency.Token} {
		status, _ := adminMe(t, srv.url(), token)
		require.Equal(t, http.StatusUnauthorized, status)
	}

	conn = ownerConn(t, cli.dataDir)
	var entries []string
	rows, err := conn.Query(t.Context(), `SELECT concat_ws(' ', actor_type, resource_type, resource_id, details->>'scope', details->>'revoked')
FROM goforward.audit_log WHERE action = 'admin.sessions.revoke' ORDER BY id`)
	require.NoError(t, err)
	entries, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"cli user " + aliceID + " user 1",
		"cli user " + aliceID + " user 0",
		"cli admin_session  all 2",
	}, entries)

	for _, bad := range [][]string{{}, {"--admins", "--user", aliceID}} {
		_, stderr, code := cli.run(append([]string{"sessions", "revoke"}, bad...)...)
		require.Equal(t, 2, code, bad)
		require.Contains(t, stderr, "say whose sessions to end")
	}
	_, stderr, code = cli.run("sessions", "revoke", "--user", "nobody@example.com")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `no user "nobody@example.com"`)
}

// TestControlCommandWhileServeStarts: serve holds the cluster's lock from before PostgreSQL
// starts and records itself only once it serves. A command run in between neither waits
// nor starts a second cluster: it says what is happening and to run it again, with exit
// code 4. The test holds the lock as a starting serve does.
func TestControlCommandWhileServeStarts(t *testing.T) {
	t.Parallel()
	cli := controlCLI{t, tempDataDir(t)}
	pgDir := filepath.Join(cli.dataDir, "postgres")
	require.NoError(t, os.MkdirAll(pgDir, 0o711))
	for _, d := range []string{cli.dataDir, pgDir} {
		require.NoError(t, os.Chmod(d, 0o711)) // as serve leaves them: the postgres user passes through
	}
	lock, err := os.OpenFile(filepath.Join(pgDir, "cluster.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))

	for _, args := range [][]string{{"emergency-access", "list"}, {"sessions", "revoke", "--admins"}} {
		out, stderr, code := cli.run(args...)
		require.Equal(t, 4, code, stderr)
		require.Empty(t, out)
		require.Contains(t, stderr, "if `goforward serve` is starting (or stopping), wait until `goforward status --data-dir "+cli.dataDir+"` answers")
	}
	require.NoFileExists(t, filepath.Join(pgDir, "cluster.json"), "no cluster was created beside the starting one")

	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_UN))
	var listed []grant
	cli.ok(&listed, "emergency-access", "list")
	require.Empty(t, listed)
}

// TestInit writes a configuration that serve runs on, never replaces one by accident, and
// for production lists what is still missing.
func TestInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "app")
	var res struct {
		ConfigFile   string   `json:"config_file"`
		Environment  string   `json:"environment"`
		Requirements []string `json:"production_requirements"`
		Next         string   `json:"next"`
	}
	out, stderr, code := run(t, nil, "init", "--dir", dir, "--json")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	path := filepath.Join(dir, "goforward.yaml")
	require.Equal(t, path, res.ConfigFile)
	require.Equal(t, "development", res.Environment, "without --env and without a terminal")
	require.Empty(t, res.Requirements)
	require.Equal(t, "cd "+dir+" && goforward serve", res.Next)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "it holds the JWT secret")
	first := secretOf(t, path)
	require.Len(t, first, 64)

	_, stderr, code = run(t, nil, "init", "--dir", dir)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "already exists: keep it, or pass --force to replace it")
	require.Equal(t, first, secretOf(t, path), "left alone")
	out, stderr, code = run(t, nil, "init", "--dir", dir, "--force", "--env", "production")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "Production refuses to start until you set")
	require.Contains(t, out, "server.public_url is not set")
	second := secretOf(t, path)
	require.NotEqual(t, first, second, "a new secret each time")
	_, stderr, code = run(t, nil, "config", "check", "--config", path)
	require.Equal(t, 2, code)
	require.NotContains(t, stderr, "jwt.secret", "the generated secret satisfies production")

	_, stderr, code = run(t, nil, "init", "--dir", dir, "--force", "--env", "prod")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `--env "prod": use one of development, staging, production`)

	// serve signs its keys with the secret of the file.
	out, stderr, code = run(t, nil, "init", "--dir", dir, "--force", "--env", "development")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "Next: cd "+dir+" && goforward serve")
	secret := secretOf(t, path)
	dataDir := tempDataDir(t)
	srv := startServer(t, dataDir, nil, "--config", path)
	srv.waitReady(60 * time.Second)
	out, stderr, code = run(t, nil, "status", "--json", "--data-dir", dataDir, "--config", path)
	require.Equal(t, 0, code, stderr)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Equal(t, secret, st["jwt_secret"])
	require.Equal(t, "anon", roleOf(t, st["anon_key"].(string), []byte(secret)))
}

func secretOf(t *testing.T, path string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(text), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "secret: "); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("no secret in %s:\n%s", path, text)
	return ""
}
