package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hardened is a configuration production accepts.
func hardened() Config {
	c := Defaults()
	c.Environment = EnvProduction
	c.JWT.Secret = "kV8p2mQx7rT4wZ9bN3cF6hJ1sL5dG0aE"
	c.Server.PublicURL = "https://api.example.com"
	c.Server.CORS.AllowedOrigins = []string{"https://app.example.com"}
	c.Server.TrustedProxies = []string{"10.0.0.0/8"}
	c.Auth.SMTP.Host = "smtp.example.com"
	c.Auth.SMTP.From = "noreply@example.com"
	return c
}

func TestProductionProblemsOfDevelopmentDefaults(t *testing.T) {
	t.Parallel()
	problems := Defaults().ProductionProblems()
	require.Len(t, problems, 3)
	require.True(t, strings.HasPrefix(problems[0], "jwt.secret is not set: set JWT_SECRET"), problems[0])
	require.True(t, strings.HasPrefix(problems[1], "server.public_url is not set"), problems[1])
	require.True(t, strings.HasPrefix(problems[2], "auth.smtp.host is not set"), problems[2])
}

func TestProductionProblemsOfHardenedConfig(t *testing.T) {
	t.Parallel()
	c := hardened()
	require.NoError(t, c.Validate())
	require.Empty(t, c.ProductionProblems())
}

func TestProductionProblemsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // the start of the one problem expected
	}{
		{"no JWT secret", func(c *Config) { c.JWT.Secret = "" }, "jwt.secret is not set"},
		{"short JWT secret", func(c *Config) { c.JWT.Secret = "short" }, "jwt.secret is shorter than 32 characters"},
		{"Supabase's demo JWT secret", func(c *Config) { c.JWT.Secret = "super-secret-jwt-token-with-at-least-32-characters-long" }, "jwt.secret is an example secret published in Supabase's documentation"},
		{"Supabase's docker JWT secret", func(c *Config) { c.JWT.Secret = "your-super-secret-jwt-token-with-at-least-32-characters-long" }, "jwt.secret is an example secret"},
		{"no public URL", func(c *Config) { c.Server.PublicURL = "" }, "server.public_url is not set"},
		{"any origin", func(c *Config) { c.Server.CORS.AllowedOrigins = []string{"https://app.example.com", "*"} }, `server.cors.allowed_origins contains "*"`},
		{"every address is a trusted proxy", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "0.0.0.0/0"} }, "server.trusted_proxies trusts every address"},
		{"every IPv6 address is a trusted proxy", func(c *Config) { c.Server.TrustedProxies = []string{"::/0"} }, "server.trusted_proxies trusts every address"},
		{"debug logs", func(c *Config) { c.Log.Level = "debug" }, "log.level is debug"},
		{"auth without SMTP", func(c *Config) { c.Auth.SMTP.Host = "" }, "auth.smtp.host is not set"},
		{
			"external database without an authenticator password",
			func(c *Config) { c.Database.URL = "postgres://postgres:pw@db.internal:5432/app" },
			"database.authenticator_password is not set while database.url names an external database",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hardened()
			tt.mutate(&c)
			problems := c.ProductionProblems()
			require.Len(t, problems, 1, "%q", problems)
			require.True(t, strings.HasPrefix(problems[0], tt.want), problems[0])
		})
	}
}

func TestProductionProblemsNeverEchoTheSecret(t *testing.T) {
	t.Parallel()
	c := hardened()
	c.JWT.Secret = "tiny-secret"
	for _, p := range c.ProductionProblems() {
		require.NotContains(t, p, "tiny-secret")
	}
}

func TestProductionProblemsIgnoreTheEnvironment(t *testing.T) {
	t.Parallel()
	c := hardened()
	c.JWT.Secret = ""
	c.Environment = EnvDevelopment
	require.Len(t, c.ProductionProblems(), 1, "env check shows what production would refuse while still in development")
}

func TestProductionNeedsSMTPOnlyWhenAuthRuns(t *testing.T) {
	t.Parallel()
	c := hardened()
	c.Auth.SMTP.Host = ""
	c.Services = []string{"rest"}
	require.Empty(t, c.ProductionProblems())
}

func TestProductionAcceptsAnExternalDatabaseWithAnAuthenticatorPassword(t *testing.T) {
	t.Parallel()
	c := hardened()
	c.Database.URL = "postgres://postgres:pw@db.internal:5432/app"
	c.Database.AuthenticatorPassword = "Yq3v8kPz1sXw4nB7"
	require.Empty(t, c.ProductionProblems(), "the request pool then connects as the authenticator")
	c.Database.URL = ""
	c.Database.AuthenticatorPassword = ""
	require.Empty(t, c.ProductionProblems(), "the managed cluster generates its authenticator password")
}

func TestAdminSignInPolicyOfEachEnvironment(t *testing.T) {
	t.Parallel()
	require.Equal(t, AdminSignInPolicy{MFALevels: []string{"system_admin", "super_admin"}, HTTPSOnly: true}, AdminSignInPolicyFor(EnvProduction))
	require.Equal(t, AdminSignInPolicy{MFALevels: []string{"system_admin"}}, AdminSignInPolicyFor(EnvStaging))
	require.Equal(t, AdminSignInPolicy{}, AdminSignInPolicyFor(EnvDevelopment))
}

// TestAdminSignInNotesDescribeThePolicy: what `env check` prints about admin sign-in follows
// the environment and whether the public URL is https.
func TestAdminSignInNotesDescribeThePolicy(t *testing.T) {
	t.Parallel()
	c := hardened()
	notes := strings.Join(c.AdminSignInNotes(), "\n")
	require.Contains(t, notes, "required for system_admin and super_admin")
	require.Contains(t, notes, "unless server.public_url is https (it is)")
	c.Server.PublicURL = "http://api.example.com"
	require.Contains(t, strings.Join(c.AdminSignInNotes(), "\n"), "(it is not) or the request comes from this host (loopback): only admins on this host can sign in")
	c.Environment = EnvStaging
	notes = strings.Join(c.AdminSignInNotes(), "\n")
	require.Contains(t, notes, "required for system_admin:")
	require.Contains(t, notes, "sign-in over plain http is allowed")
	c.Environment = EnvDevelopment
	require.Contains(t, strings.Join(c.AdminSignInNotes(), "\n"), "no level is required to use a second factor")
}
