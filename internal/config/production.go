package config

import (
	"crypto/subtle"
	"net/netip"
	"slices"
	"strings"
)

// ProductionProblems lists the hard requirements that c fails and that production refuses
// to start without, each a sentence naming the key and the fix. It does not look at
// c.Environment, so `goforward env check` can show what production would refuse while
// still in development. An empty list means c may run in production.
func (c Config) ProductionProblems() []string {
	var problems []string
	secret := c.JWT.Secret
	switch {
	case secret == "":
		problems = append(problems, "jwt.secret is not set: set JWT_SECRET to a random value of at least 32 characters (for example `openssl rand -base64 48`), the same on every node, so that tokens do not depend on one node's data directory")
	case len(secret) < MinJWTSecretLength:
		problems = append(problems, "jwt.secret is shorter than 32 characters: set JWT_SECRET to a random value of at least 32 characters (for example `openssl rand -base64 48`)")
	case isPublishedSecret(secret):
		problems = append(problems, "jwt.secret is an example secret published in Supabase's documentation, so anyone can forge tokens with it: set JWT_SECRET to a new random value (for example `openssl rand -base64 48`)")
	}
	if c.Database.URL != "" && c.Database.AuthenticatorPassword == "" {
		problems = append(problems, "database.authenticator_password is not set while database.url names an external database, so requests would run on the owner's connection (often a superuser) instead of the authenticator role, which can only switch into the API roles: set GOFORWARD_DATABASE_AUTHENTICATOR_PASSWORD to a random value (for example `openssl rand -hex 24`), the same on every node")
	}
	if c.Server.PublicURL == "" {
		problems = append(problems, "server.public_url is not set: set it to the address clients reach (such as https://api.example.com) so that links in emails and redirects point there")
	}
	if slices.Contains(c.Server.CORS.AllowedOrigins, "*") {
		problems = append(problems, `server.cors.allowed_origins contains "*": list the origins of your web apps instead (such as https://app.example.com)`)
	}
	if trustsEveryone(c.Server.TrustedProxies) {
		problems = append(problems, "server.trusted_proxies trusts every address (a /0 range), so any client can forge X-Forwarded-For and escape rate limits: list only your proxies' addresses")
	}
	if c.ServiceEnabled("auth") && c.Auth.SMTP.Host == "" {
		problems = append(problems, "auth.smtp.host is not set: confirmation, magic-link and recovery mails would only be logged; configure an SMTP server (auth.smtp.*)")
	}
	if c.Log.Level == "debug" {
		problems = append(problems, "log.level is debug, which logs request details: set it to info, warn or error")
	}
	return problems
}

// isPublishedSecret reports whether secret is one of the JWT secrets printed in Supabase's
// guides and docker example, which people copy into real deployments.
func isPublishedSecret(secret string) bool {
	for _, known := range []string{
		"super-secret-jwt-token-with-at-least-32-characters-long",
		"your-super-secret-jwt-token-with-at-least-32-characters-long",
	} {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(known)) == 1 {
			return true
		}
	}
	return false
}

func trustsEveryone(cidrs []string) bool {
	for _, cidr := range cidrs {
		if prefix, err := netip.ParsePrefix(cidr); err == nil && prefix.Bits() == 0 {
			return true
		}
	}
	return false
}

// AdminSignInPolicy is what an environment asks of an admin signing in to /admin/v1; the
// admin service applies it and `goforward env check` lists it (AdminSignInNotes).
type AdminSignInPolicy struct {
	// MFALevels must finish sign-in with a second factor (a TOTP code or a backup code),
	// whether or not they enrolled one: without one they cannot sign in.
	MFALevels []string
	// HTTPSOnly refuses sign-in over plain http, unless the public URL is https (TLS ends at
	// the proxy in front) or the request comes from this host (loopback, not relayed).
	HTTPSOnly bool
}

// AdminSignInPolicyFor is the policy of an environment: production asks system and super
// admins for a second factor and refuses plain http; staging asks system admins; development
// asks nothing. In every environment an admin who enrolled a factor is asked for it.
func AdminSignInPolicyFor(environment string) AdminSignInPolicy {
	switch environment {
	case EnvProduction:
		return AdminSignInPolicy{MFALevels: []string{"system_admin", "super_admin"}, HTTPSOnly: true}
	case EnvStaging:
		return AdminSignInPolicy{MFALevels: []string{"system_admin"}}
	}
	return AdminSignInPolicy{}
}

// AdminSignInNotes describes, one sentence each, what admin sign-in demands in c's
// environment, for `goforward env check`.
func (c Config) AdminSignInNotes() []string {
	p := AdminSignInPolicyFor(c.Environment)
	var notes []string
	if len(p.MFALevels) > 0 {
		notes = append(notes, "a second factor (a TOTP code or a backup code) is required for "+strings.Join(p.MFALevels, " and ")+
			": they cannot sign in until they enrol a TOTP factor (POST /auth/v1/factors)")
	} else {
		notes = append(notes, "no level is required to use a second factor")
	}
	notes = append(notes, "an admin who enrolled a factor is always asked for it")
	switch {
	case !p.HTTPSOnly:
		notes = append(notes, "sign-in over plain http is allowed")
	case strings.HasPrefix(c.Server.PublicURL, "https://"):
		notes = append(notes, "sign-in over plain http is refused unless server.public_url is https (it is) or the request comes from this host (loopback)")
	default:
		notes = append(notes, "sign-in over plain http is refused unless server.public_url is https (it is not) or the request comes from this host (loopback): only admins on this host can sign in")
	}
	return notes
}
