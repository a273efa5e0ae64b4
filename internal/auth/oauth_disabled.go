package auth

import (
	"net/http"

	"github.com/goforward/goforward/internal/httpx"
)

// GoTrue answers requests for features that are turned off with a stable error code, which
// supabase-js surfaces as error.code. Go Forward does not offer SAML single sign-on, Web3
// sign-in or the OAuth 2.1 server, so it gives those answers, with GoTrue's statuses, in
// GoTrue's order of checks (an admin route checks the admin first, a user route the user).

func samlDisabled() error { return notFound(CodeSAMLProviderDisabled, "SAML 2.0 is disabled") }

func oauthServerDisabled() error { return notFound(CodeFeatureDisabled, "OAuth server is disabled") }

// web3Disabled is POST /token?grant_type=web3 (signInWithWeb3).
func web3Disabled(http.ResponseWriter, *http.Request) error {
	return unprocessable(CodeWeb3ProviderDisabled, "Web3 provider is disabled")
}

func disabledRoutes() map[string]httpx.HandlerFunc {
	open := func(fail func() error) httpx.HandlerFunc {
		return func(http.ResponseWriter, *http.Request) error { return fail() }
	}
	admin := func(fail func() error) httpx.HandlerFunc {
		return func(_ http.ResponseWriter, r *http.Request) error {
			if _, err := requireAdmin(r); err != nil {
				return err
			}
			return fail()
		}
	}
	routes := map[string]httpx.HandlerFunc{
		"POST /sso":              open(samlDisabled),
		"GET /sso/saml/metadata": open(samlDisabled),
		"POST /sso/saml/acs":     open(samlDisabled),
		"GET /.well-known/oauth-authorization-server": open(oauthServerDisabled),
		"POST /oauth/clients/register":                open(oauthServerDisabled),
		"POST /oauth/token":                           open(oauthServerDisabled),
		"GET /oauth/userinfo":                         open(oauthServerDisabled),
		"GET /oauth/authorize":                        open(oauthServerDisabled),
		"GET /oauth/authorizations/{id}":              open(oauthServerDisabled),
		"POST /oauth/authorizations/{id}/consent":     open(oauthServerDisabled),
	}
	for _, p := range []string{"GET /admin/sso/providers", "POST /admin/sso/providers",
		"GET /admin/sso/providers/{id}", "PUT /admin/sso/providers/{id}", "DELETE /admin/sso/providers/{id}"} {
		routes[p] = admin(samlDisabled)
	}
	for _, p := range []string{"GET /admin/oauth/clients", "POST /admin/oauth/clients",
		"GET /admin/oauth/clients/{id}", "PUT /admin/oauth/clients/{id}", "DELETE /admin/oauth/clients/{id}",
		"POST /admin/oauth/clients/{id}/regenerate_secret"} {
		routes[p] = admin(oauthServerDisabled)
	}
	return routes
}

// userOAuthGrantsDisabled is GET|DELETE /user/oauth/grants: the user is checked first.
func (s *Service) userOAuthGrantsDisabled(_ http.ResponseWriter, r *http.Request) error {
	if _, err := s.requireUser(r); err != nil {
		return err
	}
	return oauthServerDisabled()
}
