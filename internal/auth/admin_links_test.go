package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// generateLink calls POST /admin/generate_link.
func (e *env) generateLink(t *testing.T, params map[string]any) (int, map[string]any) {
	t.Helper()
	return e.admin(t, "POST", "/auth/v1/admin/generate_link", params)
}

// followAction opens a generated action_link on the test server.
func (e *env) followAction(t *testing.T, link string) *url.URL {
	t.Helper()
	require.True(t, strings.HasPrefix(link, externalURL+"/auth/v1/verify?"), link)
	return e.follow(t, strings.TrimPrefix(link, externalURL))
}

func TestGenerateSignupLinkWorksWithVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "signup")
	status, body := e.generateLink(t, map[string]any{"type": "signup", "email": email})
	requireError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
	status, body = e.generateLink(t, map[string]any{"type": "signup", "email": email, "password": "123"})
	requireError(t, status, body, http.StatusUnprocessableEntity, "weak_password")

	status, body = e.generateLink(t, map[string]any{
		"type": "signup", "email": email, "password": password, "data": map[string]any{"team": "blue"},
		"redirectTo": "http://localhost:3000/welcome",
	})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, email, body["email"], "the user's fields are flattened into the answer")
	require.Equal(t, map[string]any{"team": "blue"}, body["user_metadata"])
	require.NotEmpty(t, body["confirmation_sent_at"])
	require.Equal(t, "signup", body["verification_type"])
	require.Equal(t, "http://localhost:3000/welcome", body["redirect_to"])
	require.Regexp(t, `^\d{6}$`, body["email_otp"])
	require.Regexp(t, `^[0-9a-f]{56}$`, body["hashed_token"])
	link, err := url.Parse(body["action_link"].(string))
	require.NoError(t, err)
	require.Equal(t, body["hashed_token"], link.Query().Get("token"))
	require.Equal(t, "signup", link.Query().Get("type"))
	require.Empty(t, e.smtp.Messages(), "generate_link sends nothing")

	status, verified := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "token_hash": body["hashed_token"]}, "")
	s := sessionOf(t, status, verified)
	require.NotEmpty(t, s.User["email_confirmed_at"])
	e.signIn(t, email)

	status, body = e.generateLink(t, map[string]any{"type": "signup", "email": email, "password": password})
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")
}

func TestGenerateMagicLinkAndRecoveryLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "known")
	e.createUser(t, email)

	status, body := e.generateLink(t, map[string]any{"type": "magiclink", "email": email})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "magiclink", body["verification_type"])
	loc := e.followAction(t, body["action_link"].(string))
	fragment := parseFragment(t, loc.Fragment)
	require.NotEmpty(t, fragment.Get("access_token"))
	require.Equal(t, "magiclink", fragment.Get("type"))

	status, body = e.generateLink(t, map[string]any{"type": "recovery", "email": email})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["recovery_sent_at"])
	status, verified := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "recovery", "email": email, "token": body["email_otp"]}, "")
	sessionOf(t, status, verified)

	// A magic link for an unknown address becomes a sign-up link; recovery needs a user.
	stranger := emailFor(t, "stranger")
	status, body = e.generateLink(t, map[string]any{"type": "magiclink", "email": stranger})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "signup", body["verification_type"])
	require.Nil(t, body["email_confirmed_at"])
	loc = e.followAction(t, body["action_link"].(string))
	require.Equal(t, "signup", parseFragment(t, loc.Fragment).Get("type"))
	status, body = e.generateLink(t, map[string]any{"type": "recovery", "email": emailFor(t, "nobody")})
	requireError(t, status, body, http.StatusNotFound, "user_not_found")
	status, body = e.generateLink(t, map[string]any{"type": "email_change_new", "email": emailFor(t, "nobody"), "new_email": emailFor(t, "n2")})
	requireError(t, status, body, http.StatusNotFound, "user_not_found")
	status, body = e.generateLink(t, map[string]any{"type": "sms", "email": email})
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM goforward.audit_log WHERE action = 'auth.admin_link_generated'`))
}

func TestGenerateEmailChangeLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "old")
	e.createUser(t, email)
	taken := emailFor(t, "taken")
	e.createUser(t, taken)
	status, body := e.generateLink(t, map[string]any{"type": "email_change_new", "email": email, "new_email": taken})
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")

	newEmail := emailFor(t, "new")
	status, body = e.generateLink(t, map[string]any{"type": "email_change_new", "email": email, "new_email": newEmail})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, newEmail, body["new_email"])
	require.Equal(t, "email_change_new", body["verification_type"])
	require.Contains(t, body["action_link"], "type=email_change")
	status, verified := e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "email_change", "token_hash": body["hashed_token"]}, "")
	s := sessionOf(t, status, verified)
	require.Equal(t, newEmail, s.User["email"])
}

func TestGenerateInviteLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *auth.Config) { c.DisableSignup = true }))
	email := emailFor(t, "invited")
	status, body := e.generateLink(t, map[string]any{"type": "invite", "email": email, "data": map[string]any{"role": "viewer"}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["invited_at"])
	require.Equal(t, "invite", body["verification_type"])
	loc := e.followAction(t, body["action_link"].(string))
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "invite", fragment.Get("type"))
	require.Equal(t, email, claimsOf(t, fragment.Get("access_token"))["email"])
}

func TestInviteByEmailThroughRealSMTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "guest")
	status, body := e.admin(t, "POST", "/auth/v1/invite?redirect_to="+url.QueryEscape("http://localhost:3000/welcome"),
		map[string]any{"email": email, "data": map[string]any{"invited_by": "ops"}})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, email, body["email"])
	require.NotEmpty(t, body["invited_at"])
	require.Nil(t, body["email_confirmed_at"])
	require.Equal(t, map[string]any{"invited_by": "ops"}, body["user_metadata"])
	uid := body["id"].(string)
	require.Equal(t, 1, e.eventsOf(t, uid, "user_invited"))

	mail := e.smtp.WaitFor(t, email, 10*time.Second)
	require.Equal(t, "You have been invited", mail.Subject)
	loc := e.follow(t, e.linkIn(t, mail))
	require.Equal(t, "/welcome", loc.Path)
	fragment := parseFragment(t, loc.Fragment)
	require.Equal(t, "invite", fragment.Get("type"))
	token := fragment.Get("access_token")

	// The invited user picks a password and signs in with it.
	status, body = e.call(t, "PUT", "/auth/v1/user", map[string]any{"password": password}, token)
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.NotEmpty(t, body["email_confirmed_at"])
	e.signIn(t, email)

	status, body = e.admin(t, "POST", "/auth/v1/invite", map[string]any{"email": email})
	requireError(t, status, body, http.StatusUnprocessableEntity, "email_exists")
	status, body = e.admin(t, "POST", "/auth/v1/invite", map[string]any{"email": "nope"})
	requireError(t, status, body, http.StatusBadRequest, "validation_failed")
}

func TestInviteThatCannotBeSentLeavesNoUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := emailFor(t, "unsent")
	e.smtp.FailNext(1)
	status, body := e.admin(t, "POST", "/auth/v1/invite", map[string]any{"email": email})
	require.Equal(t, http.StatusInternalServerError, status, "body: %v", body)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users WHERE email = $1`, email))

	status, body = e.admin(t, "POST", "/auth/v1/invite", map[string]any{"email": email})
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "invite", "email": email, "token": code}, "")
	sessionOf(t, status, body)
}
