package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mutate    func(c *Config)
		wantField string
		wantText  string // part of the message after "field: "
	}{
		{"unknown environment", func(c *Config) { c.Environment = "prod" }, "environment", `must be one of development, staging, production (got "prod")`},
		{"OIDC provider without issuer", func(c *Config) {
			c.Auth.External.OIDC = AuthOIDCConfig{Enabled: true, Name: "sso", ClientID: []string{"id"}, Secret: "s"}
		}, "auth.external.oidc.issuer", "is required when the provider is enabled"},
		{"GitHub without secret", func(c *Config) {
			c.Auth.External.Github = AuthProviderConfig{Enabled: true, ClientID: []string{"id"}}
		}, "auth.external.github.secret", "is required when the provider is enabled"},
		{"Apple without secret or key", func(c *Config) {
			c.Auth.External.Apple = AuthAppleConfig{Enabled: true, ClientID: []string{"id"}, TeamID: "T"}
		}, "auth.external.apple.secret", "is required when the provider is enabled"},
		{"generic provider named like a built-in one", func(c *Config) { c.Auth.External.OIDC.Name = "google" }, "auth.external.oidc.name", "is taken by a built-in provider"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir", "must not be empty"},
		{"no services", func(c *Config) { c.Services = nil }, "services", "must name at least one service"},
		{"unknown service lists the known ones", func(c *Config) { c.Services = []string{"auth", "graphql"} }, "services", `unknown service; known services are auth, rest, realtime, storage, admin, meta, functions, dashboard (got "graphql")`},
		{"empty host", func(c *Config) { c.Server.Host = "" }, "server.host", "must not be empty"},
		{"port zero", func(c *Config) { c.Server.Port = 0 }, "server.port", "must be between 1 and 65535 (got 0)"},
		{"port too large", func(c *Config) { c.Server.Port = 70000 }, "server.port", "must be between 1 and 65535 (got 70000)"},
		{"public URL without scheme", func(c *Config) { c.Server.PublicURL = "api.example.com" }, "server.public_url", "must be an absolute http:// or https:// URL"},
		{"public URL with another scheme", func(c *Config) { c.Server.PublicURL = "ftp://api.example.com" }, "server.public_url", "must be an absolute http:// or https:// URL"},
		{"public URL with a query", func(c *Config) { c.Server.PublicURL = "https://api.example.com/?a=b" }, "server.public_url", "must be an absolute http:// or https:// URL without credentials, query or fragment"},
		{"zero read header timeout", func(c *Config) { c.Server.ReadHeaderTimeout = 0 }, "server.read_header_timeout", "must be a positive duration (got 0s)"},
		{"negative read timeout", func(c *Config) { c.Server.ReadTimeout = -time.Second }, "server.read_timeout", "must be a positive duration (got -1s)"},
		{"zero write timeout", func(c *Config) { c.Server.WriteTimeout = 0 }, "server.write_timeout", "must be a positive duration"},
		{"zero idle timeout", func(c *Config) { c.Server.IdleTimeout = 0 }, "server.idle_timeout", "must be a positive duration"},
		{"zero shutdown timeout", func(c *Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout", "must be a positive duration"},
		{"zero body limit", func(c *Config) { c.Server.MaxBodyBytes = 0 }, "server.max_body_bytes", "must be greater than 0 (got 0)"},
		{"bad CIDR", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.1"} }, "server.trusted_proxies", `must be CIDRs such as 10.0.0.0/8 (one address is 10.0.0.1/32) (got "10.0.0.1")`},
		{"origin with a path", func(c *Config) { c.Server.CORS.AllowedOrigins = []string{"https://app.example.com/login"} }, "server.cors.allowed_origins", "must be \"*\" or an origin"},
		{"origin without scheme", func(c *Config) { c.Server.CORS.AllowedOrigins = []string{"app.example.com"} }, "server.cors.allowed_origins", "must be \"*\" or an origin"},
		{"negative CORS max age", func(c *Config) { c.Server.CORS.MaxAge = -time.Minute }, "server.cors.max_age", "must not be negative"},
		{"negative rate", func(c *Config) { c.Server.RateLimit.RequestsPerSecond = -1 }, "server.rate_limit.requests_per_second", "must not be negative (0 turns rate limiting off) (got -1)"},
		{"negative burst", func(c *Config) { c.Server.RateLimit.Burst = -1 }, "server.rate_limit.burst", "must not be negative"},
		{"zero burst while limiting", func(c *Config) { c.Server.RateLimit.Burst = 0 }, "server.rate_limit.burst", "must be at least 1 while rate limiting is on"},
		{"other scheme as database URL", func(c *Config) { c.Database.URL = "mysql://root:pw@localhost/db" }, "database.url", "must be a postgres:// or postgresql:// URL, or key=value pairs"},
		{"database URL with a bad port", func(c *Config) { c.Database.URL = "postgres://app:pw@db:notaport/app" }, "database.url", "is not a valid PostgreSQL connection string: invalid port"},
		{"database DSN with a bad option", func(c *Config) { c.Database.URL = "host=db password=pw sslmode=sometimes" }, "database.url", "is not a valid PostgreSQL connection string"},
		{"database DSN that is not key=value", func(c *Config) { c.Database.URL = "just some words" }, "database.url", "is not a valid PostgreSQL connection string"},
		{"negative max conns", func(c *Config) { c.Database.MaxConns = -1 }, "database.max_conns", "must not be negative (0 means 4 per CPU) (got -1)"},
		{"managed port out of range", func(c *Config) { c.Database.Port = 70000 }, "database.port", "must be between 0 (a free port) and 65535"},
		{"negative anon statement timeout", func(c *Config) { c.Database.StatementTimeout.Anon = -time.Second }, "database.statement_timeout.anon", "must not be negative (0 means none)"},
		{"negative authenticated statement timeout", func(c *Config) { c.Database.StatementTimeout.Authenticated = -time.Second }, "database.statement_timeout.authenticated", "must not be negative"},
		{"negative service role statement timeout", func(c *Config) { c.Database.StatementTimeout.ServiceRole = -time.Second }, "database.statement_timeout.service_role", "must not be negative"},
		{"zero connect timeout", func(c *Config) { c.Database.ConnectTimeout = 0 }, "database.connect_timeout", "must be a positive duration"},
		{"redis URL with another scheme", func(c *Config) { c.Redis.URL = "http://cache:6379" }, "redis.url", "must be a redis:// or rediss:// URL with a host"},
		{"redis URL without a host", func(c *Config) { c.Redis.URL = "redis:///0" }, "redis.url", "must be a redis:// or rediss:// URL with a host"},
		{"empty rate-limit prefix", func(c *Config) { c.Redis.RateLimitPrefix = "" }, "redis.rate_limit_prefix", "must not be empty"},
		{"short JWT secret", func(c *Config) { c.JWT.Secret = strings.Repeat("x", 31) }, "jwt.secret", "must be at least 32 characters (it has 31)"},
		{"previous JWT secret without a configured one", func(c *Config) {
			c.JWT.PreviousSecret, c.JWT.PreviousSecretValidUntil = strings.Repeat("p", 32), "2030-01-02T15:04:05Z"
		}, "jwt.previous_secret", "needs jwt.secret"},
		{"short previous JWT secret", func(c *Config) {
			c.JWT.Secret, c.JWT.PreviousSecret, c.JWT.PreviousSecretValidUntil = strings.Repeat("s", 32), "short", "2030-01-02T15:04:05Z"
		}, "jwt.previous_secret", "must be at least 32 characters (it has 5)"},
		{"previous JWT secret without its deadline", func(c *Config) {
			c.JWT.Secret, c.JWT.PreviousSecret = strings.Repeat("s", 32), strings.Repeat("p", 32)
		}, "jwt.previous_secret_valid_until", "must be an RFC 3339 time"},
		{"deadline without a previous JWT secret", func(c *Config) { c.JWT.PreviousSecretValidUntil = "2030-01-02T15:04:05Z" },
			"jwt.previous_secret_valid_until", "is set without jwt.previous_secret"},
		{"JWT expiry too short", func(c *Config) { c.JWT.Expiry = 29 * time.Second }, "jwt.expiry", "must be between 30s and 168h (one week) (got 29s)"},
		{"JWT expiry too long", func(c *Config) { c.JWT.Expiry = 8 * 24 * time.Hour }, "jwt.expiry", "must be between 30s and 168h (one week) (got 192h)"},
		{"unknown log level", func(c *Config) { c.Log.Level = "trace" }, "log.level", `must be one of debug, info, warn, error (got "trace")`},
		{"unknown log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `must be one of json, text (got "xml")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			tt.mutate(&c)
			err := c.Validate()
			fe := onlyFieldError(t, err)
			require.Equal(t, tt.wantField, fe.Field)
			require.True(t, errors.Is(err, fe))
			require.ErrorContains(t, err, tt.wantField+": "+tt.wantText)
		})
	}
}

func TestValidateAcceptsGoodValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"staging", func(c *Config) { c.Environment = EnvStaging }},
		{"production", func(c *Config) { c.Environment = EnvProduction }},
		{"every interface", func(c *Config) { c.Server.Host = "0.0.0.0" }},
		{"public URL with a path", func(c *Config) { c.Server.PublicURL = "https://example.com/goforward/" }},
		{"IPv4 and IPv6 CIDRs", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "127.0.0.1/32", "fd00::/8"} }},
		{"any origin", func(c *Config) { c.Server.CORS.AllowedOrigins = []string{"*"} }},
		{"origins, a mobile shell's included", func(c *Config) {
			c.Server.CORS.AllowedOrigins = []string{"https://app.example.com", "http://localhost:3000", "capacitor://localhost"}
		}},
		{"rate limiting off", func(c *Config) { c.Server.RateLimit = RateLimitConfig{} }},
		{"postgres URL", func(c *Config) { c.Database.URL = "postgres://app:pw@db.internal:5432/app?sslmode=require" }},
		{"postgresql URL", func(c *Config) { c.Database.URL = "postgresql://app@db/app" }},
		{"key=value DSN", func(c *Config) { c.Database.URL = "host=db port=5432 user=app password='p w' dbname=app" }},
		{"redis", func(c *Config) { c.Redis.URL = "redis://:pw@cache:6379/0" }},
		{"rediss", func(c *Config) { c.Redis.URL = "rediss://user:pw@cache:6380" }},
		{"32-character JWT secret", func(c *Config) { c.JWT.Secret = strings.Repeat("s", 32) }},
		{"previous JWT secret", func(c *Config) {
			c.JWT.Secret, c.JWT.PreviousSecret, c.JWT.PreviousSecretValidUntil = strings.Repeat("s", 32), strings.Repeat("p", 32), "2030-01-02T15:04:05Z"
		}},
		{"shortest JWT expiry", func(c *Config) { c.JWT.Expiry = 30 * time.Second }},
		{"longest JWT expiry", func(c *Config) { c.JWT.Expiry = 7 * 24 * time.Hour }},
		{"text debug logs", func(c *Config) { c.Log = LogConfig{Level: "debug", Format: "text"} }},
		{"a subset of services", func(c *Config) { c.Services = []string{"realtime"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			tt.mutate(&c)
			require.NoError(t, c.Validate())
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Server.Port = 0
	c.Log.Level = "loud"
	c.Services = []string{"x", "y"}
	var fields []string
	for _, fe := range fieldErrorsIn(c.Validate()) {
		fields = append(fields, fe.Field)
	}
	require.Equal(t, []string{"services", "services", "server.port", "log.level"}, fields)
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	t.Parallel()
	const password = "hunter2-very-secret"
	c := Defaults()
	c.JWT.Secret = "short-" + password
	c.Database.URL = "postgres://app:" + password + "@db:notaport/app"
	c.Redis.URL = "http://user:" + password + "@cache:6379"
	err := c.Validate()
	require.Len(t, fieldErrorsIn(err), 3)
	require.NotContains(t, err.Error(), password)
	require.ErrorContains(t, err, `postgres://app:[redacted]@db:notaport/app`, "the URL is shown without its password")
}

func TestFieldErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Field: "server.port", Reason: "must be between 1 and 65535", Value: 70000}, "server.port: must be between 1 and 65535 (got 70000)"},
		{FieldError{Field: "server.port", Reason: "must be a whole number", Value: "abc", Source: "GOFORWARD_SERVER_PORT"}, `server.port: must be a whole number (got "abc" from GOFORWARD_SERVER_PORT)`},
		{FieldError{Field: "jwt.secret", Reason: "too short", Source: "JWT_SECRET"}, "jwt.secret: too short (from JWT_SECRET)"},
		{FieldError{Field: "jwt.expiry", Reason: "too long", Value: 192 * time.Hour}, "jwt.expiry: too long (got 192h)"},
		{FieldError{Field: "services", Reason: "must name at least one service"}, "services: must name at least one service"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.err.Error())
	}
}
