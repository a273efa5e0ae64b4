package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/servicetest"
)

// datedErrors asks for GoTrue's 2024-01-01 error shape, as supabase-js does.
var datedErrors = http.Header{"X-Supabase-Api-Version": {"2024-01-01"}}

// sameAnswer asserts that /admin/v1/sessions answers body exactly as /auth/v1/token does:
// status, body bytes and the headers a client reads.
func sameAnswer(t *testing.T, token, admin servicetest.Response) {
	t.Helper()
	require.Equal(t, token.Status, admin.Status, "token: %s\nadmin: %s", token.Body, admin.Body)
	require.Equal(t, string(token.Body), string(admin.Body))
	for _, h := range []string{"Content-Type", "X-Sb-Error-Code", "X-Supabase-Api-Version", "Retry-After"} {
		require.Equal(t, token.Header.Values(h), admin.Header.Values(h), h)
	}
}

// both sends the same body and headers to /auth/v1/token?grant_type=password and to POST
// /admin/v1/sessions (token first).
func (e *adminEnv) both(t *testing.T, body any, header http.Header) (servicetest.Response, servicetest.Response) {
	t.Helper()
	token := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password", Body: body, Header: header})
	admin := e.Do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/sessions", Body: body, Header: header})
	return token, admin
}

// TestAdminSignInFailuresAreTokensFailures: every way a password sign-in can fail reads the
// same, byte for byte, at /admin/v1/sessions as at /auth/v1/token, in both of GoTrue's
// error shapes.
func TestAdminSignInFailuresAreTokensFailures(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	ctx := context.Background()
	e.newAdmin(t, "admin@example.com", "super_admin")
	e.newAdmin(t, "banned@example.com", "super_admin")
	_, err := e.DB.Pool.Exec(ctx, `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE email = 'banned@example.com'`)
	require.NoError(t, err)
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/admin/users", Key: e.ServiceRoleKey(),
		Body: map[string]any{"email": "unconfirmed@example.com", "password": adminPassword}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	e.grant(t, jsonOf(t, res)["id"].(string), "super_admin")

	tests := []struct {
		name string
		body any
		code string
	}{
		{"unknown address", map[string]any{"email": "nobody@example.com", "password": adminPassword}, "invalid_credentials"},
		{"wrong password", map[string]any{"email": "admin@example.com", "password": "wrong-password"}, "invalid_credentials"},
		{"no address", map[string]any{"password": adminPassword}, "validation_failed"},
		{"e-mail and phone", map[string]any{"email": "admin@example.com", "phone": "+15555550100", "password": adminPassword}, "validation_failed"},
		{"unknown phone", map[string]any{"phone": "+15555550100", "password": adminPassword}, "invalid_credentials"},
		{"not JSON", "{email:", "bad_json"},
		{"empty body", "", "bad_json"},
		{"banned", map[string]any{"email": "banned@example.com", "password": adminPassword}, "user_banned"},
		{"unconfirmed", map[string]any{"email": "unconfirmed@example.com", "password": adminPassword}, "email_not_confirmed"},
	}
	for _, tt := range tests {
		for _, header := range []http.Header{nil, datedErrors} {
			token, admin := e.both(t, tt.body, header)
			require.Equal(t, tt.code, admin.Header.Get("X-Sb-Error-Code"), "%s: %s", tt.name, admin.Body)
			sameAnswer(t, token, admin)
		}
	}
	// A refused admin sign-in is audited with the code it got, and whose account it was.
	failed := e.audits(t, "admin.sign_in_failed")
	require.Len(t, failed, 2*len(tests))
	require.Equal(t, "anon", failed[0].ActorType)
	require.Equal(t, "invalid_credentials", failed[0].Details["error_code"])
	require.Equal(t, "user", failed[2].ActorType)
	require.Equal(t, "admin@example.com", failed[2].ActorEmail)
	require.Equal(t, "denied", failed[2].Outcome)
}

// TestAdminSignInCountsTowardsTokensLockout: wrong passwords at either endpoint count
// towards one lock, which then refuses both alike, the right password included.
func TestAdminSignInCountsTowardsTokensLockout(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) { c.Auth.Lockout.Attempts = 4 }})
	e.newAdmin(t, "admin@example.com", "super_admin")
	wrong := map[string]any{"email": "admin@example.com", "password": "wrong-password"}
	for _, path := range []string{"/auth/v1/token?grant_type=password", "/admin/v1/sessions", "/auth/v1/token?grant_type=password"} {
		res := e.Do(t, servicetest.Request{Method: "POST", Path: path, Body: wrong})
		require.Equal(t, "invalid_credentials", res.Header.Get("X-Sb-Error-Code"), "%s: %s", path, res.Body)
	}
	res := e.signIn(t, wrong, nil)
	require.Equal(t, "user_locked", res.Header.Get("X-Sb-Error-Code"), "the fourth wrong password, at admin, locks: %s", res.Body)
	for _, header := range []http.Header{nil, datedErrors} {
		token, admin := e.both(t, map[string]any{"email": "admin@example.com", "password": adminPassword}, header)
		require.Equal(t, http.StatusTooManyRequests, admin.Status, "%s", admin.Body)
		require.Equal(t, "user_locked", admin.Header.Get("X-Sb-Error-Code"))
		sameAnswer(t, token, admin)
	}
	locked := e.audits(t, "admin.sign_in_failed")
	require.Len(t, locked, 4)
	require.Equal(t, "user_locked", locked[3].Details["error_code"])
	e.clock.Advance(2 * time.Minute)
	require.NotEmpty(t, e.session(t, "admin@example.com"))
}

// TestAdminSignInSharesTokensRateLimit: /admin/v1/sessions takes from /token's buckets, and a
// refusal by the rate limit is not audited.
func TestAdminSignInSharesTokensRateLimit(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) { c.Auth.RateLimit.Token = 3 }})
	body := map[string]any{"email": "nobody@example.com", "password": adminPassword}
	token, admin := e.both(t, body, nil)
	sameAnswer(t, token, admin)
	require.Equal(t, http.StatusBadRequest, admin.Status)
	require.Equal(t, http.StatusBadRequest, e.signIn(t, body, nil).Status)
	for _, header := range []http.Header{nil, datedErrors} {
		admin := e.signIn(t, body, header)
		require.Equal(t, http.StatusTooManyRequests, admin.Status, "%s", admin.Body)
		require.Equal(t, "over_request_rate_limit", admin.Header.Get("X-Sb-Error-Code"))
		token := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password", Body: body, Header: header})
		require.Equal(t, string(token.Body), string(admin.Body))
	}
	require.Len(t, e.audits(t, "admin.sign_in_failed"), 2)
}

// TestAdminSignInRefusesUsersWhoAreNotAdmins: the right password of a user who is not an
// active admin is 403 not_admin (in GoTrue's shape), and audited.
func TestAdminSignInRefusesUsersWhoAreNotAdmins(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	userID := e.createUser(t, "user@example.com")
	revoked := e.newAdmin(t, "revoked@example.com", "regular_admin")
	_, err := e.DB.Pool.Exec(context.Background(), `UPDATE goforward.admins SET revoked_at = now() WHERE user_id = $1`, revoked)
	require.NoError(t, err)
	for _, email := range []string{"user@example.com", "revoked@example.com"} {
		res := e.signIn(t, map[string]any{"email": email, "password": adminPassword}, nil)
		require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
		body := jsonOf(t, res)
		require.Equal(t, "not_admin", body["error_code"])
		require.Equal(t, float64(403), body["code"])
		require.Equal(t, "not_admin", res.Header.Get("X-Sb-Error-Code"))
		res = e.signIn(t, map[string]any{"email": email, "password": adminPassword}, datedErrors)
		require.Equal(t, "not_admin", jsonOf(t, res)["code"])
	}
	failed := e.audits(t, "admin.sign_in_failed")
	require.Len(t, failed, 4)
	require.Equal(t, userID, failed[0].ActorID)
	require.Equal(t, "not_admin", failed[0].Details["error_code"])
}

// TestAdminSignInOpensASession: an admin's password opens a session whose token works on
// /admin/v1/me, expires after admin.session_max_age, carries the level's capabilities and the
// admin's groups, and is audited with the session's id.
func TestAdminSignInOpensASession(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{})
	id := e.createUser(t, "admin@example.com")
	e.grant(t, id, "regular_admin", "staff")
	res := e.signIn(t, map[string]any{"email": "Admin@Example.com ", "password": adminPassword}, http.Header{"User-Agent": {"admin-test/1"}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var got struct {
		Token        string         `json:"token"`
		SessionID    string         `json:"session_id"`
		ExpiresAt    time.Time      `json:"expires_at"`
		Level        string         `json:"level"`
		Capabilities map[string]any `json:"capabilities"`
		CSRFToken    *string        `json:"csrf_token"`
	}
	res.JSON(t, &got)
	require.True(t, strings.HasPrefix(got.Token, "gfa_"), got.Token)
	require.GreaterOrEqual(t, len(got.Token), len("gfa_")+43, "256 bits")
	require.Equal(t, "regular_admin", got.Level)
	require.Equal(t, true, got.Capabilities["can_manage_users"])
	require.Equal(t, false, got.Capabilities["can_manage_auth"])
	require.Equal(t, []any{"staff"}, got.Capabilities["assigned_user_groups"])
	require.WithinDuration(t, e.clock.Now().Add(12*time.Hour), got.ExpiresAt, time.Second)
	require.Nil(t, got.CSRFToken)
	require.Empty(t, res.Header.Values("Set-Cookie"))

	me := e.me(t, got.Token)
	require.Equal(t, http.StatusOK, me.Status, "%s", me.Body)
	body := jsonOf(t, me)
	require.Equal(t, id, body["user_id"])
	require.Equal(t, "admin@example.com", body["email"])
	require.Equal(t, []any{"staff"}, body["assigned_user_groups"])
	session := body["session"].(map[string]any)
	require.Equal(t, got.SessionID, session["id"])
	require.Equal(t, "admin-test/1", session["user_agent"])
	require.Equal(t, "127.0.0.1", session["ip"])
	require.Equal(t, false, session["mfa_verified"])

	signIns := e.audits(t, "admin.sign_in")
	require.Len(t, signIns, 1)
	require.Equal(t, auditEntry{ActorType: "admin", ActorID: id, ActorEmail: "admin@example.com", Action: "admin.sign_in",
		Outcome: "success", ResourceID: got.SessionID,
		Details: map[string]any{"method": "password", "mfa": false, "cookie": false, "level": "regular_admin"}}, signIns[0])
}

// TestAdminSignInWithoutTheAuthServiceMounted: --services admin alone still signs admins in,
// with an auth service built for it.
func TestAdminSignInWithoutTheAuthServiceMounted(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) { c.Services = []string{"admin"} }})
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), 4)
	require.NoError(t, err)
	var id string
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `INSERT INTO auth.users
  (aud, role, email, encrypted_password, email_confirmed_at, created_at, updated_at)
VALUES ('authenticated', 'authenticated', 'admin@example.com', $1, now(), now(), now()) RETURNING id`, string(hash)).Scan(&id))
	e.grant(t, id, "moderator")
	require.Equal(t, http.StatusNotFound, e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/health"}).Status)
	token := e.session(t, "admin@example.com")
	require.Equal(t, http.StatusOK, e.me(t, token).Status)
	res := e.signIn(t, map[string]any{"email": "admin@example.com", "password": "wrong"}, nil)
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, `{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}`+"\n", string(res.Body))
}
