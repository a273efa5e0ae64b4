package admin

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

// Polling bounds of tests that wait for something to happen in the database.
const (
	defaultWait = 30 * time.Second
	pollEvery   = 10 * time.Millisecond
)

// testEnv is the admin service behind the real gateway, on a fresh database.
type testEnv struct {
	*servicetest.Env
	svc      *Service
	sessions *access.Sessions
	users    *fakeUsers
}

// newService builds the service under test; the capability matrix builds it the same way.
func newService(env *servicetest.Env, sessions *access.Sessions, users Users) *Service {
	return New(Config{Environment: "development"}, Deps{
		Pool: env.DB.Pool, Sessions: sessions, Keys: env.Keys, Users: users, Logger: env.Logger,
	})
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{sessions: access.NewSessions(access.SessionConfig{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, nil)}
	e.Env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service {
		e.users = &fakeUsers{pool: env.DB.Pool}
		e.svc = newService(env, e.sessions, e.users)
		return []gateway.Service{{Name: "admin", Prefix: Prefix, Mount: e.svc.Mount, Open: OpenPaths}}
	}, servicetest.Options{APIKeys: true})
	return e
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// emailFor is an address named after the test and a label.
func emailFor(t *testing.T, label string) string {
	return nonAlnum.ReplaceAllString(strings.ToLower(t.Name()+"-"+label), "-") + "@example.com"
}

// user inserts a user (as auth would have) in the given app_metadata groups.
func (e *testEnv) user(t *testing.T, label string, groups ...string) string {
	t.Helper()
	meta := map[string]any{"provider": "email"}
	if groups != nil {
		meta["groups"] = groups
	}
	var id string
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `INSERT INTO auth.users
  (aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
VALUES ('authenticated', 'authenticated', $1, $2, '{}', now(), now()) RETURNING id::text`, emailFor(t, label), meta).Scan(&id))
	return id
}

// admin inserts a user and grants them level directly (as the CLI would have), limited to
// groups.
func (e *testEnv) admin(t *testing.T, label string, level access.Level, groups ...string) string {
	t.Helper()
	id := e.user(t, label)
	_, err := e.DB.Pool.Exec(context.Background(), `INSERT INTO goforward.admins
  (user_id, level, assigned_groups, granted_via, granted_at, updated_at) VALUES ($1, $2, $3, 'cli', now(), now())`,
		id, string(level), append([]string{}, groups...))
	require.NoError(t, err)
	return id
}

// signIn opens an admin session for the admin userID as its standing grant allows, the way
// the sign-in route will, and returns the bearer token.
func (e *testEnv) signIn(t *testing.T, userID string) string {
	t.Helper()
	ctx := context.Background()
	var level string
	var tables, groups []string
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT level, assigned_tables, assigned_groups FROM goforward.admins
WHERE user_id = $1 AND revoked_at IS NULL`, userID).Scan(&level, &tables, &groups))
	opened, err := e.sessions.Create(ctx, e.DB.Pool, access.NewSession{
		UserID: userID, Kind: access.KindAdmin, Level: access.Level(level),
		Capabilities: access.For(access.Level(level), tables, groups), MFAVerified: true,
	})
	require.NoError(t, err)
	return opened.Token
}

// call makes an admin API request with a bearer token ("" for none) and no apikey, and
// decodes a JSON object answer.
func (e *testEnv) call(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	req := servicetest.Request{Method: method, Path: Prefix + path, Body: body, Key: "-", Token: token}
	if token == "" {
		req.Token = "-"
	}
	res := e.Do(t, req)
	var out map[string]any
	if len(res.Body) > 0 {
		res.JSON(t, &out)
	}
	return res.Status, out
}

// requireCode checks an error answer in GoTrue's envelope.
func requireCode(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	require.Equal(t, wantStatus, status, "body: %v", body)
	require.Equal(t, wantCode, body["error_code"], "body: %v", body)
	require.EqualValues(t, wantStatus, body["code"], "body: %v", body)
	require.NotEmpty(t, body["msg"], "body: %v", body)
}

// inTx runs a manager call as the CLI does.
func (e *testEnv) inTx(t *testing.T, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return e.svc.manage.InTx(context.Background(), audit.Client{}, fn)
}

// auditRow is what tests read back of an audit entry.
type auditRow struct {
	ActorType, ActorID, Action, ResourceType, ResourceID, Outcome, Severity string
	Details                                                                 map[string]any
}

// auditRows returns the entries with this action, oldest first.
func (e *testEnv) auditRows(t *testing.T, action string) []auditRow {
	t.Helper()
	rows, err := e.DB.Pool.Query(context.Background(), `SELECT actor_type, actor_id, action, resource_type, resource_id,
  outcome, severity, details FROM goforward.audit_log WHERE action = $1 ORDER BY id`, action)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		err := row.Scan(&a.ActorType, &a.ActorID, &a.Action, &a.ResourceType, &a.ResourceID, &a.Outcome, &a.Severity, &a.Details)
		return a, err
	})
	require.NoError(t, err)
	return out
}

// level reads a user's admin level, "" when not an active admin.
func (e *testEnv) level(t *testing.T, userID string) access.Level {
	t.Helper()
	var level string
	err := e.DB.Pool.QueryRow(context.Background(), `SELECT level FROM goforward.admins WHERE user_id = $1 AND revoked_at IS NULL`, userID).Scan(&level)
	if err == pgx.ErrNoRows {
		return ""
	}
	require.NoError(t, err)
	return access.Level(level)
}

// sessionWorks reports whether an admin session token still authenticates.
func (e *testEnv) sessionWorks(t *testing.T, token string) bool {
	t.Helper()
	status, body := e.call(t, token, "GET", "/me", nil)
	if status == http.StatusUnauthorized {
		require.Equal(t, CodeSessionExpired, body["error_code"])
		return false
	}
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	return true
}
