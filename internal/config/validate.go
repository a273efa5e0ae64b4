package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// FieldError is one invalid setting. Load and Validate return several joined with
// errors.Join; use errors.As to reach them.
type FieldError struct {
	Field  string // key path, e.g. "server.port"
	Reason string // what is wrong, e.g. "must be between 1 and 65535"
	Value  any    // the offending value; nil for secrets, which are never echoed
	Source string // where the value came from (env var, file path, "flags"); "" for defaults
}

// Error reads like `server.port: must be between 1 and 65535 (got 70000 from GOFORWARD_SERVER_PORT)`.
func (e *FieldError) Error() string {
	msg := e.Field + ": " + e.Reason
	switch {
	case e.Value != nil && e.Source != "":
		return fmt.Sprintf("%s (got %s from %s)", msg, formatValue(e.Value), e.Source)
	case e.Value != nil:
		return fmt.Sprintf("%s (got %s)", msg, formatValue(e.Value))
	case e.Source != "":
		return fmt.Sprintf("%s (from %s)", msg, e.Source)
	}
	return msg
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case time.Duration:
		return formatDuration(v)
	}
	return fmt.Sprint(v)
}

// Limits on settings that other components depend on.
const (
	// MinJWTSecretLength is the shortest HS256 secret accepted; GoTrue requires 32 too.
	MinJWTSecretLength = 32
	minJWTExpiry       = 30 * time.Second
	maxJWTExpiry       = 7 * 24 * time.Hour
)

// fieldErrors collects FieldErrors in the order the checks run.
type fieldErrors []error

func (e *fieldErrors) add(field, reason string, value any) {
	*e = append(*e, &FieldError{Field: field, Reason: reason, Value: value})
}

// Validate checks every setting and returns all problems joined, each a *FieldError naming
// its key. Secret values are never part of the message.
func (c Config) Validate() error { return c.validate(nil) }

// validate is Validate with the names of the storage backends an embedding program added.
func (c Config) validate(storageBackends []string) error {
	var errs fieldErrors
	oneOf(&errs, "environment", c.Environment, []string{EnvDevelopment, EnvStaging, EnvProduction})
	if c.DataDir == "" {
		errs.add("data_dir", "must not be empty", c.DataDir)
	}
	validateServices(&errs, c.Services)
	validateServer(&errs, c.Server)
	validateDatabase(&errs, c.Database)
	validateRedis(&errs, c.Redis)
	validateJWT(&errs, c.JWT)
	oneOf(&errs, "log.level", c.Log.Level, []string{"debug", "info", "warn", "error"})
	oneOf(&errs, "log.format", c.Log.Format, []string{"json", "text"})
	validateAuth(&errs, c.Auth)
	validateREST(&errs, c.REST)
	validateStorage(&errs, c.Storage, storageBackends)
	validateRealtime(&errs, c.Realtime)
	validateAdmin(&errs, c.Admin)
	validateAudit(&errs, c.Audit)
	validateSQL(&errs, c.SQL)
	validateAlerts(&errs, c.Alerts)
	return errors.Join(errs...)
}

func oneOf(errs *fieldErrors, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		errs.add(field, "must be one of "+strings.Join(allowed, ", "), value)
	}
}

func positive(errs *fieldErrors, field string, d time.Duration) {
	if d <= 0 {
		errs.add(field, "must be a positive duration", d)
	}
}

func notNegative(errs *fieldErrors, field string, d time.Duration) {
	if d < 0 {
		errs.add(field, "must not be negative (0 means none)", d)
	}
}

func validateServices(errs *fieldErrors, services []string) {
	if len(services) == 0 {
		errs.add("services", "must name at least one service", nil)
	}
	known := KnownServices()
	for _, s := range services {
		switch {
		case slices.Contains(known, s):
		default:
			errs.add("services", "unknown service; known services are "+strings.Join(known, ", "), s)
		}
	}
}

func validateServer(errs *fieldErrors, s ServerConfig) {
	if strings.TrimSpace(s.Host) == "" {
		errs.add("server.host", "must not be empty (use 0.0.0.0 to listen on every interface)", s.Host)
	}
	if s.Port < 1 || s.Port > 65535 {
		errs.add("server.port", "must be between 1 and 65535", s.Port)
	}
	if s.PublicURL != "" {
		if reason := checkPublicURL(s.PublicURL); reason != "" {
			errs.add("server.public_url", reason, s.PublicURL)
		}
	}
	positive(errs, "server.read_header_timeout", s.ReadHeaderTimeout)
	positive(errs, "server.read_timeout", s.ReadTimeout)
	positive(errs, "server.write_timeout", s.WriteTimeout)
	positive(errs, "server.idle_timeout", s.IdleTimeout)
	positive(errs, "server.shutdown_timeout", s.ShutdownTimeout)
	if s.MaxBodyBytes <= 0 {
		errs.add("server.max_body_bytes", "must be greater than 0", s.MaxBodyBytes)
	}
	for _, cidr := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs.add("server.trusted_proxies", "must be CIDRs such as 10.0.0.0/8 (one address is 10.0.0.1/32)", cidr)
		}
	}
	for _, origin := range s.CORS.AllowedOrigins {
		if reason := checkOrigin(origin); reason != "" {
			errs.add("server.cors.allowed_origins", reason, origin)
		}
	}
	notNegative(errs, "server.cors.max_age", s.CORS.MaxAge)
	if s.RateLimit.RequestsPerSecond < 0 {
		errs.add("server.rate_limit.requests_per_second", "must not be negative (0 turns rate limiting off)", s.RateLimit.RequestsPerSecond)
	}
	if s.RateLimit.Burst < 0 {
		errs.add("server.rate_limit.burst", "must not be negative", s.RateLimit.Burst)
	}
	if s.RateLimit.RequestsPerSecond > 0 && s.RateLimit.Burst == 0 {
		errs.add("server.rate_limit.burst", "must be at least 1 while rate limiting is on, or every request is refused", s.RateLimit.Burst)
	}
}

func checkPublicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "must be an absolute http:// or https:// URL without credentials, query or fragment, such as https://api.example.com"
	}
	return ""
}

// checkOrigin accepts "*" or a browser origin: a scheme and a host, with no path. The
// scheme is not limited to http(s) because mobile shells send origins such as
// capacitor://localhost.
func checkOrigin(origin string) string {
	if origin == "*" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return `must be "*" or an origin such as https://app.example.com (scheme and host, no path)`
	}
	return ""
}

func validateDatabase(errs *fieldErrors, d DatabaseConfig) {
	if d.URL != "" {
		if reason := checkPostgresURL(d.URL); reason != "" {
			errs.add("database.url", reason, redactURL(d.URL))
		}
	}
	for _, replica := range d.ReadReplicas {
		if reason := checkPostgresURL(replica); reason != "" {
			errs.add("database.read_replicas", reason, redactURL(replica))
		} else if u, err := url.Parse(replica); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs.add("database.read_replicas", "must be a postgres:// URL", redactURL(replica))
		}
	}
	if len(d.ReadReplicas) > 0 && d.MaxReplicaLag <= 0 {
		errs.add("database.max_replica_lag", "must be positive when database.read_replicas is set", d.MaxReplicaLag)
	}
	if d.MaxConns < 0 {
		errs.add("database.max_conns", "must not be negative (0 means 4 per CPU)", d.MaxConns)
	}
	if d.Port < 0 || d.Port > 65535 {
		errs.add("database.port", "must be between 0 (a free port) and 65535", d.Port)
	}
	notNegative(errs, "database.statement_timeout.anon", d.StatementTimeout.Anon)
	notNegative(errs, "database.statement_timeout.authenticated", d.StatementTimeout.Authenticated)
	notNegative(errs, "database.statement_timeout.service_role", d.StatementTimeout.ServiceRole)
	positive(errs, "database.connect_timeout", d.ConnectTimeout)
	if d.Restart.MaxFailures < 1 {
		errs.add("database.restart.max_failures", "must be at least 1", d.Restart.MaxFailures)
	}
	positive(errs, "database.restart.window", d.Restart.Window)
}

// checkPostgresURL asks pgx itself, so that whatever passes here also connects the same
// way. pgx masks passwords in its error text; only the part after the echoed connection
// string is kept anyway.
func checkPostgresURL(raw string) string {
	if scheme, _, ok := strings.Cut(raw, "://"); ok && scheme != "postgres" && scheme != "postgresql" {
		return "must be a postgres:// or postgresql:// URL, or key=value pairs"
	}
	_, err := pgconn.ParseConfig(raw)
	if err == nil {
		return ""
	}
	detail := err.Error()
	if _, after, found := strings.Cut(detail, "`: "); found {
		detail = after
	}
	return "is not a valid PostgreSQL connection string: " + detail
}

func validateRedis(errs *fieldErrors, r RedisConfig) {
	if r.RateLimitPrefix == "" {
		errs.add("redis.rate_limit_prefix", "must not be empty", r.RateLimitPrefix)
	}
	if r.URL == "" {
		return
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		errs.add("redis.url", "must be a redis:// or rediss:// URL with a host, such as redis://localhost:6379/0", redactURL(r.URL))
	}
}

func validateJWT(errs *fieldErrors, j JWTConfig) {
	if j.Secret != "" && len(j.Secret) < MinJWTSecretLength {
		errs.add("jwt.secret", fmt.Sprintf("must be at least %d characters (it has %d), or empty to generate one", MinJWTSecretLength, len(j.Secret)), nil)
	}
	switch {
	case j.PreviousSecret == "" && j.PreviousSecretValidUntil != "":
		errs.add("jwt.previous_secret_valid_until", "is set without jwt.previous_secret", j.PreviousSecretValidUntil)
	case j.PreviousSecret == "":
	case j.Secret == "":
		errs.add("jwt.previous_secret", "needs jwt.secret: a secret generated in the data directory is rotated with goforward keys rotate-jwt-secret", nil)
	case len(j.PreviousSecret) < MinJWTSecretLength:
		errs.add("jwt.previous_secret", fmt.Sprintf("must be at least %d characters (it has %d)", MinJWTSecretLength, len(j.PreviousSecret)), nil)
	case j.PreviousSecret == j.Secret:
		errs.add("jwt.previous_secret", "is the same as jwt.secret", nil)
	default:
		if _, err := time.Parse(time.RFC3339, j.PreviousSecretValidUntil); err != nil {
			errs.add("jwt.previous_secret_valid_until", "must be an RFC 3339 time such as 2030-01-02T15:04:05Z when jwt.previous_secret is set", j.PreviousSecretValidUntil)
		}
	}
	if j.Expiry < minJWTExpiry || j.Expiry > maxJWTExpiry {
		errs.add("jwt.expiry", "must be between 30s and 168h (one week)", j.Expiry)
	}
}
