package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

func TestMagicLinkRedirectsWithTheSessionInTheFragment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "magic")
	e.signUpConfirmed(t, email)

	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email, "create_user": true, "data": map[string]any{}}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{}, body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "Your Magic Link", mail.Subject)

	loc := e.follow(t, e.linkIn(t, mail))
	require.Equal(t, "localhost:3000", loc.Host, "no redirect_to: the site URL")
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "magiclink", fragment.Get("type"))
	status, body = e.call(t, "GET", "/auth/v1/user", nil, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, email, body["email"])
}

func TestEmailOTPSignsUpAndSignsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "otp")

	// An unknown address is signed up; its first code also confirms it.
	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email, "data": map[string]any{"plan": "free"}}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
	s := sessionOf(t, status, body)
	require.NotEmpty(t, s.User["email_confirmed_at"])
	require.Equal(t, "free", s.User["user_metadata"].(map[string]any)["plan"])
	require.Equal(t, "otp", claimsOf(t, s.AccessToken)["amr"].([]any)[0].(map[string]any)["method"])

	// Later sign-ins use the magic link code.
	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code = codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "magiclink", "email": email, "token": code}, "")
	require.Equal(t, s.User["id"], sessionOf(t, status, body).User["id"])

	// create_user: false does not sign up strangers.
	status, body = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": emailFor(t, "stranger"), "create_user": false}, "")
	requireError(t, status, body, http.StatusUnprocessableEntity, "otp_disabled")
}

func TestWrongCodesUseUpTheCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.OTPMaxAttempts = 3 }))
	email := emailFor(t, "guess")
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 3 {
		status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": wrong}, "")
		requireError(t, status, body, http.StatusForbidden, "otp_expired")
	}
	status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.otp_failed'`))

	// A new code works.
	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	code = codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": code}, "")
	sessionOf(t, status, body)
}

func TestExpiredCodesAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "late")
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	e.clock.Advance(auth.DefaultEmailOTPExpiry + time.Minute)

	status, body := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email", "email": email, "token": codeIn(t, mail)}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
	loc := e.follow(t, e.linkIn(t, mail))
	require.Equal(t, "otp_expired", parseFragment(t, loc.Fragment).Get("error_code"))
}

func TestSMSOTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": "+44 7700 900123", "channel": "sms"}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["message_id"])
	messages := e.inbox(t, "+447700900123")
	require.Len(t, messages, 1)
	require.Equal(t, "sms", messages[0]["channel"])
	require.Equal(t, body["message_id"], messages[0]["data"].(map[string]any)["message_id"])
	code := messages[0]["data"].(map[string]any)["token"].(string)
	require.Contains(t, messages[0]["text"], code)

	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "sms", "phone": "447700900123", "token": code}, "")
	s := sessionOf(t, status, body)
	require.Equal(t, "447700900123", s.User["phone"])
	require.NotEmpty(t, s.User["phone_confirmed_at"])

	// SMS codes live a minute.
	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": "+447700900123"}, "")
	require.Equal(t, http.StatusOK, status)
	code = e.latestCode(t, "+447700900123")
	e.clock.Advance(2 * time.Minute)
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "sms", "phone": "+447700900123", "token": code}, "")
	requireError(t, status, body, http.StatusForbidden, "otp_expired")
}

func TestMinimumGapBetweenMailsToOneAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.MaxFrequency = time.Minute }))
	email := emailFor(t, "gap")
	status, _ := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)

	e.clock.Advance(20 * time.Second)
	status, body := e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	requireError(t, status, body, http.StatusTooManyRequests, "over_email_send_rate_limit")
	require.Equal(t, "For security purposes, you can only request this after 40 seconds.", body["message"])

	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": "+15550104000"}, "")
	require.Equal(t, http.StatusOK, status)
	status, body = e.call(t, "POST", "/auth/v1/otp", map[string]any{"phone": "+15550104000"}, "")
	requireError(t, status, body, http.StatusTooManyRequests, "over_sms_send_rate_limit")

	e.clock.Advance(41 * time.Second)
	status, _ = e.call(t, "POST", "/auth/v1/otp", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
}

func TestMagicLinkEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "linked")
	e.signUpConfirmed(t, email)

	// A confirmed user gets a magic link that signs in; a phone in the body is ignored.
	status, body := e.call(t, "POST", "/auth/v1/magiclink", map[string]any{"email": email, "phone": "+15550107000"}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, map[string]any{}, body)
	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "Your Magic Link", mail.Subject)
	fragment := parseFragment(t, e.follow(t, e.linkIn(t, mail)).Fragment)
	require.Equal(t, "magiclink", fragment.Get("type"))
	status, body = e.call(t, "GET", "/auth/v1/user", nil, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, email, body["email"])

	// An unknown address is signed up and gets a confirmation that signs in just the same.
	stranger := emailFor(t, "newcomer")
	status, body = e.call(t, "POST", "/auth/v1/magiclink", map[string]any{"email": stranger}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	mail = e.smtp.WaitFor(t, stranger, 10*time.Second)
	require.Equal(t, "Confirm Your Signup", mail.Subject)
	fragment = parseFragment(t, e.follow(t, e.linkIn(t, mail)).Fragment)
	status, body = e.call(t, "GET", "/auth/v1/user", nil, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, stranger, body["email"])
	require.NotEmpty(t, body["email_confirmed_at"])

	// The endpoint is for e-mail only.
	status, body = e.call(t, "POST", "/auth/v1/magiclink", map[string]any{"phone": "+15550107000"}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Zero(t, e.count(t, `SELECT count(*) FROM auth.users WHERE coalesce(phone, '') <> ''`))
}
