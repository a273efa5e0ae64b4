// Package config holds Go Forward's one configuration tree: its defaults, how it is loaded
// from a YAML file, environment variables and flags, and how it is validated.
//
// The struct tree below is the single source of truth. Each leaf's `koanf` tag gives its key
// (server.max_body_bytes), from which its environment variable follows
// (GOFORWARD_SERVER_MAX_BODY_BYTES); its `doc` tag documents it in EnvVars and
// DocumentedYAML; `envalias` names conventional variables that also set it (DATABASE_URL);
// `redact` marks secrets ("value": the whole value, "password": the password inside a
// connection URL). Defaults come from Defaults. Nothing else lists the settings, so the
// defaults, the environment variable list and the docs cannot drift apart.
package config

import (
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment names accepted in Config.Environment.
const (
	EnvDevelopment = "development"
	EnvStaging     = "staging"
	EnvProduction  = "production"
)

// Config is the whole configuration of a Go Forward node. The zero value is not useful:
// start from Defaults or Load. Each field is documented by its doc tag, which EnvVars and
// DocumentedYAML publish; goforward.example.yaml at the repository root shows every field
// with its default.
type Config struct {
	Environment string         `koanf:"environment" envalias:"GOFORWARD_ENV" doc:"Deployment environment: development, staging or production. Production refuses to start while a hard requirement fails (goforward env check lists them)."`
	DataDir     string         `koanf:"data_dir" doc:"Directory for the managed PostgreSQL cluster, the generated JWT secret and local file storage."`
	Services    []string       `koanf:"services" doc:"Services this node runs, out of auth, rest, realtime, storage, admin, meta, functions (the Go handlers a program embedding Go Forward registers) and dashboard (the admin dashboard at /); a subset lets each service be deployed on its own."`
	Server      ServerConfig   `koanf:"server" doc:"The HTTP listener that serves every service."`
	Database    DatabaseConfig `koanf:"database" doc:"PostgreSQL: an external server, or the cluster managed under data_dir."`
	Redis       RedisConfig    `koanf:"redis" doc:"Redis, shared by the nodes of one deployment: realtime fan-out and presence, and the gateway's and auth's rate limits."`
	JWT         JWTConfig      `koanf:"jwt" doc:"Signing of access tokens and of the anon and service-role keys (HS256)."`
	Log         LogConfig      `koanf:"log" doc:"Structured logging to stderr."`
	Auth        AuthConfig     `koanf:"auth" doc:"The auth service (/auth/v1), compatible with Supabase Auth (GoTrue)."`
	REST        RESTConfig     `koanf:"rest" doc:"The REST service (/rest/v1), compatible with PostgREST."`
	Storage     StorageConfig  `koanf:"storage" doc:"The storage service (/storage/v1), compatible with Supabase Storage."`
	Realtime    RealtimeConfig `koanf:"realtime" doc:"The realtime service (/realtime/v1), compatible with Supabase Realtime."`
	Admin       AdminConfig    `koanf:"admin" doc:"The admin service (/admin/v1): administrators' sessions."`
	Audit       AuditConfig    `koanf:"audit" doc:"The audit log of administrative and security events."`
	Alerts      AlertsConfig   `koanf:"alerts" doc:"The security monitor: rules over the audit log, alerts in goforward.security_alerts, a webhook, e-mail and actions."`
	Migrations  MigrateConfig  `koanf:"migrations" doc:"The project's own schema migrations: files in a directory, history in goforward.migrations."`
	SQL         SQLConfig      `koanf:"sql" doc:"The guarded SQL runner of the meta service (POST /pg/query)."`
}

// ServerConfig configures the single HTTP listener.
type ServerConfig struct {
	Host              string          `koanf:"host" doc:"Address to listen on; 0.0.0.0 or :: listens on every interface."`
	Port              int             `koanf:"port" doc:"TCP port to listen on."`
	PublicURL         string          `koanf:"public_url" doc:"Base URL that clients reach this node at, used in links and redirects; empty means http://host:port."`
	ReadHeaderTimeout time.Duration   `koanf:"read_header_timeout" doc:"Time allowed to read a request's headers."`
	ReadTimeout       time.Duration   `koanf:"read_timeout" doc:"Time allowed to read a whole request, body included."`
	WriteTimeout      time.Duration   `koanf:"write_timeout" doc:"Time allowed to write a response."`
	IdleTimeout       time.Duration   `koanf:"idle_timeout" doc:"How long an idle keep-alive connection stays open."`
	ShutdownTimeout   time.Duration   `koanf:"shutdown_timeout" doc:"How long a graceful shutdown waits for in-flight requests."`
	MaxBodyBytes      int64           `koanf:"max_body_bytes" doc:"Largest request body accepted, in bytes."`
	Gzip              bool            `koanf:"gzip" doc:"Compress responses for clients that accept gzip."`
	TrustedProxies    []string        `koanf:"trusted_proxies" doc:"CIDRs of reverse proxies whose X-Forwarded-For header is believed; empty trusts none."`
	CORS              CORSConfig      `koanf:"cors" doc:"Cross-origin requests from browsers."`
	RateLimit         RateLimitConfig `koanf:"rate_limit" doc:"Request rate limit of the gateway, per verified user (the sub of a valid JWT) and otherwise per client IP (IPv6 per /64); /health, /ready and /metrics are never limited."`
}

// CORSConfig lists which browser origins may call the API.
type CORSConfig struct {
	AllowedOrigins   []string      `koanf:"allowed_origins" doc:"Origins allowed to call the API, such as https://app.example.com; \"*\" allows any."`
	AllowCredentials bool          `koanf:"allow_credentials" doc:"Allow cookies and HTTP authentication on cross-origin requests."`
	MaxAge           time.Duration `koanf:"max_age" doc:"How long browsers may cache a preflight response."`
}

// RateLimitConfig is a token bucket per verified user, else per client address.
type RateLimitConfig struct {
	RequestsPerSecond float64 `koanf:"requests_per_second" doc:"Sustained requests per second per user or client IP; 0 turns the gateway's rate limit off."`
	Burst             int     `koanf:"burst" doc:"Requests a user or client IP may make at once above the sustained rate."`
	ExemptServiceRole bool    `koanf:"exempt_service_role" doc:"Leave requests made with the service-role key unlimited, so a server-side app using it from one address is not throttled as one client."`
}

// DatabaseConfig configures the PostgreSQL connection and the managed cluster.
type DatabaseConfig struct {
	URL                   string                 `koanf:"url" envalias:"DATABASE_URL" redact:"password" doc:"PostgreSQL connection string (postgres://user:password@host:5432/db or key=value pairs); empty runs a managed cluster under data_dir."`
	MaxConns              int32                  `koanf:"max_conns" doc:"Largest number of pooled connections; 0 means 4 per available CPU (GOMAXPROCS)."`
	BinDir                string                 `koanf:"bin_dir" doc:"Directory holding the PostgreSQL server binaries for the managed cluster; empty finds them (pg_config, PATH, /usr/lib/postgresql/*/bin)."`
	Port                  int                    `koanf:"port" doc:"TCP port of the managed cluster on 127.0.0.1; 0 picks a free port at first start and keeps it."`
	AuthenticatorPassword string                 `koanf:"authenticator_password" redact:"value" doc:"Password of the authenticator login role; empty generates one and keeps it in data_dir."`
	StatementTimeout      StatementTimeoutConfig `koanf:"statement_timeout" doc:"Statement timeout applied per request role, as Supabase does; 0 means none."`
	ConnectTimeout        time.Duration          `koanf:"connect_timeout" doc:"Time allowed to open one database connection."`
	PreparedStatements    bool                   `koanf:"prepared_statements" doc:"Prepare each request's SQL once per connection and reuse it (PostgREST's db-prepared-statements); turn off behind a pooler in transaction mode, such as PgBouncer, which cannot keep prepared statements between transactions."`
	Restart               RestartConfig          `koanf:"restart" doc:"How the managed cluster is restarted when its server dies (crash recovery runs at that start); ignored with database.url."`
	ReadReplicas          []string               `koanf:"read_replicas" redact:"password" doc:"URLs of streaming replicas of database.url (postgres://...; the authenticator's credentials replace theirs) on which REST runs GET and HEAD requests for tables and views; a replica that lags or fails is skipped. Empty: every request runs on the primary."`
	MaxReplicaLag         time.Duration          `koanf:"max_replica_lag" doc:"How far a read replica may be behind the primary and still serve reads; a replica later than this is skipped until it catches up."`
}

// RestartConfig bounds the supervision of the managed cluster's server.
type RestartConfig struct {
	MaxFailures int           `koanf:"max_failures" doc:"Unexpected exits and failed restarts within window after which goforward gives up and exits, naming postgres.log."`
	Window      time.Duration `koanf:"window" doc:"Period over which max_failures is counted."`
}

// StatementTimeoutConfig bounds how long a single statement may run for each request role.
type StatementTimeoutConfig struct {
	Anon          time.Duration `koanf:"anon" doc:"For requests made with the anon key."`
	Authenticated time.Duration `koanf:"authenticated" doc:"For requests made by signed-in users."`
	ServiceRole   time.Duration `koanf:"service_role" doc:"For requests made with the service-role key."`
}

// RedisConfig configures the optional Redis server.
type RedisConfig struct {
	URL             string `koanf:"url" envalias:"REDIS_URL" redact:"password" doc:"Redis URL (redis:// or rediss://). When set, realtime carries broadcasts, presence and database changes between nodes through it, the rate limits (the gateway's, auth's and table security's per-table ones) are counted in it for all nodes together (each node limits on its own while Redis is unreachable), and the security monitor's address blocks reach every node through it. Empty keeps all of it inside this process, for a single node."`
	RateLimitPrefix string `koanf:"rate_limit_prefix" doc:"Prefix of the Redis keys holding rate limits; deployments sharing one Redis need different prefixes."`
}

// JWTConfig configures token signing.
type JWTConfig struct {
	Secret string `koanf:"secret" envalias:"JWT_SECRET" redact:"value" doc:"HS256 signing secret of at least 32 characters, shared by every node; empty generates one at first start and keeps it in data_dir."`
	// PreviousSecret is how a configured secret is rotated (goforward keys rotate-jwt-secret
	// rotates only the data directory's own): the replaced secret, accepted for a grace period.
	PreviousSecret           string        `koanf:"previous_secret" redact:"value" doc:"When rotating jwt.secret: the secret it replaced. Tokens it signed (sessions, the old anon and service-role keys) are accepted until jwt.previous_secret_valid_until, and TOTP secrets encrypted with a key derived from it are re-encrypted with the new one at start, so MFA keeps working. Empty: none."`
	PreviousSecretValidUntil string        `koanf:"previous_secret_valid_until" doc:"End of jwt.previous_secret's grace period, as an RFC 3339 time (2030-01-02T15:04:05Z). Required with jwt.previous_secret."`
	Expiry                   time.Duration `koanf:"expiry" doc:"Lifetime of a user's access token."`
	Issuer                   string        `koanf:"issuer" doc:"Value of the iss claim in issued tokens."`
	// Audience works like PostgREST's jwt-aud, except that a token without aud is refused
	// too; only the node's own anon and service-role keys, which have no aud, are exempt.
	Audience string `koanf:"audience" doc:"When set, every JWT presented (apikey, Bearer, realtime access_token) other than this node's anon and service-role keys must name it in its aud claim; the auth service's access tokens carry authenticated (GoTrue's default GOTRUE_JWT_AUD). Empty checks no audience."`
}

// PreviousSecretDeadline is the end of jwt.previous_secret's grace period; false when no
// previous secret is configured (Validate has checked the time).
func (j JWTConfig) PreviousSecretDeadline() (time.Time, bool) {
	if j.PreviousSecret == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, j.PreviousSecretValidUntil)
	return t, err == nil
}

// LogConfig configures the structured logger.
type LogConfig struct {
	Level  string `koanf:"level" doc:"Lowest level logged: debug, info, warn or error."`
	Format string `koanf:"format" doc:"Log line format: json or text."`
}

// KnownServices returns the names accepted in Config.Services, in the order they are
// documented: exactly the services this binary can mount (internal/cli's tests hold the two
// lists together), so a name is accepted only once its service exists.
func KnownServices() []string {
	return []string{"auth", "rest", "realtime", "storage", "admin", "meta", "functions", "dashboard"}
}

// Defaults returns the configuration used when nothing is set: a development node on
// 127.0.0.1:8080 running every service against a managed cluster in ./goforward-data.
// Statement timeouts are Supabase's (anon 3s, authenticated 8s, service role none).
func Defaults() Config {
	return Config{
		Environment: EnvDevelopment,
		DataDir:     "./goforward-data",
		Services:    KnownServices(),
		Server: ServerConfig{
			Host:              "127.0.0.1",
			Port:              8080,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   15 * time.Second,
			MaxBodyBytes:      10 << 20,
			Gzip:              true,
			CORS:              CORSConfig{MaxAge: time.Hour},
			RateLimit:         RateLimitConfig{RequestsPerSecond: 100, Burst: 200, ExemptServiceRole: true},
		},
		Database: DatabaseConfig{
			StatementTimeout: StatementTimeoutConfig{
				Anon:          3 * time.Second,
				Authenticated: 8 * time.Second,
			},
			ConnectTimeout:     10 * time.Second,
			PreparedStatements: true,
			Restart:            RestartConfig{MaxFailures: 5, Window: 5 * time.Minute},
			MaxReplicaLag:      5 * time.Second,
		},
		Redis: RedisConfig{RateLimitPrefix: "goforward:ratelimit:"},
		JWT: JWTConfig{
			Expiry: time.Hour,
			Issuer: "goforward",
		},
		Log:      LogConfig{Level: "info", Format: "json"},
		Auth:     defaultAuth(),
		REST:     defaultREST(),
		Storage:  defaultStorage(),
		Realtime: defaultRealtime(),
		Admin:    defaultAdmin(),
		SQL:      defaultSQL(),
		Alerts:   defaultAlerts(),
	}
}

// IsDevelopment reports whether the node runs in the development environment.
func (c Config) IsDevelopment() bool { return c.Environment == EnvDevelopment }

// IsProduction reports whether the node runs in the production environment, where
// ProductionProblems must be empty for it to start.
func (c Config) IsProduction() bool { return c.Environment == EnvProduction }

// ServiceEnabled reports whether the named service is in Services.
func (c Config) ServiceEnabled(name string) bool { return slices.Contains(c.Services, name) }

// ListenAddr is the host:port the HTTP server listens on.
func (c Config) ListenAddr() string {
	return net.JoinHostPort(c.Server.Host, strconv.Itoa(c.Server.Port))
}

// APIURL is the base URL clients use: Server.PublicURL without a trailing slash, or else
// http://host:port, with a listen-on-everything host (0.0.0.0, ::) shown as localhost so
// that the printed URL can be opened.
func (c Config) APIURL() string {
	if c.Server.PublicURL != "" {
		return strings.TrimRight(c.Server.PublicURL, "/")
	}
	host := c.Server.Host
	if addr, err := netip.ParseAddr(host); err == nil && addr.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(c.Server.Port))
}

// EffectiveMaxConns is the pool size to use: MaxConns, or 4 × GOMAXPROCS when it is 0.
func (d DatabaseConfig) EffectiveMaxConns() int32 {
	if d.MaxConns > 0 {
		return d.MaxConns
	}
	return int32(4 * runtime.GOMAXPROCS(0))
}
