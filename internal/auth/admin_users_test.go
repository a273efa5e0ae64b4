package auth_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/goforward/goforward/internal/servicetest"
)

func TestAdminAPIIsForAdminRolesOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "plain")
	uid := e.createUser(t, email)
	userToken := e.signIn(t, email).AccessToken
	for name, req := range map[string]servicetest.Request{
		"anon key":   {Method: "GET", Path: "/auth/v1/admin/users"},
		"user token": {Method: "GET", Path: "/auth/v1/admin/users/" + uid, Token: userToken},
		"invite":     {Method: "POST", Path: "/auth/v1/invite", Body: map[string]any{"email": "x@example.com"}},
		"link":       {Method: "POST", Path: "/auth/v1/admin/generate_link", Token: userToken, Body: map[string]any{"type": "signup"}},
	} {
		res := e.Do(t, req)
		require.Equal(t, http.StatusForbidden, res.Status, name)
		require.Equal(t, "not_admin", res.Header.Get("x-sb-error-code"), name)
	}
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/admin/users", Key: e.ServiceRoleKey(), Token: "-"})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "no_authorization", res.Header.Get("x-sb-error-code"))

	// GoTrue's second admin role works too.
	adminToken, err := e.Keys.Sign(jwt.MapClaims{"role": "supabase_admin", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	res = e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/admin/users/" + uid, Token: adminToken})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "made")
	id := "3f4bdc8e-2a0e-4c3b-9a4e-6d1c2b3a4f5e"
	status, body := e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{
		"id": id, "email": strings.ToUpper(email), "phone": "+1 555 555 0199", "password": password,
		"email_confirm": true, "user_metadata": map[string]any{"full_name": "Ann Made"},
		"app_metadata": map[string]any{"plan": "pro"}, "role": "editor",
	})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, id, body["id"])
	require.Equal(t, email, body["email"])
	require.Equal(t, "15555550199", body["phone"])
	require.Equal(t, "editor", body["role"])
	require.NotEmpty(t, body["email_confirmed_at"])
	require.Nil(t, body["phone_confirmed_at"], "phone_confirm was not asked for")
	require.Equal(t, map[string]any{"full_name": "Ann Made"}, body["user_metadata"])
	require.Equal(t, map[string]any{"provider": "email", "providers": []any{"email", "phone"}, "plan": "pro"}, body["app_metadata"])
	require.Len(t, body["identities"], 2)
	require.Empty(t, e.smtp.Messages(), "createUser sends no mail")
	require.Equal(t, 1, e.eventsOf(t, id, "admin_user_created"))

	s := e.signIn(t, email)
	require.Equal(t, "editor", claimsOf(t, s.AccessToken)["role"])
	require.Equal(t, "pro", claimsOf(t, s.AccessToken)["app_metadata"].(map[string]any)["plan"])

	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": email})
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")
	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"phone": "15555550199"})
	requireError(t, status, body, http.StatusUnprocessableEntity, "phone_exists")
	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"id": id, "email": emailFor(t, "dup-id")})
	requireError(t, status, body, http.StatusUnprocessableEntity, "user_already_exists")
	for name, params := range map[string]map[string]any{
		"no address":      {"password": password},
		"bad id":          {"email": emailFor(t, "x1"), "id": "42"},
		"nil id":          {"email": emailFor(t, "x2"), "id": "00000000-0000-0000-0000-000000000000"},
		"both passwords":  {"email": emailFor(t, "x3"), "password": password, "password_hash": "$2a$04$x"},
		"bad hash":        {"email": emailFor(t, "x4"), "password_hash": "md5:abc"},
		"bad ban":         {"email": emailFor(t, "x5"), "ban_duration": "forever"},
		"bad email":       {"email": "not an address"},
		"long password":   {"email": emailFor(t, "x6"), "password": strings.Repeat("p", 73)},
		"blank role":      {"email": emailFor(t, "x7"), "role": "  "},
		"malformed field": {"email": 42},
	} {
		status, body := e.admin(t, "POST", "/auth/v1/admin/users", params)
		require.Equal(t, http.StatusBadRequest, status, "%s: %v", name, body)
	}
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users WHERE email LIKE 'testadmincreateuser-x%'`), "nothing half-written")
}

func TestAdminCreateUserWithAPasswordHashOrNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("imported-secret"), 4)
	require.NoError(t, err)
	imported := emailFor(t, "imported")
	status, body := e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": imported, "password_hash": string(hash), "email_confirm": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": imported, "password": "imported-secret"}, "")
	sessionOf(t, status, body)

	// Without a password nobody can sign in with one.
	bare := emailFor(t, "bare")
	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": bare, "email_confirm": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": bare, "password": ""}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")

	// An unconfirmed one cannot sign in until confirmed.
	pending := emailFor(t, "pending")
	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": pending, "password": password})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": pending, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "email_not_confirmed")
	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+body2id(t, e, pending), map[string]any{"email_confirm": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, true, body["identities"].([]any)[0].(map[string]any)["identity_data"].(map[string]any)["email_verified"])
	e.signIn(t, pending)
}

// body2id finds a user's id by e-mail address through the admin list's filter.
func body2id(t *testing.T, e *env, email string) string {
	t.Helper()
	status, body := e.admin(t, "GET", "/auth/v1/admin/users?filter="+urlQueryEscape(email), nil)
	require.Equal(t, http.StatusOK, status)
	users := body["users"].([]any)
	require.Len(t, users, 1)
	return users[0].(map[string]any)["id"].(string)
}

// clientPagination reads the headers as supabase-js's listUsers does: the page number is the
// one character after the first '=' of each link.
func clientPagination(t *testing.T, h http.Header) (next, last, total int) {
	t.Helper()
	for _, link := range strings.Split(h.Get("Link"), ",") {
		parts := strings.Split(link, ";")
		page, err := strconv.Atoi(strings.SplitN(parts[0], "=", 2)[1][:1])
		require.NoError(t, err, link)
		rel := strings.Trim(strings.SplitN(parts[1], "=", 2)[1], `"`)
		switch rel {
		case "next":
			next = page
		case "last":
			last = page
		}
	}
	total, err := strconv.Atoi(h.Get("X-Total-Count"))
	require.NoError(t, err)
	return next, last, total
}

func TestAdminListUsersPaginates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var emails []string
	for i := range 5 {
		emails = append(emails, emailFor(t, fmt.Sprintf("user%d", i)))
		e.createUser(t, emails[i])
		e.clock.Advance(time.Second)
	}
	list := func(query string) (servicetest.Response, []string) {
		res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/admin/users" + query, Key: e.ServiceRoleKey()})
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var out struct {
			Users []map[string]any `json:"users"`
			Aud   string           `json:"aud"`
		}
		res.JSON(t, &out)
		require.Equal(t, "authenticated", out.Aud)
		var got []string
		for _, u := range out.Users {
			got = append(got, u["email"].(string))
		}
		return res, got
	}

	res, got := list("?page=1&per_page=2")
	require.Equal(t, []string{emails[4], emails[3]}, got, "newest first")
	require.Equal(t, `</auth/v1/admin/users?page=2&per_page=2>; rel="next", </auth/v1/admin/users?page=3&per_page=2>; rel="last"`, res.Header.Get("Link"))
	next, last, total := clientPagination(t, res.Header)
	require.Equal(t, []int{2, 3, 5}, []int{next, last, total})

	res, got = list("?page=3&per_page=2")
	require.Equal(t, []string{emails[0]}, got)
	require.Equal(t, `</auth/v1/admin/users?page=3&per_page=2>; rel="last"`, res.Header.Get("Link"))

	// supabase-js sends empty values when no page is asked for.
	res, got = list("?page=&per_page=")
	require.Len(t, got, 5)
	require.Equal(t, "5", res.Header.Get("X-Total-Count"))
	require.Equal(t, `</auth/v1/admin/users?page=1&per_page=50>; rel="last"`, res.Header.Get("Link"))

	res, got = list("?per_page=1&filter=" + urlQueryEscape("USER3"))
	require.Equal(t, []string{emails[3]}, got, "the filter matches part of the address, ignoring case")
	require.Equal(t, "1", res.Header.Get("X-Total-Count"))
	require.Equal(t, `</auth/v1/admin/users?page=1&per_page=1&filter=USER3>; rel="last"`, res.Header.Get("Link"))
	_, got = list("?filter=" + urlQueryEscape("%"))
	require.Empty(t, got, "LIKE wildcards in the filter are literal")
	_, got = list("?sort=" + urlQueryEscape("created_at asc") + "&per_page=1")
	require.Equal(t, []string{emails[0]}, got)

	for _, bad := range []string{"?page=x", "?per_page=0", "?sort=email"} {
		status, body := e.admin(t, "GET", "/auth/v1/admin/users"+bad, nil)
		requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	}
}

func TestAdminGetAndUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "edited")
	uid := e.createUser(t, email)
	before := e.signIn(t, email)

	status, body := e.admin(t, "GET", "/auth/v1/admin/users/"+uid, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, email, body["email"])
	status, body = e.admin(t, "GET", "/auth/v1/admin/users/7b0ff2a8-8bd1-4b5e-9d7e-5a4d3b2c1f00", nil)
	requireError(t, status, body, http.StatusNotFound, "user_not_found")
	status, body = e.admin(t, "GET", "/auth/v1/admin/users/nope", nil)
	requireError(t, status, body, http.StatusNotFound, "validation_failed")

	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"password": "123"})
	requireError(t, status, body, http.StatusUnprocessableEntity, "weak_password")
	other := emailFor(t, "taken")
	e.createUser(t, other)
	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"email": other})
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")

	renamed := emailFor(t, "renamed")
	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{
		"email": renamed, "phone": "+15555550123", "phone_confirm": true, "password": "a-new-password",
		"user_metadata": map[string]any{"nickname": "ed"}, "app_metadata": map[string]any{"tier": "gold"},
	})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, renamed, body["email"])
	require.Equal(t, "15555550123", body["phone"])
	require.NotEmpty(t, body["phone_confirmed_at"])
	require.Equal(t, "gold", body["app_metadata"].(map[string]any)["tier"])
	require.Equal(t, "email", body["app_metadata"].(map[string]any)["provider"], "app_metadata is merged")
	require.Len(t, body["identities"], 2, "a phone identity is added")

	// The new password works, and every session ended.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": renamed, "password": "a-new-password"}, "")
	sessionOf(t, status, body)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, before.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")

	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"user_metadata": map[string]any{"nickname": nil, "x": 1}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{"x": float64(1)}, body["user_metadata"], "a null removes its key")
	require.Equal(t, 2, e.eventsOf(t, uid, "admin_user_updated"), "one per successful update")
}

func TestAdminBan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "banned")
	uid := e.createUser(t, email)
	s := e.signIn(t, email)

	status, body := e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"ban_duration": "24h"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	until, err := time.Parse(time.RFC3339Nano, body["banned_until"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, e.clock.Now().Add(24*time.Hour), until, time.Second)
	require.Equal(t, 1, e.eventsOf(t, uid, "admin_user_banned"))

	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "user_banned")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	requireError(t, status, body, http.StatusBadRequest, "user_banned")

	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"ban_duration": "bad"})
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"ban_duration": "none"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Nil(t, body["banned_until"])
	require.Equal(t, 1, e.eventsOf(t, uid, "admin_user_unbanned"))
	e.signIn(t, email)

	// A ban runs out by itself.
	status, body = e.admin(t, "PUT", "/auth/v1/admin/users/"+uid, map[string]any{"ban_duration": "1m"})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	e.clock.Advance(2 * time.Minute)
	e.signIn(t, email)
}

func TestAdminDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hard := emailFor(t, "hard")
	hardID := e.createUser(t, hard)
	status, body := e.admin(t, "DELETE", "/auth/v1/admin/users/"+hardID, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{}, body)
	status, body = e.admin(t, "GET", "/auth/v1/admin/users/"+hardID, nil)
	requireError(t, status, body, http.StatusNotFound, "user_not_found")
	require.Equal(t, 1, e.eventsOf(t, hardID, "admin_user_deleted"), "the event outlives the user")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": hard, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")

	soft := emailFor(t, "soft")
	softID := e.createUser(t, soft)
	s := e.signIn(t, soft)
	status, body = e.admin(t, "DELETE", "/auth/v1/admin/users/"+softID, map[string]any{"should_soft_delete": true})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.admin(t, "GET", "/auth/v1/admin/users/"+softID, nil)
	require.Equal(t, http.StatusOK, status, "the row stays for the app's references")
	require.NotEmpty(t, body["deleted_at"])
	require.Equal(t, "", body["email"])
	require.Empty(t, body["identities"])
	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")
	// The address is free again.
	e.createUser(t, soft)
	// Deleting again changes nothing.
	status, _ = e.admin(t, "DELETE", "/auth/v1/admin/users/"+softID, map[string]any{"should_soft_delete": true})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 1, e.eventsOf(t, softID, "admin_user_deleted"))
}

func TestAdminFactors(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t)
	email := emailFor(t, "device-lost")
	upgraded, f := e.mfaUser(t, email)
	uid := userID(t, upgraded.AccessToken)

	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/admin/users/" + uid + "/factors", Key: e.ServiceRoleKey()})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var factors []map[string]any
	res.JSON(t, &factors)
	require.Len(t, factors, 1)
	require.Equal(t, f.ID, factors[0]["id"])
	require.Equal(t, "verified", factors[0]["status"])
	require.NotContains(t, factors[0], "secret")

	status, body := e.admin(t, "DELETE", "/auth/v1/admin/users/"+uid+"/factors/7b0ff2a8-8bd1-4b5e-9d7e-5a4d3b2c1f00", nil)
	requireError(t, status, body, http.StatusNotFound, "mfa_factor_not_found")
	status, body = e.admin(t, "DELETE", "/auth/v1/admin/users/"+uid+"/factors/"+f.ID, nil)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, f.ID, body["id"])
	require.Equal(t, "totp", body["factor_type"])
	require.Equal(t, 1, e.eventsOf(t, uid, "admin_factor_deleted"))

	// The session the factor raised is back at aal1.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": upgraded.RefreshToken}, "")
	require.Equal(t, "aal1", claimsOf(t, sessionOf(t, status, body).AccessToken)["aal"])
}
