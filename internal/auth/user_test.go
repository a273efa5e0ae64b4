package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

func TestUpdateUserMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.signUpConfirmed(t, emailFor(t, "meta"))
	status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"data": map[string]any{"name": "Ann", "age": 30}}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{"name": "Ann", "age": float64(30)}, body["user_metadata"])
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"data": map[string]any{"age": nil, "city": "Oslo"}}, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"name": "Ann", "city": "Oslo"}, body["user_metadata"], "null removes a key")

	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Oslo", body["user_metadata"].(map[string]any)["city"])
	status, body = e.call(t, "PUT", "/auth/v1/user", `{"data": [1]}`, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "bad_json")
}

func TestUpdatePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "pw")
	s := e.signUpConfirmed(t, email)
	other := e.signIn(t, email)

	status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "123"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "weak_password")
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": password}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "same_password")

	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "a-new-password"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)

	status, _ = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "the session that changed the password stays")
	status, body = e.call(t, "GET", "/auth/v1/user", nil, other.AccessToken)
	requireError(t, status, body, http.StatusForbidden, "session_not_found")

	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": "a-new-password"}, "")
	sessionOf(t, status, body)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.password_changed'`))
}

func TestSecureEmailChangeNeedsBothAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldEmail, newEmail := emailFor(t, "old"), emailFor(t, "new")
	s := e.signUpConfirmed(t, oldEmail)
	e.signUpConfirmed(t, emailFor(t, "taken"))

	status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"email": emailFor(t, "taken")}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")

	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"email": newEmail}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, oldEmail, body["email"], "not changed yet")
	require.Equal(t, newEmail, body["new_email"])
	require.NotEmpty(t, body["email_change_sent_at"])

	toOld := e.smtp.WaitFor(t, oldEmail, 10*time.Second)
	toNew := e.smtp.WaitFor(t, newEmail, 10*time.Second)
	require.Equal(t, "Confirm Email Change", toNew.Subject)
	require.NotEqual(t, codeIn(t, toOld), codeIn(t, toNew))

	// The first confirmation only records itself.
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email_change", "email": oldEmail, "token": codeIn(t, toOld)}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "Confirmation link accepted. Please proceed to confirm link sent to the other email", body["msg"])
	require.Equal(t, "200", body["code"])
	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, oldEmail, body["email"])

	// The second moves the address.
	loc := e.follow(t, e.linkIn(t, toNew))
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "email_change", fragment.Get("type"))
	status, body = e.call(t, "GET", "/auth/v1/user", nil, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, newEmail, body["email"])
	require.Nil(t, body["new_email"])
	require.Equal(t, newEmail, body["identities"].([]any)[0].(map[string]any)["identity_data"].(map[string]any)["email"])
	e.signIn(t, newEmail)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.email_changed'`))
}

func TestFirstHalfOfAnEmailChangeLinkRedirectsWithAMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldEmail, newEmail := emailFor(t, "old"), emailFor(t, "new")
	s := e.signUpConfirmed(t, oldEmail)
	status, _ := e.call(t, "PUT", "/auth/v1/user", map[string]any{"email": newEmail}, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	loc := e.follow(t, e.linkIn(t, e.smtp.WaitFor(t, oldEmail, 10*time.Second)))
	require.Equal(t, "Confirmation link accepted. Please proceed to confirm link sent to the other email", parseFragment(t, loc.Fragment).Get("message"))
}

func TestPhoneChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.signUpConfirmed(t, emailFor(t, "phone"))
	status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"phone": "+15550106000"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "15550106000", body["new_phone"])
	code := e.latestCode(t, "+15550106000")

	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "phone_change", "phone": "+15550106000", "token": code}, "")
	changed := sessionOf(t, status, body)
	require.Equal(t, "15550106000", changed.User["phone"])
	require.NotEmpty(t, changed.User["phone_confirmed_at"])
	require.Len(t, changed.User["identities"], 2, "a phone identity is added")

	other := e.signUpConfirmed(t, emailFor(t, "other"))
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"phone": "15550106000"}, other.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "phone_exists")
}

func TestPasswordChangeOfAnOldSessionNeedsANonce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.UpdatePasswordRequireReauthentication = true }))
	email := emailFor(t, "nonce")
	s := e.signUpConfirmed(t, email)

	// A fresh session may change its password without more ado.
	status, body := e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "second-password"}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)

	e.clock.Advance(25 * time.Hour)
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "third-password"}, s.AccessToken)
	requireError(t, status, body, http.StatusBadRequest, "reauthentication_needed")

	status, body = e.call(t, "GET", "/auth/v1/reauthenticate", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "Confirm reauthentication", mail.Subject)
	nonce := codeIn(t, mail)

	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "third-password", "nonce": "999999x"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "reauthentication_not_valid")
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "third-password", "nonce": nonce}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "fourth-password", "nonce": nonce}, s.AccessToken)
	requireError(t, status, body, http.StatusUnprocessableEntity, "reauthentication_not_valid")
}

func TestUpdateUserNeedsAnAAL2SessionWhenMFAIsOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.signUpConfirmed(t, emailFor(t, "mfa"))
	_, err := e.DB.Pool.Exec(t.Context(), `INSERT INTO auth.mfa_factors (id, user_id, friendly_name, factor_type, status, created_at, updated_at, secret)
		VALUES (gen_random_uuid(), $1, 'phone app', 'totp', 'verified', now(), now(), 'secret')`, s.User["id"])
	require.NoError(t, err)

	status, body := e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	factors := body["factors"].([]any)
	require.Len(t, factors, 1)
	require.Equal(t, "verified", factors[0].(map[string]any)["status"])
	require.Equal(t, "totp", factors[0].(map[string]any)["factor_type"])

	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "another-password"}, s.AccessToken)
	requireError(t, status, body, http.StatusUnauthorized, "insufficient_aal")
	status, _ = e.call(t, "PUT", "/auth/v1/user", map[string]any{"data": map[string]any{"ok": true}}, s.AccessToken)
	require.Equal(t, http.StatusOK, status, "metadata needs no aal2")
}
