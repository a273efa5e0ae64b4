package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth/oidctest"
)

// Each refusal of the redirect and state handling, as the browser sees it.

func TestOAuthRedirectToOutsideTheAllowListGoesToTheSiteURL(t *testing.T) {
	e := newOAuthEnv(t, nil)
	e.idp.SetUser(oidctest.User{Subject: "r-1", Email: emailFor(t, "r"), EmailVerified: true})
	for _, target := range []string{"https://evil.test/callback", "//evil.test/x", "javascript:alert(1)", "http://app.test.evil.test/x", "http://user@app.test/x"} {
		q := url.Values{"provider": {"acme"}, "redirect_to": {target}}
		loc, _ := e.browse(t, "/auth/v1/authorize?"+q.Encode())
		require.Equal(t, "localhost:3000", loc.Host, "redirect_to %q led to %s", target, loc)
	}
}

func TestOAuthAuthorizeKeepsTheParametersItControls(t *testing.T) {
	e := newOAuthEnv(t, nil)
	q := url.Values{"provider": {"acme"}, "redirect_uri": {"https://evil.test/steal"}, "state": {"chosen"},
		"client_id": {"other"}, "response_type": {"token"}, "response_mode": {"fragment"}, "prompt": {"consent"}, "scopes": {"groups"}}
	loc, status := redirectOf(t, "GET", e.URL+"/auth/v1/authorize?"+q.Encode())
	require.Equal(t, http.StatusFound, status)
	got := loc.Query()
	require.Equal(t, externalURL+"/auth/v1/callback", got.Get("redirect_uri"))
	require.Equal(t, oauthClientID, got.Get("client_id"))
	require.Equal(t, "code", got.Get("response_type"))
	require.Empty(t, got.Get("response_mode"))
	require.NotEqual(t, "chosen", got.Get("state"))
	require.Equal(t, "consent", got.Get("prompt"), "query_params pass through")
	require.Equal(t, "openid email profile groups", got.Get("scope"))
	require.NotEmpty(t, got.Get("nonce"))
}

func TestOAuthAuthorizeRefusesUnknownProviders(t *testing.T) {
	e := newOAuthEnv(t, nil)
	s, body := e.call(t, "GET", "/auth/v1/authorize?provider=nope", nil, "")
	requireError(t, s, body, http.StatusBadRequest, "validation_failed")
	s, body = e.call(t, "GET", "/auth/v1/authorize?provider=acme&code_challenge=short&code_challenge_method=s256", nil, "")
	requireError(t, s, body, http.StatusBadRequest, "validation_failed")
}

// requireStateError checks a callback refused before its flow is known: 303 to site_url with
// the error in the query.
func requireStateError(t *testing.T, e *oauthEnv, callback *url.URL, code string) {
	t.Helper()
	loc, status := e.browseFrom(t, step{method: "GET", url: callback.String()})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "localhost:3000", loc.Host)
	require.Equal(t, code, loc.Query().Get("error_code"), "redirect %s", loc)
}

func TestOAuthCallbackRefusesForgedStates(t *testing.T) {
	e := newOAuthEnv(t, nil)
	e.idp.SetUser(oidctest.User{Subject: "s-1", Email: emailFor(t, "s"), EmailVerified: true})
	cb := e.providerCallback(t, authorizePath("acme", nil))
	state := cb.Query().Get("state")
	id, mac, ok := strings.Cut(state, ".")
	require.True(t, ok, "state %q", state)

	with := func(state string) *url.URL {
		u := *cb
		q := u.Query()
		if state == "" {
			q.Del("state")
		} else {
			q.Set("state", state)
		}
		u.RawQuery = q.Encode()
		return &u
	}
	requireStateError(t, e, with(""), "bad_oauth_callback")
	requireStateError(t, e, with(id), "bad_oauth_state")                                   // GoTrue's bare flow id
	requireStateError(t, e, with(id+"."+strings.Repeat("A", len(mac))), "bad_oauth_state") // forged MAC
	other := e.providerCallback(t, authorizePath("acme", nil)).Query().Get("state")
	_, otherMAC, _ := strings.Cut(other, ".")
	requireStateError(t, e, with(id+"."+otherMAC), "bad_oauth_state") // another flow's MAC

	// The genuine state still works once, and only once.
	loc, _ := e.browseFrom(t, step{method: "GET", url: cb.String()})
	require.NotEmpty(t, fragmentOf(t, loc).Get("access_token"), "redirect %s", loc)
	requireStateError(t, e, cb, "bad_oauth_state")
}

func TestOAuthPKCECallbackIsUsedOnce(t *testing.T) {
	e := newOAuthEnv(t, nil)
	e.idp.SetUser(oidctest.User{Subject: "p-1", Email: emailFor(t, "p"), EmailVerified: true})
	verifier, challenge := pkcePair("q")
	cb := e.providerCallback(t, authorizePath("acme", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"s256"}}))
	loc, _ := e.browseFrom(t, step{method: "GET", url: cb.String()})
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)
	requireStateError(t, e, cb, "flow_state_already_used")

	// A wrong verifier uses the code up.
	s, body := e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier + "x"}, "")
	requireError(t, s, body, http.StatusBadRequest, "bad_code_verifier")
	s, body = e.call(t, "POST", "/auth/v1/token?grant_type=pkce", map[string]any{"auth_code": code, "code_verifier": verifier}, "")
	requireError(t, s, body, http.StatusNotFound, "flow_state_not_found")
}

func TestOAuthStateExpires(t *testing.T) {
	e := newOAuthEnv(t, nil)
	e.idp.SetUser(oidctest.User{Subject: "x-1", Email: emailFor(t, "x"), EmailVerified: true})
	cb := e.providerCallback(t, authorizePath("acme", nil))
	e.clock.Advance(5*time.Minute + time.Second)
	requireStateError(t, e, cb, "bad_oauth_state")
}

func TestOAuthCallbackChecksTheNonce(t *testing.T) {
	e := newOAuthEnv(t, nil)
	e.idp.SetUser(oidctest.User{Subject: "n-1", Email: emailFor(t, "n"), EmailVerified: true})
	cb := e.providerCallback(t, authorizePath("acme", nil))
	// The id_token carries the nonce sent; a flow expecting another must refuse it.
	_, err := e.DB.Pool.Exec(t.Context(), `UPDATE auth.flow_state SET oidc_nonce = 'another'`)
	require.NoError(t, err)
	loc, status := e.browseFrom(t, step{method: "GET", url: cb.String()})
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, "app.test", loc.Host)
	require.Equal(t, "server_error", loc.Query().Get("error"))
	require.Empty(t, fragmentOf(t, loc).Get("access_token"))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users`))
}

func TestOAuthProviderErrorsReachTheApp(t *testing.T) {
	e := newOAuthEnv(t, nil)
	cb := e.providerCallback(t, authorizePath("acme", nil))
	q := url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"The user said no"}}
	loc, status := e.browseFrom(t, step{method: "GET", url: e.URL + "/auth/v1/callback?" + q.Encode()})
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, "app.test", loc.Host)
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.Equal(t, "The user said no", fragmentOf(t, loc).Get("error_description"))
}
