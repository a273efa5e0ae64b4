package auth

import (
	"net/http"
	"slices"
)

// health is GET /health, in GoTrue's shape.
func (s *Service) health(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, map[string]string{
		"version":     s.cfg.Version,
		"name":        "GoTrue",
		"description": "Go Forward's auth service, compatible with GoTrue",
	})
}

// oauthProviders are the external providers GoTrue lists in /settings, false unless
// configured under Config.External. Custom providers are listed as true beside them.
var oauthProviders = []string{
	"apple", "azure", "bitbucket", "discord", "facebook", "figma", "fly", "github", "gitlab",
	"google", "kakao", "keycloak", "linkedin", "linkedin_oidc", "notion", "slack", "slack_oidc",
	"spotify", "twitch", "twitter", "workos", "x", "zoom",
}

// settings is GET /settings: which sign-in methods are on.
func (s *Service) settings(w http.ResponseWriter, _ *http.Request) error {
	external := map[string]bool{
		providerEmail:     true,
		providerPhone:     true,
		"anonymous_users": s.cfg.AnonymousUsers,
		"saml":            false,
	}
	for _, p := range oauthProviders {
		external[p] = false
	}
	for name := range s.oauth {
		external[name] = true
	}
	names := make([]string, 0, len(s.providers))
	for name := range s.providers {
		external[name] = true
		names = append(names, name)
	}
	slices.Sort(names)
	return writeJSON(w, map[string]any{
		"external":           external,
		"disable_signup":     s.cfg.DisableSignup,
		"mailer_autoconfirm": s.cfg.MailerAutoconfirm,
		"phone_autoconfirm":  s.cfg.PhoneAutoconfirm,
		"sms_provider":       s.cfg.SMSProvider,
		"saml_enabled":       false,
		"passkeys_enabled":   false,
		"custom_providers":   names,
	})
}

// jwks is GET /.well-known/jwks.json: the public keys of the signing-key ring (current,
// standby and previous, as GoTrue publishes them), never the HS256 secret. With no
// asymmetric key the set is empty and clients verify through GET /user, as with GoTrue.
// Cached for ten minutes, as auth-js caches it; a standby key is published before it signs
// so that a rotation finds it in every cache.
func (s *Service) jwks(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=600")
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.keys.JWKS())
	return err
}
