package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth/oidctest"
)

func hashedNonce(n string) string {
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:])
}

// idTokenCall posts to grant_type=id_token and decodes the answer.
func (e *oauthEnv) idTokenCall(t *testing.T, body map[string]any, token string) (int, map[string]any) {
	t.Helper()
	return e.call(t, "POST", "/auth/v1/token?grant_type=id_token", body, token)
}

func TestIDTokenGrantSignsInWithANonce(t *testing.T) {
	e := newOAuthEnv(t, nil)
	email := emailFor(t, "ivy")
	u := oidctest.User{Subject: "ivy-1", Email: email, EmailVerified: true, Name: "Ivy"}
	raw, err := e.idp.IDToken(u, oauthClientID, hashedNonce("n0nce"), time.Hour)
	require.NoError(t, err)

	s, body := e.idTokenCall(t, map[string]any{"provider": "acme", "id_token": raw, "nonce": "wrong"}, "")
	require.Equal(t, http.StatusBadRequest, s)
	require.Equal(t, map[string]any{"error": "invalid nonce", "error_description": "Nonces mismatch"}, body)

	s, body = e.idTokenCall(t, map[string]any{"provider": "acme", "id_token": raw}, "")
	require.Equal(t, http.StatusBadRequest, s)
	require.Equal(t, "Passed nonce and nonce in id_token should either both exist or not.", body["error_description"])

	s, body = e.idTokenCall(t, map[string]any{"provider": "acme", "id_token": raw, "nonce": "n0nce"}, "")
	sess := sessionOf(t, s, body)
	require.Equal(t, email, sess.User["email"])
	require.Equal(t, "acme", sess.User["app_metadata"].(map[string]any)["provider"])

	// The issuer names the provider as well.
	s, body = e.idTokenCall(t, map[string]any{"issuer": e.idp.URL, "client_id": oauthClientID, "id_token": raw, "nonce": "n0nce"}, "")
	require.Equal(t, sess.User["id"], sessionOf(t, s, body).User["id"])
}

func TestIDTokenGrantRefusesBadTokens(t *testing.T) {
	e := newOAuthEnv(t, nil)
	u := oidctest.User{Subject: "j-1", Email: emailFor(t, "j"), EmailVerified: true}
	bad := func(raw, want string) {
		t.Helper()
		s, body := e.idTokenCall(t, map[string]any{"provider": "acme", "id_token": raw}, "")
		require.Equal(t, http.StatusBadRequest, s, "body %v", body)
		require.Equal(t, "invalid request", body["error"])
		require.Contains(t, body["error_description"], want)
	}
	otherAud, err := e.idp.IDToken(u, "someone-else", "", time.Hour)
	require.NoError(t, err)
	bad(otherAud, "Unacceptable audience")
	expired, err := e.idp.IDToken(u, oauthClientID, "", -time.Minute)
	require.NoError(t, err)
	bad(expired, "Bad ID token")
	forger := startIdP(t) // same claims, signed with another key
	forger.SetIssuer(e.idp.URL)
	forged, err := forger.IDToken(u, oauthClientID, "", time.Hour)
	require.NoError(t, err)
	bad(forged, "Bad ID token")
	bad("not.a.jwt", "Bad ID token")

	s, body := e.idTokenCall(t, map[string]any{"provider": "github", "id_token": otherAud}, "")
	requireError(t, s, body, http.StatusBadRequest, "provider_disabled")
	s, body = e.idTokenCall(t, map[string]any{"issuer": "https://elsewhere.test", "client_id": "x", "id_token": otherAud}, "")
	requireError(t, s, body, http.StatusBadRequest, "validation_failed")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users`))
}

func TestManualLinkingIsOffByDefault(t *testing.T) {
	e := newOAuthEnv(t, nil)
	sess := e.signUpConfirmed(t, emailFor(t, "k"))
	s, body := e.call(t, "GET", "/auth/v1/user/identities/authorize?provider=acme&skip_http_redirect=true", nil, sess.AccessToken)
	requireError(t, s, body, http.StatusNotFound, "manual_linking_disabled")
	s, body = e.call(t, "DELETE", "/auth/v1/user/identities/"+uuid.NewString(), nil, sess.AccessToken)
	requireError(t, s, body, http.StatusNotFound, "manual_linking_disabled")
	s, body = e.call(t, "GET", "/auth/v1/user/identities/authorize?provider=acme", nil, "")
	requireError(t, s, body, http.StatusForbidden, "bad_jwt") // the anon key names no user
}

func TestManualLinkingLinksAndUnlinks(t *testing.T) {
	e := newOAuthEnv(t, withManualLinking)
	email := emailFor(t, "lu")
	sess := e.signUpConfirmed(t, email)
	e.idp.SetUser(oidctest.User{Subject: "lu-gh", Email: "other-" + email, EmailVerified: true})

	s, body := e.call(t, "GET", "/auth/v1/user/identities/authorize?provider=acme&skip_http_redirect=true&redirect_to="+appURL, nil, sess.AccessToken)
	require.Equal(t, http.StatusOK, s, "body %v", body)
	link := body["url"].(string)
	loc, _ := e.browseFrom(t, step{method: "GET", url: link})
	require.NotEmpty(t, fragmentOf(t, loc).Get("access_token"), "redirect %s", loc)

	s, body = e.call(t, "GET", "/auth/v1/user", nil, sess.AccessToken)
	require.Equal(t, http.StatusOK, s)
	require.Equal(t, email, body["email"], "linking keeps the user's own address")
	ids := body["identities"].([]any)
	require.Len(t, ids, 2)
	var acmeID, emailID string
	for _, raw := range ids {
		id := raw.(map[string]any)
		if id["provider"] == "acme" {
			acmeID = id["identity_id"].(string)
		} else {
			emailID = id["identity_id"].(string)
		}
	}

	// The same identity cannot be linked twice, to anyone.
	other := e.signUpConfirmed(t, emailFor(t, "other"))
	s, body = e.call(t, "GET", "/auth/v1/user/identities/authorize?provider=acme&skip_http_redirect=true&redirect_to="+appURL, nil, other.AccessToken)
	require.Equal(t, http.StatusOK, s)
	loc, _ = e.browseFrom(t, step{method: "GET", url: body["url"].(string)})
	require.Equal(t, "identity_already_exists", loc.Query().Get("error_code"), "redirect %s", loc)

	s, body = e.call(t, "DELETE", "/auth/v1/user/identities/"+acmeID, nil, sess.AccessToken)
	require.Equal(t, http.StatusOK, s, "body %v", body)
	s, body = e.call(t, "GET", "/auth/v1/user", nil, sess.AccessToken)
	require.Equal(t, http.StatusOK, s)
	require.Len(t, body["identities"], 1)
	require.Equal(t, []any{"email"}, body["app_metadata"].(map[string]any)["providers"])

	s, body = e.call(t, "DELETE", "/auth/v1/user/identities/"+emailID, nil, sess.AccessToken)
	requireError(t, s, body, http.StatusUnprocessableEntity, "single_identity_not_deletable")
	s, body = e.call(t, "DELETE", "/auth/v1/user/identities/not-a-uuid", nil, sess.AccessToken)
	requireError(t, s, body, http.StatusNotFound, "validation_failed")
}
