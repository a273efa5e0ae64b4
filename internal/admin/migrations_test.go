package admin

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/usermigrations"
	"github.com/goforward/goforward/migrations"
)

// migrationsEnv is the admin service with a migrations directory of its own.
type migrationsEnv struct {
	*testEnv
	dir string
}

func newMigrationsEnv(t *testing.T) *migrationsEnv {
	t.Helper()
	m := &migrationsEnv{testEnv: &testEnv{sessions: access.NewSessions(access.SessionConfig{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, nil)},
		dir: filepath.Join(t.TempDir(), "supabase", "migrations")}
	m.Env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service {
		m.users = &fakeUsers{pool: env.DB.Pool}
		m.svc = New(Config{Environment: "development"}, Deps{
			Pool: env.DB.Pool, Sessions: m.sessions, Keys: env.Keys, Users: m.users, Logger: env.Logger,
			Migrations: usermigrations.New(env.DB.Pool, usermigrations.Config{Dir: m.dir, Internal: migrations.FS}),
		})
		return []gateway.Service{{Name: "admin", Prefix: Prefix, Mount: m.svc.Mount, Open: OpenPaths}}
	})
	return m
}

func (m *migrationsEnv) write(t *testing.T, name, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(m.dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(m.dir, name), []byte(body), 0o644))
}

func (m *migrationsEnv) columns(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, m.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = $1`, table).Scan(&n))
	return n
}

// TestMigrationRoutes drives /admin/v1/migrations as the dashboard would: save DDL that ran
// through /pg as a migration, create and apply one, apply files, roll back, read the history;
// each refusal answers with its own code.
func TestMigrationRoutes(t *testing.T) {
	t.Parallel()
	m := newMigrationsEnv(t)
	ctx := context.Background()
	root := m.signIn(t, m.admin(t, "root", access.SystemAdmin))
	super := m.signIn(t, m.admin(t, "super", access.SuperAdmin))

	status, body := m.call(t, super, "GET", "/migrations", nil)
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)

	status, body = m.call(t, root, "GET", "/migrations", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, m.dir, body["dir"])
	require.Empty(t, body["migrations"])

	// DDL made through /pg, saved as a migration: recorded as applied, not run again.
	_, err := m.DB.Pool.Exec(ctx, `create table posts (id int primary key)`)
	require.NoError(t, err)
	status, body = m.call(t, root, "POST", "/migrations", map[string]any{
		"name": "create posts", "up": "create table posts (id int primary key);", "down": "drop table posts;", "mark_applied": true,
	})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	require.Equal(t, "create_posts", body["name"])
	require.Equal(t, "applied", body["status"])
	require.Equal(t, true, body["marked"])
	require.Equal(t, true, body["reversible"])
	require.Equal(t, emailFor(t, "root"), body["applied_by"], "the history names the admin by address")
	saved, err := os.ReadFile(body["up_file"].(string))
	require.NoError(t, err)
	require.Equal(t, "create table posts (id int primary key);", string(saved))

	// Created and applied at once.
	status, body = m.call(t, root, "POST", "/migrations", map[string]any{
		"name": "add_title", "up": "alter table posts add column title text;", "down": "alter table posts drop column title;", "apply": true,
	})
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	require.Equal(t, "applied", body["status"])
	require.Equal(t, 2, m.columns(t, "posts"))

	// SQL that fails: named, rolled back, and no file left behind.
	status, body = m.call(t, root, "POST", "/migrations", map[string]any{
		"name": "broken", "up": "alter table posts add column body text;\nalter table posts add column title text;", "apply": true,
	})
	requireCode(t, status, body, http.StatusBadRequest, CodeMigrationFailed)
	require.EqualValues(t, 2, body["statement"])
	require.EqualValues(t, 2, body["line"])
	require.Contains(t, body["msg"], `column "title" of relation "posts" already exists`)
	require.Equal(t, 2, m.columns(t, "posts"))
	entries, err := os.ReadDir(m.dir)
	require.NoError(t, err)
	require.Len(t, entries, 4, "two migrations with up and down files each")

	// A file written by hand, applied through the API; a dry run first.
	m.write(t, "99990101000000_tags.up.sql", "create table tags (id int);")
	status, body = m.call(t, root, "POST", "/migrations/up", map[string]any{"dry_run": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	steps := body["steps"].([]any)
	require.Len(t, steps, 1)
	require.Equal(t, "create table tags (id int);", steps[0].(map[string]any)["sql"])
	require.Zero(t, m.columns(t, "tags"))
	status, body = m.call(t, root, "POST", "/migrations/up", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Len(t, body["steps"], 1)
	require.Equal(t, 1, m.columns(t, "tags"))

	// The hand-written migration has no down file: rolling it back is refused and says so.
	status, body = m.call(t, root, "POST", "/migrations/down", map[string]any{})
	requireCode(t, status, body, http.StatusConflict, CodeMigrationIrreversible)
	require.Contains(t, body["msg"], "99990101000000_tags has no down file")

	// An applied file that changed stops every run.
	m.write(t, "99990101000000_tags.up.sql", "create table tags (id bigint);")
	status, body = m.call(t, root, "POST", "/migrations/up", map[string]any{})
	requireCode(t, status, body, http.StatusConflict, CodeMigrationChanged)
	m.write(t, "99990101000000_tags.up.sql", "create table tags (id int);")
	m.write(t, "99990101000000_tags.down.sql", "drop table tags;")

	status, body = m.call(t, root, "POST", "/migrations/down", map[string]any{"count": 2})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Len(t, body["steps"], 2)
	require.Zero(t, m.columns(t, "tags"))
	require.Equal(t, 1, m.columns(t, "posts"))

	status, body = m.call(t, root, "POST", "/migrations/up", map[string]any{"to": "nope"})
	requireCode(t, status, body, http.StatusNotFound, CodeNotFound)
	status, body = m.call(t, root, "POST", "/migrations", map[string]any{"name": "../x", "up": "select 1"})
	requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)

	status, body = m.call(t, root, "GET", "/migrations/history", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	history := body["history"].([]any)
	require.Len(t, history, 1)
	require.Equal(t, "create table posts (id int primary key);", history[0].(map[string]any)["up_sql"])

	status, body = m.call(t, root, "GET", "/migrations", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	var states []string
	for _, mig := range body["migrations"].([]any) {
		states = append(states, mig.(map[string]any)["status"].(string))
	}
	require.Equal(t, []string{"applied", "pending", "pending"}, states)

	var actions []string
	for _, a := range m.auditRows(t, "migration.apply") {
		require.Equal(t, "admin", a.ActorType)
		actions = append(actions, a.Action+":"+a.Outcome)
	}
	require.Equal(t, []string{"migration.apply:success", "migration.apply:error", "migration.apply:success"}, actions)
	require.Len(t, m.auditRows(t, "migration.rollback"), 2)
	require.Len(t, m.auditRows(t, "migration.mark_applied"), 1)

	// The service role may manage migrations too, as it may /pg.
	status, body = m.call(t, m.ServiceRoleKey(), "GET", "/migrations", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
}

// TestMigrationRoutesWithoutService: a node built without the migration service says so.
func TestMigrationRoutesWithoutService(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	root := e.signIn(t, e.admin(t, "root", access.SystemAdmin))
	status, body := e.call(t, root, "GET", "/migrations", nil)
	requireCode(t, status, body, http.StatusServiceUnavailable, CodeMigrationsUnavailable)
}
