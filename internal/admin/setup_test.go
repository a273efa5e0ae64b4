package admin

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

// newConfiguredEnv is newTestEnv with the service's Config given.
func newConfiguredEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	e := &testEnv{sessions: access.NewSessions(access.SessionConfig{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, nil)}
	e.Env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service {
		e.users = &fakeUsers{pool: env.DB.Pool}
		e.svc = New(cfg, Deps{Pool: env.DB.Pool, Sessions: e.sessions, Keys: env.Keys, Users: e.users, Logger: env.Logger})
		return []gateway.Service{{Name: "admin", Prefix: Prefix, Mount: e.svc.Mount, Open: OpenPaths}}
	})
	return e
}

// setupCall sends POST /setup, from this host unless forwardedFor names another client.
func (e *testEnv) setupCall(t *testing.T, body any, forwardedFor string) (int, map[string]any) {
	t.Helper()
	req := servicetest.Request{Method: "POST", Path: Prefix + "/setup", Body: body, Key: "-", Token: "-"}
	if forwardedFor != "" {
		req.Header = http.Header{"X-Forwarded-For": {forwardedFor}}
	}
	res := e.Do(t, req)
	var out map[string]any
	res.JSON(t, &out)
	return res.Status, out
}

func (e *testEnv) setupState(t *testing.T, forwardedFor string) map[string]any {
	t.Helper()
	req := servicetest.Request{Method: "GET", Path: Prefix + "/setup", Key: "-", Token: "-"}
	if forwardedFor != "" {
		req.Header = http.Header{"X-Forwarded-For": {forwardedFor}}
	}
	res := e.Do(t, req)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	var out map[string]any
	res.JSON(t, &out)
	return out
}

func TestSetupMakesTheFirstAdminOnce(t *testing.T) {
	t.Parallel()
	e := newConfiguredEnv(t, Config{Environment: "development"})
	state := e.setupState(t, "")
	require.Equal(t, map[string]any{"environment": "development", "first_admin_needed": true, "first_admin_allowed": true,
		"command": "goforward admin create --email you@example.com --level system_admin"}, state)

	status, body := e.setupCall(t, map[string]any{"email": " first@example.com ", "password": "a-long-password"}, "")
	require.Equal(t, http.StatusCreated, status, "body: %v", body)
	require.Equal(t, "first@example.com", body["email"])
	require.Equal(t, "system_admin", body["level"])
	require.Equal(t, "cli", body["granted_via"], "recorded as goforward admin create would record it")
	require.Equal(t, true, body["user_created"])
	userID := body["user_id"].(string)
	require.Equal(t, access.SystemAdmin, e.level(t, userID))

	setup := e.auditRows(t, "admin.setup")
	require.Len(t, setup, 1)
	require.Equal(t, "anon", setup[0].ActorType)
	require.Equal(t, "critical", setup[0].Severity)
	require.Equal(t, userID, setup[0].ResourceID)
	require.Equal(t, "first@example.com", setup[0].Details["email"])
	require.Len(t, e.auditRows(t, "admin.grant"), 1)

	state = e.setupState(t, "")
	require.Equal(t, false, state["first_admin_needed"])
	require.Equal(t, false, state["first_admin_allowed"])
	status, body = e.setupCall(t, map[string]any{"email": "second@example.com", "password": "a-long-password"}, "")
	requireCode(t, status, body, http.StatusConflict, CodeSetupDone)
	require.Len(t, e.auditRows(t, "admin.grant"), 1)
}

func TestSetupRefusals(t *testing.T) {
	t.Parallel()
	t.Run("outside development", func(t *testing.T) {
		t.Parallel()
		for _, env := range []string{"staging", "production"} {
			e := newConfiguredEnv(t, Config{Environment: env})
			state := e.setupState(t, "")
			require.Equal(t, true, state["first_admin_needed"])
			require.Equal(t, false, state["first_admin_allowed"])
			require.Equal(t, env, state["environment"])
			status, body := e.setupCall(t, map[string]any{"email": "first@example.com", "password": "a-long-password"}, "")
			requireCode(t, status, body, http.StatusForbidden, CodeSetupUnavailable)
			require.Contains(t, body["msg"], "goforward admin create")
			var admins int
			require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM goforward.admins`).Scan(&admins))
			require.Zero(t, admins)
		}
	})
	t.Run("from another host", func(t *testing.T) {
		t.Parallel()
		e := newConfiguredEnv(t, Config{Environment: "development"})
		require.Equal(t, false, e.setupState(t, "203.0.113.7")["first_admin_allowed"])
		status, body := e.setupCall(t, map[string]any{"email": "first@example.com", "password": "a-long-password"}, "203.0.113.7")
		requireCode(t, status, body, http.StatusForbidden, CodeSetupUnavailable)
		require.Equal(t, true, e.setupState(t, "")["first_admin_needed"])
	})
	t.Run("an existing user", func(t *testing.T) {
		t.Parallel()
		e := newConfiguredEnv(t, Config{Environment: "development"})
		e.user(t, "taken")
		status, body := e.setupCall(t, map[string]any{"email": emailFor(t, "taken"), "password": "a-long-password"}, "")
		requireCode(t, status, body, http.StatusUnprocessableEntity, CodeEmailExists)
		require.Equal(t, true, e.setupState(t, "")["first_admin_needed"])
	})
	t.Run("an incomplete form", func(t *testing.T) {
		t.Parallel()
		e := newConfiguredEnv(t, Config{Environment: "development"})
		status, body := e.setupCall(t, map[string]any{"email": "first@example.com"}, "")
		requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)
	})
	t.Run("a revoked admin still counts", func(t *testing.T) {
		t.Parallel()
		e := newConfiguredEnv(t, Config{Environment: "development"})
		id := e.admin(t, "gone", access.SuperAdmin)
		_, err := e.DB.Pool.Exec(context.Background(), `UPDATE goforward.admins SET revoked_at = now() WHERE user_id = $1`, id)
		require.NoError(t, err)
		status, body := e.setupCall(t, map[string]any{"email": "first@example.com", "password": "a-long-password"}, "")
		requireCode(t, status, body, http.StatusConflict, CodeSetupDone)
	})
}

// TestSetupRace sends the form twice at once: one admin is made, the other request is told
// one exists.
func TestSetupRace(t *testing.T) {
	t.Parallel()
	e := newConfiguredEnv(t, Config{Environment: "development"})
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = e.setupCall(t, map[string]any{"email": emailFor(t, string(rune('a'+i))), "password": "a-long-password"}, "")
		}()
	}
	wg.Wait()
	require.ElementsMatch(t, []int{http.StatusCreated, http.StatusConflict, http.StatusConflict, http.StatusConflict}, statuses)
	var admins int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM goforward.admins`).Scan(&admins))
	require.Equal(t, 1, admins)
}

func TestServerInfoAndSettings(t *testing.T) {
	t.Parallel()
	started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e := newConfiguredEnv(t, Config{Environment: "staging", Version: "v1.2.3", Services: []string{"admin", "dashboard"}, StartedAt: started,
		Settings: map[string]any{"jwt": map[string]any{"secret": "[redacted]"}}})
	moderator := e.signIn(t, e.admin(t, "mod", access.Moderator))
	system := e.signIn(t, e.admin(t, "sys", access.SystemAdmin))

	status, body := e.call(t, moderator, "GET", "/server", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "v1.2.3", body["version"])
	require.Equal(t, "staging", body["environment"])
	require.Equal(t, []any{"admin", "dashboard"}, body["services"])
	require.Regexp(t, `^go1\.`, body["go_version"])
	require.Regexp(t, `^\d+`, body["postgres_version"])
	require.Equal(t, "2026-12-01T09:00:00Z", body["started_at"])

	status, body = e.call(t, moderator, "GET", "/settings", nil)
	requireCode(t, status, body, http.StatusForbidden, CodeInsufficientCapability)
	status, body = e.call(t, system, "GET", "/settings", nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{"environment": "staging", "config": map[string]any{"jwt": map[string]any{"secret": "[redacted]"}}}, body)
}
