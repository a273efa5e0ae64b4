package auth

import (
	"fmt"
	"net/url"
	"strings"
)

// Provider kinds: how a configured external provider signs users in. Every name in
// Config.External other than these is a generic OpenID Connect provider found by its issuer.
const (
	kindOIDC    = "oidc"
	kindGitHub  = "github"
	kindGitLab  = "gitlab"
	kindDiscord = "discord"
	kindGoogle  = "google"
	kindAzure   = "azure"
	kindApple   = "apple"
)

// ExternalProvider configures one OAuth 2.0 / OpenID Connect provider, as GoTrue's
// GOTRUE_EXTERNAL_<NAME>_* settings do.
type ExternalProvider struct {
	// Enabled turns the provider on; off, /authorize answers 400 validation_failed.
	Enabled bool
	// ClientID is the client id registered at the provider. Further ids are accepted as the
	// aud of id_tokens given to grant_type=id_token (a mobile app's own client id), as GoTrue
	// accepts a comma-separated GOTRUE_EXTERNAL_<NAME>_CLIENT_ID.
	ClientID []string
	// Secret is the client secret. For Apple it is the client-secret JWT, or empty when
	// AppleTeamID, AppleKeyID and ApplePrivateKey let Go Forward sign one.
	Secret string
	// RedirectURI is this server's callback as registered at the provider. Default
	// ExternalURL + "/auth/v1/callback".
	RedirectURI string
	// URL is the provider's base URL for GitHub Enterprise, self-hosted GitLab, a Discord
	// proxy or an Azure tenant (https://login.microsoftonline.com/<tenant>), as GoTrue's
	// GOTRUE_EXTERNAL_<NAME>_URL.
	URL string
	// Issuer is the OpenID Connect issuer whose discovery document, keys and id_tokens are
	// used: required for a generic provider, and an override of the built-in issuer of
	// Google, Azure and Apple.
	Issuer string
	// Scopes are added to the provider's default scopes (comma-separated in GoTrue).
	Scopes []string
	// SkipNonceCheck accepts id_tokens at grant_type=id_token without comparing nonces.
	SkipNonceCheck bool
	// EmailOptional lets users without an e-mail address from the provider sign in.
	EmailOptional bool

	// AppleTeamID, AppleKeyID and ApplePrivateKey (PEM, PKCS #8) sign Apple's client secret:
	// an ES256 JWT from the team to appleid.apple.com, renewed before it expires.
	AppleTeamID     string
	AppleKeyID      string
	ApplePrivateKey string
}

// kindOf is the kind of the provider configured under name.
func kindOf(name string) string {
	switch name {
	case kindGitHub, kindGitLab, kindDiscord, kindGoogle, kindAzure, kindApple:
		return name
	}
	return kindOIDC
}

// validateExternal checks the providers' configuration; it does no I/O.
func validateExternal(providers map[string]ExternalProvider) []error {
	var errs []error
	for name, p := range providers {
		if !p.Enabled {
			continue
		}
		switch {
		case !providerNamePattern.MatchString(name):
			errs = append(errs, fmt.Errorf("external provider name %q must be lower-case letters, digits, '_' and '-'", name))
			continue
		case name == providerEmail || name == providerPhone || name == providerAnonymous:
			errs = append(errs, fmt.Errorf("external provider name %q is reserved", name))
			continue
		}
		if len(p.ClientID) == 0 || strings.TrimSpace(p.ClientID[0]) == "" {
			errs = append(errs, fmt.Errorf("external provider %s: a client id is required", name))
		}
		if kindOf(name) == kindOIDC && p.Issuer == "" {
			errs = append(errs, fmt.Errorf("external provider %s: a generic OpenID Connect provider needs its issuer URL", name))
		}
		if kindOf(name) != kindApple && p.Secret == "" {
			errs = append(errs, fmt.Errorf("external provider %s: a client secret is required", name))
		}
		if kindOf(name) == kindApple && p.Secret == "" && (p.AppleTeamID == "" || p.AppleKeyID == "" || p.ApplePrivateKey == "") {
			errs = append(errs, fmt.Errorf("external provider %s: Apple needs a secret, or a team id, key id and private key to sign one", name))
		}
		for field, raw := range map[string]string{"URL": p.URL, "Issuer": p.Issuer, "RedirectURI": p.RedirectURI} {
			if raw == "" {
				continue
			}
			if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("external provider %s: %s %q is not an http(s) URL", name, field, raw))
			}
		}
	}
	return errs
}
