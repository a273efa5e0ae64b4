package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// attackerPassword is what someone signing up with another person's address chooses.
const attackerPassword = "attacker-chose-this-1"

// preRegister signs up with email and the attacker's password, as anyone can, and takes the
// confirmation mail the owner receives out of the way.
func (e *env) preRegister(t *testing.T, email string) string {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": attackerPassword}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	e.smtp.WaitFor(t, email, 10*time.Second)
	return body["id"].(string)
}

// passwordSignIn answers a password sign-in.
func (e *env) passwordSignIn(t *testing.T, email, pw string) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": pw}, "")
}

// plantSession gives userID a session with a known refresh token, standing for one its
// attacker might hold, and returns that token.
func (e *env) plantSession(t *testing.T, userID string) string {
	t.Helper()
	const refresh = "planted-refresh-token"
	_, err := e.DB.Pool.Exec(t.Context(), `WITH s AS (
			INSERT INTO auth.sessions (id, user_id, created_at, updated_at, aal) VALUES (gen_random_uuid(), $1, now(), now(), 'aal1') RETURNING id),
		c AS (INSERT INTO auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
			SELECT gen_random_uuid(), id, now(), now(), 'password' FROM s)
		INSERT INTO auth.refresh_tokens (token, user_id, revoked, created_at, updated_at, session_id)
			SELECT encode(sha256(convert_to($2, 'UTF8')), 'hex'), $1, false, now(), now(), id FROM s`, userID, refresh)
	require.NoError(t, err)
	return refresh
}

func TestPreRegisteredPasswordDoesNotSurviveTheOwnersConfirmation(t *testing.T) {
	t.Parallel()
	// Each way the owner can prove the address without choosing a password.
	ways := map[string]func(t *testing.T, e *env, email string) session{
		"code by /otp": func(t *testing.T, e *env, email string) session {
			status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
			require.Equal(t, http.StatusOK, status)
			code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
			status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
			return sessionOf(t, status, body)
		},
		"magic link": func(t *testing.T, e *env, email string) session {
			status, _ := e.call(t, "POST", "/auth/v1/magiclink", map[string]any{"email": email}, "")
			require.Equal(t, http.StatusOK, status)
			loc := e.follow(t, e.linkIn(t, e.smtp.WaitFor(t, email, 10*time.Second)))
			fragment := parseFragment(t, loc.Fragment)
			require.NotEmpty(t, fragment.Get("access_token"), "fragment: %v", fragment)
			return session{AccessToken: fragment.Get("access_token"), RefreshToken: fragment.Get("refresh_token")}
		},
		"recovery": func(t *testing.T, e *env, email string) session {
			status, _ := e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
			require.Equal(t, http.StatusOK, status)
			code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
			status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "email": email, "token": code}, "")
			return sessionOf(t, status, body)
		},
		"invitation": func(t *testing.T, e *env, email string) session {
			status, body := e.admin(t, "POST", "/auth/v1/invite", map[string]any{"email": email})
			require.Equal(t, http.StatusOK, status, "body: %v", body)
			code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
			status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "invite", "email": email, "token": code}, "")
			return sessionOf(t, status, body)
		},
	}
	for name, confirm := range ways {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			email := emailFor(t, "owner")
			userID := e.preRegister(t, email)
			planted := e.plantSession(t, userID)

			owner := confirm(t, e, email)

			status, body := e.passwordSignIn(t, email, attackerPassword)
			requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
			status, body = e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": planted}, "")
			require.Equal(t, http.StatusBadRequest, status, "the planted session ended: %v", body)
			status, body = e.call(t, "GET", "/auth/v1/user", nil, owner.AccessToken)
			require.Equal(t, http.StatusOK, status, "body: %v", body)
			require.Equal(t, userID, body["id"])
			require.NotEmpty(t, body["email_confirmed_at"])
			require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.sessions WHERE user_id = $1`, userID), "only the owner's")
			require.Equal(t, 1, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.unverified_password_removed' AND resource_id = $1`, userID))

			// The owner sets a password of their own.
			status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "owners-own-password"}, owner.AccessToken)
			require.Equal(t, http.StatusOK, status, "body: %v", body)
			status, body = e.passwordSignIn(t, email, "owners-own-password")
			sessionOf(t, status, body)
		})
	}
}

func TestPreRegistrationAfterTheOwnersCodeRequestSetsNoPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "owner")

	// The owner asks for a code first, which creates the account without a password; the
	// attacker then signs up with the address.
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	e.smtp.WaitFor(t, email, 10*time.Second)
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": attackerPassword}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)

	// The owner enters the code of the newest mail, the one the attacker caused.
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
	sessionOf(t, status, body)
	status, body = e.passwordSignIn(t, email, attackerPassword)
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")

	// Nor does a sign-up once the owner has confirmed.
	status, _ = e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": attackerPassword}, "")
	require.Equal(t, http.StatusOK, status)
	status, body = e.passwordSignIn(t, email, attackerPassword)
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
}

func TestOwnersOwnSignUpAfterAPreRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "owner")
	e.preRegister(t, email)

	// The owner signs up too, with a password of their own, and confirms their own mail:
	// that confirmation does not stand behind the attacker's password.
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": code}, "")
	owner := sessionOf(t, status, body)
	status, body = e.passwordSignIn(t, email, attackerPassword)
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	status, body = e.passwordSignIn(t, email, password)
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": password}, owner.AccessToken)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	e.signIn(t, email)
}

func TestSignUpConfirmationKeepsItsPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Signing up twice with the same password, then confirming the second mail.
	email := emailFor(t, "twice")
	for range 2 {
		status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
		require.Equal(t, http.StatusOK, status, "body: %v", body)
	}
	e.smtp.WaitFor(t, email, 10*time.Second)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": code}, "")
	sessionOf(t, status, body)
	e.signIn(t, email)

	// Asking for the confirmation again with /resend.
	email = emailFor(t, "resend")
	status, body = e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	e.smtp.WaitFor(t, email, 10*time.Second)
	status, body = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "signup", "email": email}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	loc := e.follow(t, e.linkIn(t, e.smtp.WaitFor(t, email, 10*time.Second)))
	require.NotEmpty(t, parseFragment(t, loc.Fragment).Get("access_token"))
	e.signIn(t, email)

	// A password set by an administrator is not a sign-up's: confirming by magic link keeps it.
	email = emailFor(t, "admin")
	status, body = e.admin(t, "POST", "/auth/v1/admin/users", map[string]any{"email": email, "password": password})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code = codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
	sessionOf(t, status, body)
	e.signIn(t, email)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.unverified_password_removed'`))
}

func TestPreRegisteredPhonePasswordDoesNotSurviveAnSMSCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const phone = "+15550108000"
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": phone, "password": attackerPassword}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)

	status, body = e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": phone}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "sms", "phone": phone, "token": e.latestCode(t, phone)}, "")
	sessionOf(t, status, body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"phone": phone, "password": attackerPassword}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
}
