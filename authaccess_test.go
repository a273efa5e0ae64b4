package goforward_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
)

// A user created from Go signs in through /auth/v1 with its password, and its access token
// verifies as that user.
func TestAuthCreateUser(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	_, err := app.Auth().CreateUser(context.Background(), goforward.NewUser{Email: "early@example.com"})
	require.ErrorContains(t, err, "not running")
	r := start(t, app, logs)

	u, err := app.Auth().CreateUser(context.Background(), goforward.NewUser{
		Email: "Ada@Example.com", Password: "correct horse battery", EmailConfirm: true,
		UserMetadata: map[string]any{"plan": "pro"}, AppMetadata: map[string]any{"tenant": "acme"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	require.Equal(t, "ada@example.com", u.Email)
	require.Equal(t, "authenticated", u.Role)
	require.Equal(t, "pro", u.UserMetadata["plan"])
	require.Equal(t, "acme", u.AppMetadata["tenant"])

	status, body, _ := call(t, http.MethodPost, r.url+"/auth/v1/token?grant_type=password",
		map[string]string{"apikey": r.anonKey, "Content-Type": "application/json"},
		`{"email":"ada@example.com","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)
	p, err := app.Auth().VerifyToken(body["access_token"].(string))
	require.NoError(t, err)
	require.Equal(t, u.ID, p.UserID)
	require.Equal(t, "acme", p.Claims["app_metadata"].(map[string]any)["tenant"])

	_, err = app.Auth().CreateUser(context.Background(), goforward.NewUser{Email: "ada@example.com"})
	require.ErrorContains(t, err, "already been registered")
	_, err = app.Auth().CreateUser(context.Background(), goforward.NewUser{})
	require.ErrorContains(t, err, "without either an email or phone")
}
