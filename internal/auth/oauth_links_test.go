package auth_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
)

// GoTrue writes e-mail links as token, type, redirect_to, escaping redirect_to only where
// it must; auth-js's suite compares the action_link as a string.
func TestVerificationLinksFollowGoTruesOrder(t *testing.T) {
	e := newEnv(t, withConfig(func(c *auth.Config) { c.URIAllowList = []string{"http://app.test/**"} }))
	email := emailFor(t, "link")
	e.createUser(t, email)
	for _, tc := range []struct{ redirect, written string }{
		{"http://app.test/welcome", "http://app.test/welcome"},
		{"http://app.test/welcome?next=/home&x=1", url.QueryEscape("http://app.test/welcome?next=/home&x=1")},
	} {
		status, body := e.generateLink(t, map[string]any{"type": "magiclink", "email": email, "redirect_to": tc.redirect})
		require.Equal(t, http.StatusOK, status, "body: %v", body)
		want := externalURL + "/auth/v1/verify?token=" + body["hashed_token"].(string) + "&type=magiclink&redirect_to=" + tc.written
		require.Equal(t, want, body["action_link"])
		link, err := url.Parse(body["action_link"].(string))
		require.NoError(t, err)
		require.Equal(t, tc.redirect, link.Query().Get("redirect_to"))
	}

	// The mailed {{ .ConfirmationURL }} is the same link.
	status, body := e.call(t, "POST", "/auth/v1/otp?redirect_to="+url.QueryEscape("http://app.test/in"), map[string]any{"email": "mail-" + email}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	link := e.linkIn(t, e.smtp.WaitFor(t, "mail-"+email, 10*time.Second))
	require.Regexp(t, `^/auth/v1/verify\?token=[0-9a-f]{56}&type=(signup|magiclink)&redirect_to=http://app.test/in$`, link)
}

// Features Go Forward does not serve answer as GoTrue does when they are turned off.
func TestDisabledFeaturesAnswerGoTruesErrors(t *testing.T) {
	e := newEnv(t)
	user := e.signUpConfirmed(t, emailFor(t, "u"))
	for _, tc := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"POST", "/auth/v1/sso", "", http.StatusNotFound, "saml_provider_disabled"},
		{"GET", "/auth/v1/sso/saml/metadata", "", http.StatusNotFound, "saml_provider_disabled"},
		{"POST", "/auth/v1/sso/saml/acs", "", http.StatusNotFound, "saml_provider_disabled"},
		{"GET", "/auth/v1/admin/sso/providers", e.ServiceRoleKey(), http.StatusNotFound, "saml_provider_disabled"},
		{"GET", "/auth/v1/admin/sso/providers", user.AccessToken, http.StatusForbidden, "not_admin"},
		{"POST", "/auth/v1/token?grant_type=web3", "", http.StatusUnprocessableEntity, "web3_provider_disabled"},
		{"GET", "/auth/v1/oauth/authorize", "", http.StatusNotFound, "feature_disabled"},
		{"POST", "/auth/v1/oauth/token", "", http.StatusNotFound, "feature_disabled"},
		{"GET", "/auth/v1/.well-known/oauth-authorization-server", "", http.StatusNotFound, "feature_disabled"},
		{"GET", "/auth/v1/admin/oauth/clients", e.ServiceRoleKey(), http.StatusNotFound, "feature_disabled"},
		{"GET", "/auth/v1/user/oauth/grants", user.AccessToken, http.StatusNotFound, "feature_disabled"},
	} {
		status, body := e.call(t, tc.method, tc.path, map[string]any{}, tc.token)
		require.Equal(t, tc.status, status, "%s %s: %v", tc.method, tc.path, body)
		require.Equal(t, tc.code, body["code"], "%s %s", tc.method, tc.path)
	}
}
