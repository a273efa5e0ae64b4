package auth_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
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

func TestOAuthImplicitSignInPutsTheSessionInTheFragment(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "bo")
	e.idp.SetUser(oidctest.User{Subject: "bo-1", Email: email, EmailVerified: true})

	loc, status := e.browse(t, authorizePath("acme", nil))
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, appURL, loc.Scheme+"://"+loc.Host+loc.Path)
	f := fragmentOf(t, loc)
	for _, k := range []string{"access_token", "refresh_token", "expires_in", "expires_at", "provider_token", "provider_refresh_token"} {
		require.NotEmpty(t, f.Get(k), "%s in %s", k, loc.Fragment)
	}
	require.Equal(t, "bearer", f.Get("token_type"))
	require.True(t, f.Has("sb"))

	s, body := e.call(t, "GET", "/auth/v1/user", nil, f.Get("access_token"))
	require.Equal(t, http.StatusOK, s, "body: %v", body)
	require.Equal(t, email, body["email"])
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.flow_state`), "an implicit flow is used up")
}

func TestOAuthLinksAVerifiedAddressToTheExistingAccount(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "cy")
	own := e.signUpConfirmed(t, email)
	e.idp.SetUser(oidctest.User{Subject: "cy-1", Email: email, EmailVerified: true, Name: "Cy"})

	loc, _ := e.browse(t, authorizePath("acme", nil))
	f := fragmentOf(t, loc)
	s, body := e.call(t, "GET", "/auth/v1/user", nil, f.Get("access_token"))
	require.Equal(t, http.StatusOK, s)
	require.Equal(t, own.User["id"], body["id"])
	require.Equal(t, []any{"email", "acme"}, body["app_metadata"].(map[string]any)["providers"])
	require.Len(t, body["identities"], 2)
	// The password still works: the address was confirmed, nothing was taken over.
	e.signIn(t, email)
}

func TestOAuthDoesNotLinkAnUnverifiedAddress(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "di")
	own := e.signUpConfirmed(t, email)
	e.idp.SetUser(oidctest.User{Subject: "di-1", Email: email, EmailVerified: false})

	loc, status := e.browse(t, authorizePath("acme", nil))
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.Equal(t, "provider_email_needs_verification", loc.Query().Get("error_code"))
	require.Equal(t, "provider_email_needs_verification", fragmentOf(t, loc).Get("error_code"))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.identities WHERE user_id = $1 AND provider = 'acme'`, own.User["id"]))
}

func TestOAuthTakesOverNoUnconfirmedPassword(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "eve")
	// Someone signs up with an address they do not own and sets its password.
	s, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, s, "body: %v", body)
	e.idp.SetUser(oidctest.User{Subject: "owner-1", Email: email, EmailVerified: true})

	loc, _ := e.browse(t, authorizePath("acme", nil))
	require.NotEmpty(t, fragmentOf(t, loc).Get("access_token"), "the owner is signed in: %s", loc)
	s, body = e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	requireError(t, s, body, http.StatusBadRequest, "invalid_credentials")
}

func TestSettingsListConfiguredProviders(t *testing.T) {
	e := newOAuthEnv(t, func(c *auth.Config, idp *oidctest.Provider) {
		c.External["github"] = auth.ExternalProvider{Enabled: true, ClientID: []string{"id"}, Secret: "s", URL: idp.URL}
	})
	s, body := e.call(t, "GET", "/auth/v1/settings", nil, "")
	require.Equal(t, http.StatusOK, s)
	external := body["external"].(map[string]any)
	require.Equal(t, true, external["acme"])
	require.Equal(t, true, external["github"])
	require.Equal(t, false, external["google"])
}
