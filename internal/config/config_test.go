package config

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := Defaults()
	require.NoError(t, c.Validate())

	require.Equal(t, "development", c.Environment)
	require.True(t, c.IsDevelopment())
	require.False(t, c.IsProduction())
	require.Equal(t, "./goforward-data", c.DataDir)
	require.Equal(t, []string{"auth", "rest", "realtime", "storage", "admin", "meta", "functions", "dashboard"}, c.Services)

	require.Equal(t, "127.0.0.1", c.Server.Host)
	require.Equal(t, 8080, c.Server.Port)
	require.Empty(t, c.Server.PublicURL)
	require.Equal(t, 10*time.Second, c.Server.ReadHeaderTimeout)
	require.Equal(t, 60*time.Second, c.Server.ReadTimeout)
	require.Equal(t, 60*time.Second, c.Server.WriteTimeout)
	require.Equal(t, 120*time.Second, c.Server.IdleTimeout)
	require.Equal(t, 15*time.Second, c.Server.ShutdownTimeout)
	require.Equal(t, int64(10*1024*1024), c.Server.MaxBodyBytes)
	require.True(t, c.Server.Gzip)
	require.Empty(t, c.Server.TrustedProxies)
	require.Empty(t, c.Server.CORS.AllowedOrigins)
	require.False(t, c.Server.CORS.AllowCredentials)
	require.Equal(t, time.Hour, c.Server.CORS.MaxAge)
	require.InDelta(t, 100.0, c.Server.RateLimit.RequestsPerSecond, 0)
	require.Equal(t, 200, c.Server.RateLimit.Burst)

	require.Empty(t, c.Database.URL)
	require.Zero(t, c.Database.MaxConns)
	require.Zero(t, c.Database.Port)
	require.Equal(t, 3*time.Second, c.Database.StatementTimeout.Anon)
	require.Equal(t, 8*time.Second, c.Database.StatementTimeout.Authenticated)
	require.Zero(t, c.Database.StatementTimeout.ServiceRole)
	require.Equal(t, 10*time.Second, c.Database.ConnectTimeout)

	require.Empty(t, c.Redis.URL)
	require.Empty(t, c.JWT.Secret)
	require.Equal(t, time.Hour, c.JWT.Expiry)
	require.Equal(t, "goforward", c.JWT.Issuer)
	require.Equal(t, "info", c.Log.Level)
	require.Equal(t, "json", c.Log.Format)
}

func TestDefaultsAreIndependentCopies(t *testing.T) {
	t.Parallel()
	a := Defaults()
	a.Services[0] = "changed"
	require.Equal(t, "auth", Defaults().Services[0])
}

// The struct tags are the documentation and the environment variable names: a field
// without a doc, a key whose variable collides with another, or a type Load cannot fill
// would silently break EnvVars, the example file or Load.
func TestEveryFieldIsDocumentedAndLoadable(t *testing.T) {
	t.Parallel()
	defaults := Defaults()
	seenEnv := map[string]string{configFileEnv: "(config file)"}
	for _, f := range allFields() {
		require.NotEmpty(t, f.doc, "%s has no doc tag", f.key)
		if f.section {
			continue
		}
		names := append([]string{f.env}, f.aliases...)
		for _, name := range names {
			other, dup := seenEnv[name]
			require.False(t, dup, "%s and %s both read %s", f.key, other, name)
			seenEnv[name] = f.key
		}
		v, err := coerce(f.typ, f.value(defaults))
		require.NoError(t, err, f.key)
		require.Equal(t, f.value(defaults), v, f.key)
		asEnv := formatEnvValue(f.value(defaults))
		v, err = coerce(f.typ, asEnv)
		require.NoError(t, err, "%s default does not survive the environment", f.key)
		require.Equal(t, asEnv, formatEnvValue(v), f.key)
	}
}

func TestServiceEnabled(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Services = []string{"auth", "rest"}
	require.True(t, c.ServiceEnabled("auth"))
	require.True(t, c.ServiceEnabled("rest"))
	require.False(t, c.ServiceEnabled("realtime"))
	require.False(t, c.ServiceEnabled("Auth"))
}

func TestListenAddrAndAPIURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		host       string
		port       int
		publicURL  string
		wantListen string
		wantAPI    string
	}{
		{name: "defaults", host: "127.0.0.1", port: 8080, wantListen: "127.0.0.1:8080", wantAPI: "http://127.0.0.1:8080"},
		{name: "every IPv4 interface", host: "0.0.0.0", port: 9000, wantListen: "0.0.0.0:9000", wantAPI: "http://localhost:9000"},
		{name: "every IPv6 interface", host: "::", port: 9000, wantListen: "[::]:9000", wantAPI: "http://localhost:9000"},
		{name: "IPv6 loopback", host: "::1", port: 8080, wantListen: "[::1]:8080", wantAPI: "http://[::1]:8080"},
		{name: "host name", host: "api.internal", port: 80, wantListen: "api.internal:80", wantAPI: "http://api.internal:80"},
		{name: "public URL wins", host: "0.0.0.0", port: 8080, publicURL: "https://api.example.com", wantListen: "0.0.0.0:8080", wantAPI: "https://api.example.com"},
		{name: "public URL loses its trailing slash", host: "127.0.0.1", port: 8080, publicURL: "https://example.com/gf/", wantListen: "127.0.0.1:8080", wantAPI: "https://example.com/gf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			c.Server.Host, c.Server.Port, c.Server.PublicURL = tt.host, tt.port, tt.publicURL
			require.Equal(t, tt.wantListen, c.ListenAddr())
			require.Equal(t, tt.wantAPI, c.APIURL())
		})
	}
}

func TestEffectiveMaxConns(t *testing.T) {
	t.Parallel()
	d := Defaults().Database
	require.Equal(t, int32(4*runtime.GOMAXPROCS(0)), d.EffectiveMaxConns())
	d.MaxConns = 7
	require.Equal(t, int32(7), d.EffectiveMaxConns())
}
