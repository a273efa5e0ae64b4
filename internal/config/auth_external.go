package config

import "net/url"

// AuthExternalConfig configures social and enterprise sign-in providers, as GoTrue's
// GOTRUE_EXTERNAL_<NAME>_* settings do.
type AuthExternalConfig struct {
	Github  AuthProviderConfig `koanf:"github" doc:"Sign in with GitHub (GitHub Enterprise with url)."`
	Gitlab  AuthProviderConfig `koanf:"gitlab" doc:"Sign in with GitLab (self-hosted with url)."`
	Discord AuthProviderConfig `koanf:"discord" doc:"Sign in with Discord."`
	Google  AuthProviderConfig `koanf:"google" doc:"Sign in with Google (OpenID Connect; also native sign-in through grant_type=id_token)."`
	Azure   AuthProviderConfig `koanf:"azure" doc:"Sign in with Microsoft (Azure AD / Entra ID); url names the tenant, https://login.microsoftonline.com/<tenant>."`
	Apple   AuthAppleConfig    `koanf:"apple" doc:"Sign in with Apple (the callback receives a form post)."`
	OIDC    AuthOIDCConfig     `koanf:"oidc" doc:"A generic OpenID Connect provider found by its issuer URL (Keycloak, Auth0, Okta, Zitadel, …)."`
}

// AuthProviderConfig is one provider's settings.
type AuthProviderConfig struct {
	Enabled        bool     `koanf:"enabled" doc:"Offer this provider at GET /auth/v1/authorize?provider=<name> (supabase.auth.signInWithOAuth)."`
	ClientID       []string `koanf:"client_id" doc:"Client id registered at the provider; further ids are accepted as the audience of id_tokens given to grant_type=id_token (a mobile app's own client id)."`
	Secret         string   `koanf:"secret" redact:"value" doc:"Client secret registered at the provider."`
	RedirectURI    string   `koanf:"redirect_uri" doc:"This server's callback as registered at the provider; empty means <api_url>/auth/v1/callback."`
	URL            string   `koanf:"url" doc:"Base URL of a self-hosted or regional instance (GitHub Enterprise, GitLab, an Azure tenant); empty uses the public service."`
	Issuer         string   `koanf:"issuer" doc:"OpenID Connect issuer whose discovery document and keys check id_tokens, overriding the provider's own (Google, Azure, Apple)."`
	Scopes         []string `koanf:"scopes" doc:"Scopes asked for besides the provider's defaults."`
	SkipNonceCheck bool     `koanf:"skip_nonce_check" doc:"Accept id_tokens at grant_type=id_token without comparing the nonce (GoTrue's SKIP_NONCE_CHECK); off is safer."`
	EmailOptional  bool     `koanf:"email_optional" doc:"Let users the provider gives no e-mail address for sign in."`
}

// AuthAppleConfig is Sign in with Apple, whose client secret may be signed here.
type AuthAppleConfig struct {
	Enabled        bool     `koanf:"enabled" doc:"Offer Sign in with Apple."`
	ClientID       []string `koanf:"client_id" doc:"Services ID (web) first, then app bundle ids accepted at grant_type=id_token."`
	Secret         string   `koanf:"secret" redact:"value" doc:"Client secret JWT generated for Apple; empty signs one from team_id, key_id and private_key."`
	RedirectURI    string   `koanf:"redirect_uri" doc:"This server's callback as registered at Apple; empty means <api_url>/auth/v1/callback."`
	Issuer         string   `koanf:"issuer" doc:"Overrides Apple's issuer (https://appleid.apple.com), for tests."`
	SkipNonceCheck bool     `koanf:"skip_nonce_check" doc:"Accept id_tokens at grant_type=id_token without comparing the nonce."`
	EmailOptional  bool     `koanf:"email_optional" doc:"Let users without an e-mail address sign in."`
	TeamID         string   `koanf:"team_id" doc:"Apple developer team id, the issuer of the signed client secret."`
	KeyID          string   `koanf:"key_id" doc:"Id of the Sign in with Apple key."`
	PrivateKey     string   `koanf:"private_key" redact:"value" doc:"The Sign in with Apple key (PEM, PKCS #8) that signs the client secret (ES256, renewed hourly)."`
}

// AuthOIDCConfig is a generic OpenID Connect provider.
type AuthOIDCConfig struct {
	Enabled        bool     `koanf:"enabled" doc:"Offer the provider at GET /auth/v1/authorize?provider=<name>."`
	Name           string   `koanf:"name" doc:"Provider name clients use and identities record: lower-case letters, digits, '_' and '-'."`
	ClientID       []string `koanf:"client_id" doc:"Client id registered at the provider; further ids are accepted as the audience at grant_type=id_token."`
	Secret         string   `koanf:"secret" redact:"value" doc:"Client secret registered at the provider."`
	RedirectURI    string   `koanf:"redirect_uri" doc:"This server's callback as registered at the provider; empty means <api_url>/auth/v1/callback."`
	Issuer         string   `koanf:"issuer" doc:"Issuer URL: its /.well-known/openid-configuration gives the endpoints and keys."`
	Scopes         []string `koanf:"scopes" doc:"Scopes asked for besides openid, email and profile."`
	SkipNonceCheck bool     `koanf:"skip_nonce_check" doc:"Accept id_tokens at grant_type=id_token without comparing the nonce."`
	EmailOptional  bool     `koanf:"email_optional" doc:"Let users without an e-mail address sign in."`
}

func validateExternalProviders(errs *fieldErrors, e AuthExternalConfig) {
	check := func(key string, enabled bool, clientID []string, secret string, urls map[string]string) {
		if !enabled {
			return
		}
		if len(clientID) == 0 || clientID[0] == "" {
			errs.add("auth.external."+key+".client_id", "is required when the provider is enabled", nil)
		}
		if secret == "" {
			errs.add("auth.external."+key+".secret", "is required when the provider is enabled", nil)
		}
		for field, raw := range urls {
			if raw == "" {
				continue
			}
			if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs.add("auth.external."+key+"."+field, "must be an http(s) URL", raw)
			}
		}
	}
	for key, p := range map[string]AuthProviderConfig{"github": e.Github, "gitlab": e.Gitlab, "discord": e.Discord, "google": e.Google, "azure": e.Azure} {
		check(key, p.Enabled, p.ClientID, p.Secret, map[string]string{"url": p.URL, "issuer": p.Issuer, "redirect_uri": p.RedirectURI})
	}
	a := e.Apple
	appleSecret := a.Secret
	if appleSecret == "" && a.TeamID != "" && a.KeyID != "" && a.PrivateKey != "" {
		appleSecret = "signed"
	}
	check("apple", a.Enabled, a.ClientID, appleSecret, map[string]string{"issuer": a.Issuer, "redirect_uri": a.RedirectURI})
	o := e.OIDC
	check("oidc", o.Enabled, o.ClientID, o.Secret, map[string]string{"issuer": o.Issuer, "redirect_uri": o.RedirectURI})
	if o.Enabled && o.Issuer == "" {
		errs.add("auth.external.oidc.issuer", "is required when the provider is enabled", nil)
	}
	switch o.Name {
	case "github", "gitlab", "discord", "google", "azure", "apple", "email", "phone", "anonymous":
		errs.add("auth.external.oidc.name", "is taken by a built-in provider", o.Name)
	}
}
