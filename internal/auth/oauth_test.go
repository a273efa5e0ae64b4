package auth_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth/oidctest"
)

func TestOAuthPKCESignInCreatesTheUser(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "ann")
	e.idp.SetUser(oidctest.User{Subject: "ann-1", Email: email, EmailVerified: true, Name: "Ann Example"})
	verifier, challenge := pkcePair("k")

	loc, status := e.browse(t, authorizePath("acme", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"s256"}}))
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, "app.test", loc.Host)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, "redirect %s", loc)

	s, body := e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	sess := sessionOf(t, s, body)
	require.Equal(t, email, sess.User["email"])
	require.NotEmpty(t, sess.User["email_confirmed_at"])
	require.NotEmpty(t, body["provider_token"], "the provider's access token is handed over once")
	require.Equal(t, map[string]any{"provider": "acme", "providers": []any{"acme"}}, sess.User["app_metadata"])
	ids := sess.User["identities"].([]any)
	require.Len(t, ids, 1)
	id := ids[0].(map[string]any)
	require.Equal(t, "acme", id["provider"])
	require.Equal(t, "ann-1", id["id"])
	data := id["identity_data"].(map[string]any)
	require.Equal(t, "ann-1", data["sub"])
	require.Equal(t, e.idp.URL, data["iss"])
	require.Equal(t, "Ann Example", data["name"])
	require.Equal(t, true, data["email_verified"])
	require.Equal(t, "Ann Example", sess.User["user_metadata"].(map[string]any)["name"])

	s, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	requireError(t, s, body, http.StatusNotFound, "flow_state_not_found")
}
