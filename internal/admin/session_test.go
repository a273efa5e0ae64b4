package admin_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

// Sign-in runs on auth's code and is tested where both services are built
// (internal/cli/service_admin_*_test.go); these tests open sessions directly and exercise
// what the admin service does with them.

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type sessionEnv struct {
	*servicetest.Env
	clock    *clock
	sessions *access.Sessions
}

func newSessionEnv(t *testing.T) *sessionEnv {
	t.Helper()
	e := &sessionEnv{clock: &clock{now: time.Now()}}
	e.sessions = access.NewSessions(access.SessionConfig{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, e.clock.Now)
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		svc := admin.New(admin.Config{Environment: "development"}, admin.Deps{
			Pool: se.DB.Pool, Sessions: e.sessions, Keys: se.Keys, Logger: se.Logger, Now: e.clock.Now,
		})
		return []gateway.Service{{Name: "admin", Prefix: admin.Prefix, Mount: svc.Mount, Open: admin.OpenPaths}}
	})
	return e
}

// newAdmin inserts a user and makes it an admin of level.
func (e *sessionEnv) newAdmin(t *testing.T, email string, level access.Level) string {
	t.Helper()
	var id string
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `INSERT INTO auth.users (aud, role, email, created_at, updated_at)
VALUES ('authenticated', 'authenticated', $1, now(), now()) RETURNING id`, email).Scan(&id))
	_, err := e.DB.Pool.Exec(context.Background(), `INSERT INTO goforward.admins (user_id, level, granted_via, granted_at, updated_at)
VALUES ($1, $2, 'cli', now(), now())`, id, string(level))
	require.NoError(t, err)
	return id
}

// open opens a session for the admin userID, as sign-in would.
func (e *sessionEnv) open(t *testing.T, userID string, level access.Level) access.Opened {
	t.Helper()
	o, err := e.sessions.Create(context.Background(), e.DB.Pool, access.NewSession{
		UserID: userID, Kind: access.KindAdmin, Level: level, Capabilities: access.For(level, nil, nil),
	})
	require.NoError(t, err)
	return o
}

// call makes a request with an admin token (or a key) and no apikey.
func (e *sessionEnv) call(t *testing.T, method, path, token string) servicetest.Response {
	t.Helper()
	return e.Do(t, servicetest.Request{Method: method, Path: path, Key: "-", Token: token})
}

func (e *sessionEnv) errorCode(t *testing.T, res servicetest.Response) string {
	t.Helper()
	var body struct {
		ErrorCode string `json:"error_code"`
	}
	res.JSON(t, &body)
	return body.ErrorCode
}

// auditCount counts the entries of action with severity.
func (e *sessionEnv) auditCount(t *testing.T, action, severity string) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM goforward.audit_log WHERE action = $1 AND severity = $2`, action, severity).Scan(&n))
	return n
}

// TestAdminSessionsEndWhenIdle: a session unused for admin.session_idle_timeout is over;
// each request keeps it alive.
func TestAdminSessionsEndWhenIdle(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	id := e.newAdmin(t, "admin@example.com", access.Moderator)
	token := e.open(t, id, access.Moderator).Token
	for range 3 {
		e.clock.Advance(29 * time.Minute)
		require.Equal(t, http.StatusOK, e.call(t, "GET", "/admin/v1/me", token).Status)
	}
	e.clock.Advance(30*time.Minute + time.Second)
	res := e.call(t, "GET", "/admin/v1/me", token)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "session_expired", e.errorCode(t, res))
}

// TestAdminSessionsEndAtTheirMaxAge: however active, a session ends
// admin.session_max_age after sign-in.
func TestAdminSessionsEndAtTheirMaxAge(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	id := e.newAdmin(t, "admin@example.com", access.Moderator)
	o := e.open(t, id, access.Moderator)
	require.Equal(t, o.CreatedAt.Add(12*time.Hour), o.ExpiresAt)
	for e.clock.Now().Add(20 * time.Minute).Before(o.ExpiresAt) {
		e.clock.Advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, e.call(t, "GET", "/admin/v1/me", o.Token).Status, "at %s", e.clock.Now().Sub(o.CreatedAt))
	}
	e.clock.Advance(o.ExpiresAt.Sub(e.clock.Now()))
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", o.Token).Status)
}

// TestRevokingAnAdminEndsItsSessionsAtOnce: revoking the admin, or changing its level,
// ends its sessions with the next request; narrowing its groups narrows them at once.
func TestRevokingAnAdminEndsItsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	ctx := context.Background()
	revoked := e.newAdmin(t, "revoked@example.com", access.SuperAdmin)
	demoted := e.newAdmin(t, "demoted@example.com", access.SuperAdmin)
	regrouped := e.newAdmin(t, "regrouped@example.com", access.RegularAdmin)
	_, err := e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET assigned_groups = '{staff,sales}' WHERE user_id = $1`, regrouped)
	require.NoError(t, err)
	tokens := map[string]string{}
	for _, id := range []string{revoked, demoted} {
		tokens[id] = e.open(t, id, access.SuperAdmin).Token
		require.Equal(t, http.StatusOK, e.call(t, "GET", "/admin/v1/me", tokens[id]).Status)
	}
	regroupedToken, err := e.sessions.Create(ctx, e.DB.Pool, access.NewSession{
		UserID: regrouped, Kind: access.KindAdmin, Level: access.RegularAdmin,
		Capabilities: access.For(access.RegularAdmin, nil, []string{"staff", "sales"}),
	})
	require.NoError(t, err)

	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET revoked_at = now() WHERE user_id = $1`, revoked)
	require.NoError(t, err)
	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET level = 'regular_admin' WHERE user_id = $1`, demoted)
	require.NoError(t, err)
	_, err = e.DB.Pool.Exec(ctx, `UPDATE goforward.admins SET assigned_groups = '{staff}' WHERE user_id = $1`, regrouped)
	require.NoError(t, err)
	for _, id := range []string{revoked, demoted} {
		res := e.call(t, "GET", "/admin/v1/me", tokens[id])
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	}
	res := e.call(t, "GET", "/admin/v1/me", regroupedToken.Token)
	require.Equal(t, http.StatusOK, res.Status)
	var me struct {
		Groups []string `json:"assigned_user_groups"`
	}
	res.JSON(t, &me)
	require.Equal(t, []string{"staff"}, me.Groups)
}

// sessionList is GET /sessions' answer.
type sessionList struct {
	Sessions []struct {
		ID      string `json:"id"`
		UserID  string `json:"user_id"`
		Kind    string `json:"kind"`
		Current bool   `json:"current"`
	} `json:"sessions"`
}

func (e *sessionEnv) list(t *testing.T, path, token string) sessionList {
	t.Helper()
	res := e.call(t, "GET", path, token)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var out sessionList
	res.JSON(t, &out)
	return out
}

// TestAdminsListAndEndTheirSessions: an admin lists and ends its own sessions; another's
// take can_manage_system, without which they are not found.
func TestAdminsListAndEndTheirSessions(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	regular := e.newAdmin(t, "regular@example.com", access.RegularAdmin)
	system := e.newAdmin(t, "system@example.com", access.SystemAdmin)
	first, second := e.open(t, regular, access.RegularAdmin), e.open(t, regular, access.RegularAdmin)
	sys := e.open(t, system, access.SystemAdmin)
	emergency, err := e.sessions.Create(context.Background(), e.DB.Pool, access.NewSession{
		Kind: access.KindEmergency, Level: access.SystemAdmin, Capabilities: access.For(access.SystemAdmin, nil, nil), Reason: "test",
	})
	require.NoError(t, err)

	own := e.list(t, "/admin/v1/sessions", first.Token)
	require.Len(t, own.Sessions, 2)
	for _, s := range own.Sessions {
		require.Equal(t, regular, s.UserID)
		require.Equal(t, s.ID == first.ID, s.Current)
	}
	res := e.call(t, "GET", "/admin/v1/sessions?all=true", first.Token)
	require.Equal(t, http.StatusForbidden, res.Status)
	require.Equal(t, "insufficient_capability", e.errorCode(t, res))
	require.Equal(t, 1, e.auditCount(t, "admin.access_denied", "warning"))
	require.Len(t, e.list(t, "/admin/v1/sessions?all=true", sys.Token).Sessions, 4)
	require.Len(t, e.list(t, "/admin/v1/sessions", sys.Token).Sessions, 1)
	require.Len(t, e.list(t, "/admin/v1/sessions", e.ServiceRoleKey()).Sessions, 4, "the service role has none of its own: it sees all")

	for _, id := range []string{sys.ID, emergency.ID, "not-a-uuid", "00000000-0000-0000-0000-000000000000"} {
		res := e.call(t, "DELETE", "/admin/v1/sessions/"+id, first.Token)
		require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", id, res.Body)
	}
	require.Equal(t, http.StatusNoContent, e.call(t, "DELETE", "/admin/v1/sessions/"+second.ID, first.Token).Status)
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", second.Token).Status)
	require.Equal(t, http.StatusOK, e.call(t, "GET", "/admin/v1/me", first.Token).Status)
	require.Equal(t, 1, e.auditCount(t, "admin.session_revoked", "info"))

	require.Equal(t, http.StatusNoContent, e.call(t, "DELETE", "/admin/v1/sessions/"+first.ID, sys.Token).Status)
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", first.Token).Status)
	require.Equal(t, http.StatusNoContent, e.call(t, "DELETE", "/admin/v1/sessions/"+emergency.ID, e.ServiceRoleKey()).Status)
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", emergency.Token).Status)
	require.Equal(t, 2, e.auditCount(t, "admin.session_revoked", "warning"), "ending someone else's session is a warning")

	res = e.call(t, "DELETE", "/admin/v1/sessions/current", e.ServiceRoleKey())
	require.Equal(t, http.StatusNotFound, res.Status)
	require.Equal(t, http.StatusNoContent, e.call(t, "DELETE", "/admin/v1/sessions/current", sys.Token).Status)
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", sys.Token).Status)
	require.Equal(t, 1, e.auditCount(t, "admin.sign_out", "info"))
	require.Empty(t, e.list(t, "/admin/v1/sessions", e.ServiceRoleKey()).Sessions)
}

// TestCookieSessionsNeedTheCSRFTokenToChangeAnything: a session riding in the dashboard's
// cookie reads freely, but every other method needs X-CSRF-Token; a Bearer token needs none.
func TestCookieSessionsNeedTheCSRFTokenToChangeAnything(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	id := e.newAdmin(t, "admin@example.com", access.Moderator)
	cookieSession, bearer := e.open(t, id, access.Moderator), e.open(t, id, access.Moderator)
	cookie := http.Header{"Cookie": {access.CookieName + "=" + cookieSession.Token}}
	do := func(method, path string, h http.Header) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: method, Path: path, Key: "-", Header: h})
	}
	res := do("GET", "/admin/v1/sessions", cookie)
	require.Equal(t, http.StatusOK, res.Status)
	res = do("DELETE", "/admin/v1/sessions/"+bearer.ID, cookie)
	require.Equal(t, http.StatusForbidden, res.Status)
	require.Equal(t, "csrf_failed", e.errorCode(t, res))
	withCSRF := cookie.Clone()
	withCSRF.Set(access.CSRFHeader, cookieSession.CSRF)
	require.Equal(t, http.StatusNoContent, do("DELETE", "/admin/v1/sessions/"+bearer.ID, withCSRF).Status)
	require.Equal(t, http.StatusUnauthorized, e.call(t, "GET", "/admin/v1/me", bearer.Token).Status)
	other := e.open(t, id, access.Moderator)
	require.Equal(t, http.StatusNoContent, e.call(t, "DELETE", "/admin/v1/sessions/"+other.ID, cookieSession.Token).Status,
		"the same session as a Bearer token needs no CSRF token")
}

// TestSignInWithoutAuthIsUnavailable: a service built without auth (Deps.SignIn nil) says so.
func TestSignInWithoutAuthIsUnavailable(t *testing.T) {
	t.Parallel()
	e := newSessionEnv(t)
	for _, path := range []string{"/admin/v1/sessions", "/admin/v1/sessions/mfa"} {
		res := e.Do(t, servicetest.Request{Method: "POST", Path: path, Key: "-", Body: map[string]any{"email": "a@example.com", "password": "x"}})
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Equal(t, "sign_in_unavailable", e.errorCode(t, res))
	}
}
