package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

func TestSignupWithAutoconfirmReturnsASession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MailerAutoconfirm = true }))
	email := emailFor(t, "ann")
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{
		"email": strings.ToUpper(email), "password": password, "data": map[string]any{"name": "Ann"},
		"gotrue_meta_security": map[string]any{}, "code_challenge": nil,
	}, "")
	s := sessionOf(t, status, body)
	require.Equal(t, email, s.User["email"], "addresses are stored lower-cased")
	require.Equal(t, "", s.User["phone"])
	require.Equal(t, "authenticated", s.User["role"])
	require.Equal(t, false, s.User["is_anonymous"])
	require.NotEmpty(t, s.User["email_confirmed_at"])
	require.Equal(t, map[string]any{"name": "Ann"}, s.User["user_metadata"])
	require.Equal(t, map[string]any{"provider": "email", "providers": []any{"email"}}, s.User["app_metadata"])
	identities := s.User["identities"].([]any)
	require.Len(t, identities, 1)
	id := identities[0].(map[string]any)
	require.Equal(t, s.User["id"], id["id"], "an email identity's provider id is the user id")
	require.NotEqual(t, id["id"], id["identity_id"])
	require.Equal(t, "email", id["provider"])
	require.Equal(t, true, id["identity_data"].(map[string]any)["email_verified"])
	require.Empty(t, e.smtp.Messages(), "no confirmation mail with autoconfirm")

	// The session works.
	status, body = e.call(t, "GET", "/auth/v1/user", nil, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, s.User["id"], body["id"])

	// Signing up again with autoconfirm on says so plainly.
	status, body = e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "user_already_exists")
}

func TestSignupConfirmationFlowWithTheCodeFromTheMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "bob")
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Nil(t, body["access_token"], "no session before confirmation")
	require.Equal(t, email, body["email"], "the bare user is returned")
	require.NotEmpty(t, body["confirmation_sent_at"])
	require.Nil(t, body["email_confirmed_at"])

	// Signing in before confirming is refused.
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "email_not_confirmed")

	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "Confirm Your Signup", mail.Subject)
	code := codeIn(t, mail)
	require.Len(t, code, 6)

	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": code}, "")
	s := sessionOf(t, status, body)
	require.NotEmpty(t, s.User["email_confirmed_at"])
	require.NotEmpty(t, s.User["confirmed_at"])

	// The code works once.
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": code}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")

	e.signIn(t, email)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.one_time_tokens`), "used tokens are gone")
}

func TestSignupConfirmationLinkRedirectsWithTheSessionInTheFragment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.URIAllowList = []string{"http://app.example.com/**"} }))
	email := emailFor(t, "link")
	status, _ := e.call(t, "POST", "/auth/v1/signup?redirect_to="+"http%3A%2F%2Fapp.example.com%2Fwelcome%3Fx%3D1",
		map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status)
	link := e.linkIn(t, e.smtp.WaitFor(t, email, 10*time.Second))

	loc := e.follow(t, link)
	require.Equal(t, "app.example.com", loc.Host)
	require.Equal(t, "/welcome", loc.Path)
	require.Equal(t, "x=1", loc.RawQuery, "the app's own query survives")
	fragment := parseFragment(t, loc.Fragment)
	require.NotEmpty(t, fragment.Get("access_token"))
	require.NotEmpty(t, fragment.Get("refresh_token"))
	require.Equal(t, "bearer", fragment.Get("token_type"))
	require.Equal(t, "3600", fragment.Get("expires_in"))
	require.NotEmpty(t, fragment.Get("expires_at"))
	require.Equal(t, "signup", fragment.Get("type"))

	status, body := e.call(t, "GET", "/auth/v1/user", nil, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, body["email_confirmed_at"])

	// Opening the link again redirects with the error in the fragment.
	loc = e.follow(t, link)
	require.Empty(t, loc.RawQuery, "the error redirect drops the query")
	fragment = parseFragment(t, loc.Fragment)
	require.Equal(t, "access_denied", fragment.Get("error"))
	require.Equal(t, "otp_expired", fragment.Get("error_code"))
	require.Equal(t, "Email link is invalid or has expired", fragment.Get("error_description"))
}

func TestSignupOfAConfirmedAddressReturnsAFakeUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "taken")
	real := e.signUpConfirmed(t, email)

	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{
		"email": email, "password": "another-password", "data": map[string]any{"x": 1},
	}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEqual(t, real.User["id"], body["id"], "a made-up id")
	require.Empty(t, body["identities"], "identities is empty: how apps detect an existing account")
	require.Nil(t, body["access_token"])
	require.Equal(t, email, body["email"])
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.users`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.audit_log_entries WHERE payload->>'action' = 'user_repeated_signup'`))

	// The real password still works, the other one does not.
	e.signIn(t, email)
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) {
		c.PasswordMinLength = 8
		c.PasswordRequiredCharacters = []string{auth.CharsDigits, auth.CharsUpper}
	}))
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", `{"email":`, http.StatusBadRequest, "bad_json"},
		{"wrong type", `{"email": 42}`, http.StatusBadRequest, "bad_json"},
		{"both email and phone", map[string]any{"email": "a@example.com", "phone": "+15551234567", "password": "Password1"}, http.StatusBadRequest, "validation_failed"},
		{"no password", map[string]any{"email": "a@example.com"}, http.StatusUnprocessableEntity, "validation_failed"},
		{"invalid email", map[string]any{"email": "not-an-address", "password": "Password1"}, http.StatusBadRequest, "validation_failed"},
		{"overlong email", map[string]any{"email": strings.Repeat("a", 250) + "@example.com", "password": "Password1"}, http.StatusBadRequest, "validation_failed"},
		{"invalid phone", map[string]any{"phone": "12ab", "password": "Password1"}, http.StatusBadRequest, "validation_failed"},
		{"password over 72 bytes", map[string]any{"email": "a@example.com", "password": strings.Repeat("Aa1", 25)}, http.StatusUnprocessableEntity, "validation_failed"},
		{"bad PKCE method", map[string]any{"email": "a@example.com", "password": "Password1", "code_challenge": strings.Repeat("c", 43), "code_challenge_method": "md5"}, http.StatusBadRequest, "validation_failed"},
		{"anonymous while disabled", map[string]any{"data": map[string]any{}}, http.StatusUnprocessableEntity, "anonymous_provider_disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.call(t, "POST", "/auth/v1/signup", tc.body, "")
			requireError(t, status, body, tc.status, tc.code)
		})
	}
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users`), "nothing was written")
}

func TestSignupWeakPasswordCarriesReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) {
		c.PasswordMinLength = 10
		c.PasswordRequiredCharacters = []string{auth.CharsDigits}
	}))
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": emailFor(t, "weak"), "password": "short"}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "weak_password")
	require.Equal(t, []any{"length", "characters"}, body["weak_password"].(map[string]any)["reasons"])
	require.Contains(t, body["message"], "at least 10 characters")
}

func TestSignupDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.DisableSignup = true }))
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": emailFor(t, "x"), "password": password}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "signup_disabled")
	status, body = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, "y")}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "signup_disabled")
}

func TestAnonymousSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.AnonymousUsers = true }))
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"data": map[string]any{"theme": "dark"}}, "")
	s := sessionOf(t, status, body)
	require.Equal(t, true, s.User["is_anonymous"])
	require.Equal(t, "", s.User["email"])
	require.Empty(t, s.User["identities"])
	claims := claimsOf(t, s.AccessToken)
	require.Equal(t, true, claims["is_anonymous"])
	require.Equal(t, "authenticated", claims["role"])
	require.Equal(t, "anonymous", claims["amr"].([]any)[0].(map[string]any)["method"])
}

func TestSignupTriggerFailureIsDatabaseErrorSavingNewUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MailerAutoconfirm = true }))
	ctx := context.Background()
	_, err := e.DB.Pool.Exec(ctx, `
		CREATE TABLE public.profiles (id uuid PRIMARY KEY, email text NOT NULL CHECK (email NOT LIKE 'blocked%'));
		CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
		BEGIN
			INSERT INTO public.profiles (id, email) VALUES (NEW.id, NEW.email);
			RETURN NEW;
		END $$;
		CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
			FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();`)
	require.NoError(t, err)

	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": emailFor(t, "ok"), "password": password}, "")
	sessionOf(t, status, body)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM public.profiles`), "the app's trigger ran")

	res := e.Do(t, requestLegacy("POST", "/auth/v1/signup", map[string]any{"email": "blocked-" + emailFor(t, "no"), "password": password}))
	require.Equal(t, http.StatusInternalServerError, res.Status)
	var legacy map[string]any
	res.JSON(t, &legacy)
	require.Equal(t, "Database error saving new user", legacy["msg"])
	require.Equal(t, "unexpected_failure", legacy["error_code"])
	require.NotEmpty(t, legacy["error_id"], "5xx carry the request id")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.users`), "the failed user was not kept")
}

func TestSignupWhoseMailFailsKeepsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "mailfail")
	e.smtp.FailNext(1)
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusInternalServerError, status, "body: %v", body)
	require.Equal(t, "unexpected_failure", body["code"])
	require.Equal(t, "Error sending confirmation email", body["message"])
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users`), "the user is rolled back with the failed mail")
	require.Empty(t, e.inbox(t, email), "a mail that was not sent is not in the inbox")

	// Trying again works and leads to a confirmable account.
	e.signUpConfirmed(t, email)
}

func TestPhoneSignupConfirmedWithTheCodeFromTheDevInbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": "+1 (555) 010-2000", "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "15550102000", body["phone"], "stored as GoTrue stores numbers")
	code := e.latestCode(t, "+15550102000")

	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "sms", "phone": "15550102000", "token": "000000"}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "sms", "phone": "+15550102000", "token": code}, "")
	s := sessionOf(t, status, body)
	require.NotEmpty(t, s.User["phone_confirmed_at"])

	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"phone": "+15550102000", "password": password}, "")
	sessionOf(t, status, body)
}
