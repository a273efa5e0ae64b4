package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

func withHooks(h auth.Hooks) options {
	return options{deps: func(d *auth.Deps) { d.Hooks = h }}
}

// TestCustomAccessTokenHook: the hook's claims are in the tokens of sign-up, sign-in and
// refresh; a hook changing a protected claim or failing gets no token; a HookError is the
// client's answer.
func TestCustomAccessTokenHook(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	fail := ""
	e := newEnv(t, withHooks(auth.Hooks{CustomAccessToken: func(_ context.Context, in auth.AccessTokenInput) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		methods = append(methods, in.AuthenticationMethod)
		switch fail {
		case "role":
			in.Claims["role"] = "service_role"
		case "reject":
			return nil, &auth.HookError{Status: http.StatusForbidden, Message: "No tokens today"}
		case "error":
			return nil, errors.New("secret internal detail")
		}
		in.Claims["user_role"] = "editor"
		in.Claims["tenant"] = in.UserID[:8]
		delete(in.Claims, "phone")
		return in.Claims, nil
	}}))
	email := emailFor(t, "ada")
	s := e.signUpConfirmed(t, email)
	claims := claimsOf(t, s.AccessToken)
	require.Equal(t, "editor", claims["user_role"])
	require.Equal(t, s.User["id"].(string)[:8], claims["tenant"])
	require.NotContains(t, claims, "phone")
	require.Equal(t, "authenticated", claims["role"])

	s = e.signIn(t, email)
	require.Equal(t, "editor", claimsOf(t, s.AccessToken)["user_role"])
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=refresh_token", map[string]any{"refresh_token": s.RefreshToken}, "")
	refreshed := sessionOf(t, status, body)
	require.Equal(t, "editor", claimsOf(t, refreshed.AccessToken)["user_role"])
	mu.Lock()
	require.Equal(t, []string{"otp", "password", "password"}, methods)
	fail = "role"
	mu.Unlock()

	sessions := e.count(t, `SELECT count(*) FROM auth.sessions`)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusInternalServerError, "unexpected_failure")
	require.Equal(t, sessions, e.count(t, `SELECT count(*) FROM auth.sessions`), "no session for a hook changing the role")

	mu.Lock()
	fail = "reject"
	mu.Unlock()
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusForbidden, status, body)
	require.Equal(t, "No tokens today", body["message"])
	require.Equal(t, sessions, e.count(t, `SELECT count(*) FROM auth.sessions`), "a refused token leaves no session behind")

	mu.Lock()
	fail = "error"
	mu.Unlock()
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusInternalServerError, "unexpected_failure")
	require.NotContains(t, body["message"], "secret")
}

// TestBeforeUserCreatedHook: a refusal is GoTrue's error with the hook's message and no user
// is created; other sign-ups go through with the hook seeing the new user.
func TestBeforeUserCreatedHook(t *testing.T) {
	var seen []auth.NewUserInput
	var mu sync.Mutex
	hooks := withHooks(auth.Hooks{BeforeUserCreated: func(_ context.Context, in auth.NewUserInput) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, in)
		if strings.HasSuffix(in.Email, "@blocked.example") {
			return &auth.HookError{Status: http.StatusForbidden, Message: "Sign-ups from this domain are closed"}
		}
		return nil
	}})
	e := newEnv(t, options{deps: hooks.deps, cfg: func(c *auth.Config) { c.AnonymousUsers = true }})

	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": "eve@blocked.example", "password": password}, "")
	require.Equal(t, http.StatusForbidden, status, body)
	require.Equal(t, "Sign-ups from this domain are closed", body["message"])
	res := e.Do(t, requestLegacy("POST", "/auth/v1/otp", map[string]any{"email": "mallory@blocked.example"}))
	require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
	var legacy map[string]any
	res.JSON(t, &legacy)
	require.Equal(t, map[string]any{"code": float64(403), "error_code": "unknown", "msg": "Sign-ups from this domain are closed"}, legacy)
	require.Zero(t, e.count(t, `SELECT count(*) FROM auth.users`))

	email := emailFor(t, "ok")
	status, body = e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password, "data": map[string]any{"plan": "pro"}}, "")
	require.Equal(t, http.StatusOK, status, body)
	status, body = e.call(t, "POST", "/auth/v1/signup", map[string]any{}, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, 2, e.count(t, `SELECT count(*) FROM auth.users`))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 4)
	require.Equal(t, auth.NewUserInput{Email: email, Provider: "email", UserMetadata: map[string]any{"plan": "pro"}}, seen[2])
	require.True(t, seen[3].IsAnonymous)
}

// TestPasswordVerificationHook: the hook sees every attempt on an existing account and can
// refuse even the right password, signing the user out everywhere if it asks.
func TestPasswordVerificationHook(t *testing.T) {
	var mu sync.Mutex
	var attempts []auth.PasswordAttempt
	reject := false
	e := newEnv(t, withHooks(auth.Hooks{PasswordVerificationAttempt: func(_ context.Context, in auth.PasswordAttempt) (auth.PasswordDecision, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, in)
		return auth.PasswordDecision{Reject: reject, SignOut: reject}, nil
	}}))
	email := emailFor(t, "ada")
	s := e.signUpConfirmed(t, email)
	userID := s.User["id"].(string)

	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": "wrong-password"}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	e.signIn(t, email)
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": "nobody@example.com", "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	require.NotZero(t, e.count(t, `SELECT count(*) FROM auth.sessions WHERE user_id = $1`, userID))

	mu.Lock()
	require.Equal(t, []auth.PasswordAttempt{{UserID: userID, Valid: false}, {UserID: userID, Valid: true}}, attempts)
	reject = true
	mu.Unlock()
	status, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, status, body, http.StatusBadRequest, "invalid_credentials")
	require.Equal(t, "Further password verification attempts will be rejected.", body["message"])
	require.Zero(t, e.count(t, `SELECT count(*) FROM auth.sessions WHERE user_id = $1`, userID), "the hook asked to sign the user out")
}
