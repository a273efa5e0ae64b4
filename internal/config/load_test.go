package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	const file = `
server:
  port: 9001
  cors:
    max_age: 2h
services: [auth]
log:
  level: warn
`
	tests := []struct {
		name      string
		file      string
		env       map[string]string
		overrides map[string]any
		check     func(t *testing.T, c Config)
	}{
		{
			name: "defaults alone",
			check: func(t *testing.T, c Config) {
				require.Equal(t, Defaults(), c)
			},
		},
		{
			name: "file over defaults",
			file: file,
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9001, c.Server.Port)
				require.Equal(t, 2*time.Hour, c.Server.CORS.MaxAge)
				require.Equal(t, []string{"auth"}, c.Services)
				require.Equal(t, "warn", c.Log.Level)
				require.Equal(t, "127.0.0.1", c.Server.Host, "keys the file leaves out keep their defaults")
			},
		},
		{
			name: "environment over file",
			file: file,
			env: map[string]string{
				"GOFORWARD_SERVER_PORT":           "9002",
				"GOFORWARD_SERVICES":              "rest,storage",
				"GOFORWARD_SERVER_CORS_MAX_AGE":   "90m",
				"GOFORWARD_SERVER_MAX_BODY_BYTES": "2048",
			},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9002, c.Server.Port)
				require.Equal(t, []string{"rest", "storage"}, c.Services)
				require.Equal(t, 90*time.Minute, c.Server.CORS.MaxAge)
				require.Equal(t, int64(2048), c.Server.MaxBodyBytes)
				require.Equal(t, "warn", c.Log.Level, "the file still sets what the environment does not")
			},
		},
		{
			name:      "overrides over environment and file",
			file:      file,
			env:       map[string]string{"GOFORWARD_SERVER_PORT": "9002", "GOFORWARD_DATA_DIR": "/env"},
			overrides: map[string]any{"server.port": 9003, "data_dir": "/flag", "services": []string{"storage"}},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9003, c.Server.Port)
				require.Equal(t, "/flag", c.DataDir)
				require.Equal(t, []string{"storage"}, c.Services)
				require.Equal(t, 2*time.Hour, c.Server.CORS.MaxAge)
			},
		},
		{
			name:      "overrides given as strings are converted like environment values",
			overrides: map[string]any{"server.port": "9004", "server.gzip": "false", "jwt.expiry": "15m"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9004, c.Server.Port)
				require.False(t, c.Server.Gzip)
				require.Equal(t, 15*time.Minute, c.JWT.Expiry)
			},
		},
		{
			name:      "a nil override leaves the value below it",
			env:       map[string]string{"GOFORWARD_SERVER_PORT": "9005"},
			overrides: map[string]any{"server.port": nil},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9005, c.Server.Port)
			},
		},
		{
			name: "empty environment variables count as unset",
			file: file,
			env:  map[string]string{"GOFORWARD_SERVER_PORT": "", "GOFORWARD_LOG_LEVEL": ""},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9001, c.Server.Port)
				require.Equal(t, "warn", c.Log.Level)
			},
		},
		{
			name: "every kind of value from the environment",
			env: map[string]string{
				"GOFORWARD_SERVER_GZIP":                           "false",
				"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND": "12.5",
				"GOFORWARD_DATABASE_MAX_CONNS":                    "16",
				"GOFORWARD_DATABASE_STATEMENT_TIMEOUT_ANON":       "1500ms",
				"GOFORWARD_JWT_EXPIRY":                            "1h30m",
				"GOFORWARD_SERVER_PUBLIC_URL":                     "https://api.example.com",
			},
			check: func(t *testing.T, c Config) {
				require.False(t, c.Server.Gzip)
				require.InDelta(t, 12.5, c.Server.RateLimit.RequestsPerSecond, 0)
				require.Equal(t, int32(16), c.Database.MaxConns)
				require.Equal(t, 1500*time.Millisecond, c.Database.StatementTimeout.Anon)
				require.Equal(t, 90*time.Minute, c.JWT.Expiry)
				require.Equal(t, "https://api.example.com", c.Server.PublicURL)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := LoadOptions{Getenv: envOf(tt.env), Overrides: tt.overrides}
			if tt.file != "" {
				opts.File = writeConfigFile(t, tt.file)
			} else {
				opts.File = writeConfigFile(t, "")
			}
			c, err := Load(opts)
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadAliases(t *testing.T) {
	t.Parallel()
	const (
		secretA = "alias-secret-0123456789abcdefghijklmnop"
		secretB = "canonical-secret-0123456789abcdefghijkl"
	)
	tests := []struct {
		name      string
		file      string
		env       map[string]string
		overrides map[string]any
		check     func(t *testing.T, c Config)
	}{
		{
			name: "conventional names set their keys",
			env: map[string]string{
				"DATABASE_URL":  "postgres://app:pw@db.internal:5432/app",
				"REDIS_URL":     "redis://cache.internal:6379/0",
				"JWT_SECRET":    secretA,
				"GOFORWARD_ENV": "staging",
			},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://app:pw@db.internal:5432/app", c.Database.URL)
				require.Equal(t, "redis://cache.internal:6379/0", c.Redis.URL)
				require.Equal(t, secretA, c.JWT.Secret)
				require.Equal(t, "staging", c.Environment)
			},
		},
		{
			name: "the GOFORWARD_ name wins over its alias",
			env: map[string]string{
				"DATABASE_URL":           "postgres://alias@a/db",
				"GOFORWARD_DATABASE_URL": "postgres://canonical@b/db",
				"REDIS_URL":              "redis://alias:6379",
				"GOFORWARD_REDIS_URL":    "redis://canonical:6379",
				"JWT_SECRET":             secretA,
				"GOFORWARD_JWT_SECRET":   secretB,
				"GOFORWARD_ENV":          "staging",
				"GOFORWARD_ENVIRONMENT":  "production",
			},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://canonical@b/db", c.Database.URL)
				require.Equal(t, "redis://canonical:6379", c.Redis.URL)
				require.Equal(t, secretB, c.JWT.Secret)
				require.Equal(t, "production", c.Environment)
			},
		},
		{
			name: "an empty GOFORWARD_ name lets the alias through",
			env:  map[string]string{"GOFORWARD_DATABASE_URL": "", "DATABASE_URL": "postgres://alias@a/db"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://alias@a/db", c.Database.URL)
			},
		},
		{
			name: "an alias wins over the file",
			file: "database:\n  url: postgres://file@f/db\nenvironment: staging\n",
			env:  map[string]string{"DATABASE_URL": "postgres://alias@a/db", "GOFORWARD_ENV": "production"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://alias@a/db", c.Database.URL)
				require.Equal(t, "production", c.Environment)
			},
		},
		{
			name:      "overrides win over an alias",
			env:       map[string]string{"DATABASE_URL": "postgres://alias@a/db"},
			overrides: map[string]any{"database.url": "postgres://flag@x/db"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "postgres://flag@x/db", c.Database.URL)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(LoadOptions{File: writeConfigFile(t, tt.file), Getenv: envOf(tt.env), Overrides: tt.overrides})
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadCommaSeparatedLists(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{File: writeConfigFile(t, ""), Getenv: envOf(map[string]string{
		"GOFORWARD_SERVICES":                    " auth, rest,,realtime ",
		"GOFORWARD_SERVER_TRUSTED_PROXIES":      "10.0.0.0/8,fd00::/8",
		"GOFORWARD_SERVER_CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000",
	})})
	require.NoError(t, err)
	require.Equal(t, []string{"auth", "rest", "realtime"}, c.Services)
	require.Equal(t, []string{"10.0.0.0/8", "fd00::/8"}, c.Server.TrustedProxies)
	require.Equal(t, []string{"https://app.example.com", "http://localhost:3000"}, c.Server.CORS.AllowedOrigins)
}

func TestLoadFileSelection(t *testing.T) {
	t.Parallel()
	explicit := writeConfigFile(t, "server:\n  port: 9101\n")
	fromEnv := writeConfigFile(t, "server:\n  port: 9102\n")
	missing := filepath.Join(t.TempDir(), "absent.yaml")

	t.Run("GOFORWARD_CONFIG names the file", func(t *testing.T) {
		t.Parallel()
		c, err := Load(LoadOptions{Getenv: envOf(map[string]string{"GOFORWARD_CONFIG": fromEnv})})
		require.NoError(t, err)
		require.Equal(t, 9102, c.Server.Port)
	})
	t.Run("an explicit file wins over GOFORWARD_CONFIG", func(t *testing.T) {
		t.Parallel()
		c, err := Load(LoadOptions{File: explicit, Getenv: envOf(map[string]string{"GOFORWARD_CONFIG": fromEnv})})
		require.NoError(t, err)
		require.Equal(t, 9101, c.Server.Port)
	})
	for name, opts := range map[string]LoadOptions{
		"a missing explicit file is an error":         {File: missing, Getenv: envOf(nil)},
		"a missing GOFORWARD_CONFIG file is an error": {Getenv: envOf(map[string]string{"GOFORWARD_CONFIG": missing})},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(opts)
			require.ErrorIs(t, err, fs.ErrNotExist)
			require.ErrorContains(t, err, missing)
		})
	}
}

// Not parallel: it changes the working directory to see ./goforward.yaml picked up.
func TestLoadReadsGoforwardYAMLInWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	c, err := Load(LoadOptions{Getenv: envOf(nil)})
	require.NoError(t, err, "no file at all is fine")
	require.Equal(t, 8080, c.Server.Port)

	require.NoError(t, os.WriteFile(filepath.Join(dir, DefaultFile), []byte("server:\n  port: 9200\n"), 0o600))
	c, err = Load(LoadOptions{Getenv: envOf(nil)})
	require.NoError(t, err)
	require.Equal(t, 9200, c.Server.Port)
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		file       string
		wantFields []string // FieldErrors expected, in order; nil when the file is unreadable
		wantText   string
	}{
		{name: "unknown key", file: "server:\n  prot: 9000\n", wantFields: []string{"server.prot"}, wantText: "server.prot: unknown key"},
		{name: "unknown top-level key", file: "databse:\n  url: x\n", wantFields: []string{"databse.url"}, wantText: "databse.url: unknown key"},
		{name: "keys are case-sensitive", file: "Server:\n  port: 9000\n", wantFields: []string{"Server.port"}, wantText: "unknown key"},
		{name: "every unknown key is reported", file: "a: 1\nserver:\n  b: 2\n  port: 9000\n", wantFields: []string{"a", "server.b"}, wantText: "server.b: unknown key"},
		{name: "a value where a section belongs", file: "server: 8080\n", wantFields: []string{"server"}, wantText: "server: must be a mapping of settings"},
		{name: "settings nested under a value", file: "server:\n  port:\n    number: 1\n", wantFields: []string{"server.port.number"}, wantText: "unknown key"},
		{name: "broken YAML", file: "server:\n  port: [9000\n", wantText: "yaml"},
		{name: "a list instead of a mapping", file: "- server\n- port\n", wantText: "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfigFile(t, tt.file)
			_, err := Load(LoadOptions{File: path, Getenv: envOf(nil)})
			require.Error(t, err)
			require.ErrorContains(t, err, tt.wantText)
			require.ErrorContains(t, err, path, "the error names the file")
			var got []string
			for _, fe := range fieldErrorsIn(err) {
				got = append(got, fe.Field)
				require.Equal(t, path, fe.Source)
			}
			require.Equal(t, tt.wantFields, got)
		})
	}
}

func TestLoadEmptySectionsAndNullsKeepDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{File: writeConfigFile(t, "server:\n  port:\n  cors: {}\nredis:\njwt: ~\n"), Getenv: envOf(nil)})
	require.NoError(t, err)
	require.Equal(t, Defaults(), c)
}

func TestLoadTypeErrorsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		file       string
		env        map[string]string
		overrides  map[string]any
		wantField  string
		wantSource string // "file" stands for the temporary file's path
		wantText   string
	}{
		{name: "integer from env", env: map[string]string{"GOFORWARD_SERVER_PORT": "abc"}, wantField: "server.port", wantSource: "GOFORWARD_SERVER_PORT", wantText: `server.port: must be a whole number (got "abc" from GOFORWARD_SERVER_PORT)`},
		{name: "integer from file", file: "server:\n  port: eighty\n", wantField: "server.port", wantSource: "file", wantText: "server.port: must be a whole number"},
		{name: "fractional integer", file: "server:\n  rate_limit:\n    burst: 1.5\n", wantField: "server.rate_limit.burst", wantSource: "file", wantText: "must be a whole number"},
		{name: "int32 overflow", env: map[string]string{"GOFORWARD_DATABASE_MAX_CONNS": "3000000000"}, wantField: "database.max_conns", wantSource: "GOFORWARD_DATABASE_MAX_CONNS", wantText: "at most 32 bits"},
		{name: "duration without unit", env: map[string]string{"GOFORWARD_SERVER_READ_TIMEOUT": "30"}, wantField: "server.read_timeout", wantSource: "GOFORWARD_SERVER_READ_TIMEOUT", wantText: "must be a duration"},
		{name: "bare number as duration in file", file: "jwt:\n  expiry: 3600\n", wantField: "jwt.expiry", wantSource: "file", wantText: "must be a duration"},
		{name: "boolean", env: map[string]string{"GOFORWARD_SERVER_GZIP": "maybe"}, wantField: "server.gzip", wantSource: "GOFORWARD_SERVER_GZIP", wantText: "server.gzip: must be true or false"},
		{name: "YAML 1.1 yes is not a boolean", file: "server:\n  gzip: yes\n", wantField: "server.gzip", wantSource: "file", wantText: "must be true or false"},
		{name: "float", env: map[string]string{"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND": "fast"}, wantField: "server.rate_limit.requests_per_second", wantSource: "GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND", wantText: "must be a number"},
		{name: "non-finite float", env: map[string]string{"GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND": "Inf"}, wantField: "server.rate_limit.requests_per_second", wantSource: "GOFORWARD_SERVER_RATE_LIMIT_REQUESTS_PER_SECOND", wantText: "must be a finite number"},
		{name: "list given a mapping", file: "services:\n  auth: true\n", wantField: "services.auth", wantSource: "file", wantText: "unknown key"},
		{name: "list of lists", file: "services: [[auth]]\n", wantField: "services", wantSource: "file", wantText: "must be a list of text values"},
		{name: "text given a list", file: "server:\n  host: [a, b]\n", wantField: "server.host", wantSource: "file", wantText: "must be a single text value"},
		{name: "override of the wrong type", overrides: map[string]any{"server.gzip": 3}, wantField: "server.gzip", wantSource: "flags", wantText: "server.gzip: must be true or false (got 3 from flags)"},
		{name: "unknown override", overrides: map[string]any{"server.prot": 1}, wantField: "server.prot", wantSource: "flags", wantText: "server.prot: unknown key (from flags)"},
		{name: "override of a section", overrides: map[string]any{"server": map[string]any{"port": 1}}, wantField: "server", wantSource: "flags", wantText: "server: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfigFile(t, tt.file)
			_, err := Load(LoadOptions{File: path, Getenv: envOf(tt.env), Overrides: tt.overrides})
			fe := onlyFieldError(t, err)
			require.Equal(t, tt.wantField, fe.Field)
			wantSource := tt.wantSource
			if wantSource == "file" {
				wantSource = path
			}
			require.Equal(t, wantSource, fe.Source)
			require.ErrorContains(t, err, tt.wantText)
		})
	}
}

func TestLoadNeverEchoesSecretsInTypeErrors(t *testing.T) {
	t.Parallel()
	const secret = "do-not-print-me-0123456789abcdefghijkl"
	path := writeConfigFile(t, "jwt:\n  secret: ["+secret+"]\ndatabase:\n  authenticator_password: {x: "+secret+"}\n")
	_, err := Load(LoadOptions{File: path, Getenv: envOf(nil)})
	require.Error(t, err)
	require.Len(t, fieldErrorsIn(err), 2)
	require.ErrorContains(t, err, "jwt.secret: must be a single text value")
	require.NotContains(t, err.Error(), secret)
}

func TestLoadValidationErrorsNameTheirSource(t *testing.T) {
	t.Parallel()
	path := writeConfigFile(t, "server:\n  port: 70000\nlog:\n  level: loud\n")
	_, err := Load(LoadOptions{File: path, Getenv: envOf(map[string]string{
		"GOFORWARD_SERVER_HOST": " ",
		"JWT_SECRET":            "too-short-secret",
	}), Overrides: map[string]any{"log.format": "xml"}})
	require.Error(t, err)
	sources := map[string]string{}
	for _, fe := range fieldErrorsIn(err) {
		sources[fe.Field] = fe.Source
	}
	require.Equal(t, map[string]string{
		"server.port": path,
		"log.level":   path,
		"server.host": "GOFORWARD_SERVER_HOST",
		"jwt.secret":  "JWT_SECRET",
		"log.format":  "flags",
	}, sources)
	require.ErrorContains(t, err, "server.port: must be between 1 and 65535 (got 70000 from "+path+")")
	require.ErrorContains(t, err, "jwt.secret: must be at least 32 characters (it has 16), or empty to generate one (from JWT_SECRET)")
	require.NotContains(t, err.Error(), "too-short-secret")
}

func TestLoadReportsTypeAndValidationErrorsTogether(t *testing.T) {
	t.Parallel()
	_, err := Load(LoadOptions{File: writeConfigFile(t, "bogus: 1\n"), Getenv: envOf(map[string]string{
		"GOFORWARD_SERVER_PORT": "abc",
		"GOFORWARD_LOG_LEVEL":   "loud",
	})})
	var fields []string
	for _, fe := range fieldErrorsIn(err) {
		fields = append(fields, fe.Field)
	}
	require.Equal(t, []string{"bogus", "server.port", "log.level"}, fields)
}

// What YAML prints, Load reads back unchanged: `goforward config` output is a valid file.
func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Environment = EnvStaging
	c.Services = []string{"auth", "rest"}
	c.Server.Port = 9300
	c.Server.PublicURL = "https://api.example.com"
	c.Server.TrustedProxies = []string{"10.0.0.0/8"}
	c.Server.CORS.AllowedOrigins = []string{"*"}
	c.Server.CORS.MaxAge = 90 * time.Second
	c.Server.RateLimit.RequestsPerSecond = 2.5
	c.Server.Gzip = false
	c.Database.URL = "postgres://app:p%40ss@db:5432/app?sslmode=require"
	c.Database.MaxConns = 12
	c.Database.StatementTimeout.ServiceRole = 1500 * time.Millisecond
	c.JWT.Secret = "0123456789012345678901234567890123456789"
	c.JWT.Issuer = "12345"
	c.Log.Format = "text"

	out, err := c.YAML()
	require.NoError(t, err)
	loaded, err := Load(LoadOptions{File: writeConfigFile(t, string(out)), Getenv: envOf(nil)})
	require.NoError(t, err)
	require.Equal(t, c, loaded)
}

// TestLoadDefaultsFromCode: what a program embedding Go Forward sets in code replaces the
// built-in defaults, and the file, the environment and the flags still override it.
func TestLoadDefaultsFromCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "goforward.yaml")
	require.NoError(t, os.WriteFile(path, []byte("log:\n  level: warn\n"), 0o600))
	fromCode := func(c *Config) {
		c.Server.Port = 9100
		c.Log.Level = "debug"
		c.REST.MaxRows = 50
		c.Services = []string{"rest", "functions"}
	}
	env := map[string]string{"GOFORWARD_REST_MAX_ROWS": "70"}
	c, err := Load(LoadOptions{File: path, Getenv: func(k string) string { return env[k] }, Defaults: fromCode,
		Overrides: map[string]any{"server.port": 9200}})
	require.NoError(t, err)
	require.Equal(t, 9200, c.Server.Port, "a flag wins over code")
	require.Equal(t, "warn", c.Log.Level, "the file wins over code")
	require.Equal(t, 70, c.REST.MaxRows, "the environment wins over code")
	require.Equal(t, []string{"rest", "functions"}, c.Services, "code wins over the built-in defaults")

	_, err = Load(LoadOptions{File: path, Getenv: func(string) string { return "" },
		Defaults: func(c *Config) { c.Server.Port = -1 }})
	require.ErrorContains(t, err, "server.port", "code-set values are validated like any other")
}
