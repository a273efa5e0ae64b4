// Package servicetest runs a feature service behind the real gateway for tests: a fresh
// database from pgtest, real keys, the full middleware chain and an httptest server on
// loopback, so a test talks to a service exactly as supabase-js would.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
)

// Secret is the JWT secret of every test environment.
const Secret = "servicetest-secret-0123456789abcdef0123456789"

// Env is one service under test.
type Env struct {
	URL    string           // base URL of the gateway, without a trailing slash
	Keys   *security.Keys   // the keys the gateway verifies with
	DB     *pgtest.Database // the test's own database (owner pool in DB.Pool)
	Runner *db.RoleRunner   // the RLS bridge over an authenticator pool
	Logger *slog.Logger     // logs to the test output
	Server *httptest.Server // the running server
	// APIKeys verifies opaque API keys at the gateway (Options.APIKeys); nil otherwise.
	APIKeys *apikeys.Verifier
}

// Options tune New.
type Options struct {
	Gateway gateway.Config // zero: development defaults
	Limiter bool           // install an in-process rate limiter (off by default so tests are not throttled)
	// Tables, when set, gives the gateway its per-table guard, built after mount.
	Tables func(env *Env) gateway.TableGuard
	// Guard, when set, builds the gateway's client guard (blocked addresses, 401/403 counting)
	// over the environment's database.
	Guard   func(env *Env) gateway.ClientGuard
	APIKeys bool // accept opaque API keys (Env.CreateAPIKey makes them)
	// Keys replaces the environment's keys (a rotated secret, legacy keys disabled); nil:
	// keys from Secret.
	Keys *security.Keys
	// DB is a database another environment already uses (a second node, or the same data
	// after a restart with other keys); nil: a fresh one.
	DB *pgtest.Database
}

// New starts a gateway serving the services mount builds from the environment's database and
// keys. The server and database are closed when the test ends.
func New(t testing.TB, mount func(env *Env) []gateway.Service, opts ...Options) *Env {
	t.Helper()
	var opt Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	keys := opt.Keys
	if keys == nil {
		var err error
		keys, err = security.NewKeys([]byte(Secret), "", time.Unix(1_700_000_000, 0))
		require.NoError(t, err)
	}
	database := opt.DB
	if database == nil {
		database = pgtest.NewDatabase(t)
	}
	env := &Env{
		Keys:   keys,
		DB:     database,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	env.Runner = db.NewRoleRunner(env.DB.RequestPool(t), db.RunnerConfig{})
	gwCfg := opt.Gateway
	if !opt.Gateway.Development && opt.Gateway.CORS.AllowedOrigins == nil {
		gwCfg.Development = true
	}
	deps := gateway.Deps{Keys: keys, Logger: env.Logger}
	if opt.APIKeys {
		env.APIKeys = apikeys.NewVerifier(env.DB.Pool, apikeys.VerifierConfig{}, env.Logger)
		require.NoError(t, env.APIKeys.Load(context.Background()))
		deps.APIKeys = env.APIKeys
	}
	// The client guard is built before the services (they may use what it builds), the
	// table guard after them (it reads what they mounted).
	if opt.Guard != nil {
		deps.Guard = opt.Guard(env)
	}
	services := mount(env)
	if opt.Tables != nil {
		deps.Tables = opt.Tables(env)
	}
	gw, err := gateway.New(gwCfg, deps, services...)
	require.NoError(t, err)
	env.Server = httptest.NewServer(gw.Handler())
	t.Cleanup(env.Server.Close)
	env.URL = env.Server.URL
	return env
}

// CreateAPIKey makes an opaque API key (Options.APIKeys) and has the gateway know it at once.
func (e *Env) CreateAPIKey(t testing.TB, n apikeys.NewKey) apikeys.Created {
	t.Helper()
	require.NotNil(t, e.APIKeys, "servicetest.Options.APIKeys is off")
	ctx := context.Background()
	var c apikeys.Created
	require.NoError(t, pgx.BeginFunc(ctx, e.DB.Pool, func(tx pgx.Tx) error {
		var err error
		c, err = apikeys.Create(ctx, tx, n, audit.Actor{Type: audit.ActorCLI}, audit.Client{})
		return err
	}))
	require.NoError(t, e.APIKeys.Load(ctx))
	return c
}

// AnonKey is the environment's anon key.
func (e *Env) AnonKey() string { return e.Keys.AnonKey() }

// ServiceRoleKey is the environment's service-role key.
func (e *Env) ServiceRoleKey() string { return e.Keys.ServiceRoleKey() }

// UserToken signs an access token for user sub with role authenticated, valid for an hour,
// merged with extra claims.
func (e *Env) UserToken(t testing.TB, sub string, extra map[string]any) string {
	t.Helper()
	token, err := e.Keys.Sign(userClaims(sub, extra))
	require.NoError(t, err)
	return token
}

// userClaims are the claims of UserToken.
func userClaims(sub string, extra map[string]any) jwt.MapClaims {
	now := time.Now()
	claims := jwt.MapClaims{
		"sub": sub, "role": "authenticated", "aud": "authenticated",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": "", "phone": "", "aal": "aal1", "session_id": "",
		"app_metadata": map[string]any{}, "user_metadata": map[string]any{}, "is_anonymous": false,
	}
	for k, v := range extra {
		claims[k] = v
	}
	return claims
}

// Request is one HTTP call made by Do.
type Request struct {
	Method string
	Path   string      // path and query, e.g. "/rest/v1/items?select=*"
	Body   any         // nil, []byte, string, io.Reader, or a value encoded as JSON
	Key    string      // apikey header; "" means the anon key, "-" means none
	Token  string      // Authorization: Bearer; "" means the same as Key (as supabase-js sends)
	Header http.Header // extra headers
}

// Response is what Do returns: the status, headers and the whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v and fails the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// Do performs req against the environment and reads the whole response.
func (e *Env) Do(t testing.TB, req Request) Response {
	t.Helper()
	var body io.Reader
	contentType := ""
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	case io.Reader:
		body = b
	default:
		encoded, err := json.Marshal(b)
		require.NoError(t, err)
		body = bytes.NewReader(encoded)
		contentType = "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, req.Method, e.URL+req.Path, body)
	require.NoError(t, err)
	if contentType != "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	key := req.Key
	switch key {
	case "":
		key = e.AnonKey()
	case "-":
		key = ""
	}
	if key != "" {
		httpReq.Header.Set("apikey", key)
	}
	token := req.Token
	if token == "" {
		token = key
	}
	if token != "" && token != "-" {
		httpReq.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range req.Header {
		httpReq.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(httpReq)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// testWriter sends log lines to the test's output, or to stderr once the test is over.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() {
		// t.Log panics after the test has finished; late log lines go to stderr instead.
		if recover() != nil {
			os.Stderr.Write(p)
		}
	}()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
