package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRecoverSignsInWithALinkToSetANewPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "forgot")
	e.signUpConfirmed(t, email)

	status, body := e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": emailFor(t, "nobody")}, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{}, body, "unknown addresses get the same answer")

	status, body = e.call(t, "POST", "/auth/v1/recover", map[string]any{"email": email}, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{}, body)
	loc := e.follow(t, e.linkIn(t, e.smtp.WaitFor(t, email, 10*time.Second)))
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "recovery", fragment.Get("type"))

	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": "brand-new-password"}, fragment.Get("access_token"))
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": "brand-new-password"}, "")
	sessionOf(t, status, body)
	require.Len(t, e.smtp.Messages(), 2, "no mail went to the unknown address")

	status, body = e.call(t, "POST", "/auth/v1/recover", map[string]any{}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
}

func TestResend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "again")
	status, _ := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status)
	first := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))

	status, body := e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "signup", "email": email}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	second := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	if first != second {
		status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": first}, "")
		requireError(t, status, body, http.StatusForbidden, "otp_expired")
	}
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": second}, "")
	sessionOf(t, status, body)

	// Nothing is pending any more: the same empty answer, and no mail.
	status, body = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "signup", "email": email}, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{}, body)
	require.Len(t, e.smtp.Messages(), 2)

	status, body = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "recovery", "email": email}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	status, body = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "sms", "email": email}, "")
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
}

func TestResendPhoneAndEmailChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, _ := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": "+15550107000", "password": password}, "")
	require.Equal(t, http.StatusOK, status)
	status, body := e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "sms", "phone": "+15550107000"}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["message_id"])
	require.Len(t, e.inbox(t, "+15550107000"), 2)

	email, newEmail := emailFor(t, "old"), emailFor(t, "new")
	s := e.signUpConfirmed(t, email)
	status, _ = e.call(t, "PUT", "/auth/v1/user", map[string]any{"email": newEmail}, s.AccessToken)
	require.Equal(t, http.StatusOK, status)
	status, _ = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "email_change", "email": email}, "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, e.inbox(t, newEmail), 2, "the new address got its link again")
	status, _ = e.call(t, "POST", "/auth/v1/resend", map[string]any{"type": "email_change", "email": newEmail}, "")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, e.inbox(t, newEmail), 3, "naming the new address works too")
}

func TestPhoneUserMustConfirmBeforePasswordSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, _ := e.call(t, "POST", "/auth/v1/signup", map[string]any{"phone": "+15550108000", "password": password}, "")
	require.Equal(t, http.StatusOK, status)
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"phone": "+15550108000", "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "phone_not_confirmed")
}
