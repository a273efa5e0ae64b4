package goforward_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
)

// TestAuthHooks: the App's auth hook chains reach the auth service: a claim added by
// OnCustomAccessToken is in the signed token (and in what the gateway verifies), an
// OnBeforeUserCreated refusal is GoTrue's error, an OnPasswordVerificationAttempt handler
// locks an account out.
func TestAuthHooks(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs, func(c *goforward.Config) { c.Auth.MailerAutoconfirm = "true" })
	var (
		mu     sync.Mutex
		locked = map[string]bool{}
	)
	app.OnCustomAccessToken().BindFunc(func(e *goforward.AccessTokenEvent) error {
		e.Claims["user_role"] = "editor"
		return e.Next()
	})
	app.OnCustomAccessToken().BindFunc(func(e *goforward.AccessTokenEvent) error {
		e.Claims["method"] = e.AuthenticationMethod
		return e.Next()
	})
	app.OnBeforeUserCreated().BindFunc(func(e *goforward.UserCreateEvent) error {
		if strings.HasSuffix(e.Email, "@blocked.example") {
			return &goforward.AuthHookError{Status: http.StatusForbidden, Message: "Sign-ups from this domain are closed"}
		}
		if e.Email == "boom@example.com" {
			return errors.New("internal detail")
		}
		return e.Next()
	})
	app.OnPasswordVerificationAttempt().BindFunc(func(e *goforward.PasswordVerificationEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if !e.Valid {
			locked[e.UserID] = true
		}
		if locked[e.UserID] {
			e.Reject, e.Message = true, "Account locked by the application"
		}
		return e.Next()
	})
	r := start(t, app, logs)
	headers := map[string]string{"apikey": r.anonKey, "X-Supabase-Api-Version": "2024-01-01"}

	status, body, _ := call(t, "POST", r.url+"/auth/v1/signup", headers, `{"email":"eve@blocked.example","password":"a-long-password"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Equal(t, "Sign-ups from this domain are closed", body["message"])
	status, body, _ = call(t, "POST", r.url+"/auth/v1/signup", headers, `{"email":"boom@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusInternalServerError, status, body)
	require.Equal(t, "unexpected_failure", body["code"])
	require.NotContains(t, body["message"], "internal detail")

	status, session, _ := call(t, "POST", r.url+"/auth/v1/signup", headers, `{"email":"ada@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusOK, status, session)
	token := session["access_token"].(string)
	require.Equal(t, "editor", payload(t, token)["user_role"])
	require.Equal(t, "password", payload(t, token)["method"])
	p, err := app.VerifyToken(token)
	require.NoError(t, err)
	require.Equal(t, "editor", p.Claims["user_role"])

	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=password", headers, `{"email":"ada@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=password", headers, `{"email":"ada@example.com","password":"wrong-password"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=password", headers, `{"email":"ada@example.com","password":"a-long-password"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, map[string]any{"code": "invalid_credentials", "message": "Account locked by the application"}, body)
	require.NoError(t, r.stop())
}

// payload decodes a JWT's claims without verifying it.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}
