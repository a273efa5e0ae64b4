package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// The admin service's sign-in runs on auth's code, and admin may not import auth, so these
// tests live here, in the composition root: serve's own builders (buildServices) make the
// auth and admin services over a test database, behind the real gateway.

// adminPassword is a password every test policy accepts.
const adminPassword = "correct-horse-42"

// testClock is the services' clock. It starts ten minutes behind the real one, so that
// tests can move it through TOTP steps and expiries while the access tokens auth signs never
// carry an iat the gateway would take for the future.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// adminEnv is /auth/v1 and /admin/v1 as serve builds them.
type adminEnv struct {
	*servicetest.Env
	clock *testClock
}

// adminEnvOptions tune newAdminEnv.
type adminEnvOptions struct {
	environment string // "" is development
	publicURL   string // "" is http://localhost:8080
	// trustLoopbackProxy believes X-Forwarded-For from 127.0.0.1, so that a test can speak
	// from any client address.
	trustLoopbackProxy bool
	config             func(*config.Config)
	// keys and db replace servicetest's (a rotated secret; the same data as another env).
	keys    *security.Keys
	db      *pgtest.Database
	apiKeys bool // the gateway accepts opaque API keys
}

func newAdminEnv(t *testing.T, opt adminEnvOptions) *adminEnv {
	t.Helper()
	cfg := config.Defaults()
	if opt.environment != "" {
		cfg.Environment = opt.environment
	}
	cfg.Server.PublicURL = "http://localhost:8080"
	if opt.publicURL != "" {
		cfg.Server.PublicURL = opt.publicURL
	}
	cfg.Services = []string{"auth", "admin"}
	cfg.Auth.BcryptCost = 4
	cfg.Auth.RateLimit.Token = 10000
	cfg.Auth.RateLimit.MFA = 10000
	if opt.config != nil {
		opt.config(&cfg)
	}
	var gw gateway.Config
	if opt.trustLoopbackProxy {
		gw.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	e := &adminEnv{clock: &testClock{now: time.Now().Add(-10 * time.Minute)}}
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		built, err := buildServices(serviceDeps{
			cfg: cfg, keys: se.Keys, admin: se.DB.Pool, runner: se.Runner, logger: se.Logger, clock: e.clock.Now,
		})
		require.NoError(t, err)
		var out []gateway.Service
		for _, b := range built {
			out = append(out, b.Service)
		}
		return out
	}, servicetest.Options{Gateway: gw, Keys: opt.keys, DB: opt.db, APIKeys: opt.apiKeys})
	return e
}

// do sends a request with neither apikey nor token unless req names them.
func (e *adminEnv) do(t *testing.T, req servicetest.Request) servicetest.Response {
	t.Helper()
	if req.Key == "" {
		req.Key = "-"
	}
	return e.Do(t, req)
}

// jsonOf decodes a response body into a map.
func jsonOf(t *testing.T, res servicetest.Response) map[string]any {
	t.Helper()
	var out map[string]any
	res.JSON(t, &out)
	return out
}

// createUser makes a confirmed e-mail user through GoTrue's admin API and returns its id.
func (e *adminEnv) createUser(t *testing.T, email string) string {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/admin/users", Key: e.ServiceRoleKey(),
		Body: map[string]any{"email": email, "password": adminPassword, "email_confirm": true}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return jsonOf(t, res)["id"].(string)
}

// grant makes userID an admin of level, as the CLI would (the admins' own API is tested
// with it, elsewhere).
func (e *adminEnv) grant(t *testing.T, userID, level string, groups ...string) {
	t.Helper()
	if groups == nil {
		groups = []string{}
	}
	_, err := e.DB.Pool.Exec(context.Background(), `INSERT INTO goforward.admins
  (user_id, level, assigned_groups, granted_via, granted_at, updated_at) VALUES ($1, $2, $3, 'cli', now(), now())`,
		userID, level, groups)
	require.NoError(t, err)
}

// newAdmin creates a user and grants it level.
func (e *adminEnv) newAdmin(t *testing.T, email, level string) string {
	t.Helper()
	id := e.createUser(t, email)
	e.grant(t, id, level)
	return id
}

// signIn posts {email, password} (and more) to POST /admin/v1/sessions.
func (e *adminEnv) signIn(t *testing.T, body map[string]any, header http.Header) servicetest.Response {
	t.Helper()
	return e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/sessions", Body: body, Header: header})
}

// session signs email in with the test password and returns the admin token.
func (e *adminEnv) session(t *testing.T, email string) string {
	t.Helper()
	res := e.signIn(t, map[string]any{"email": email, "password": adminPassword}, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return jsonOf(t, res)["token"].(string)
}

// me calls GET /admin/v1/me with an admin token.
func (e *adminEnv) me(t *testing.T, token string) servicetest.Response {
	t.Helper()
	return e.do(t, servicetest.Request{Method: "GET", Path: "/admin/v1/me", Token: token})
}

// userSession signs in at /auth/v1/token and returns the access token.
func (e *adminEnv) userSession(t *testing.T, email string) string {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/token?grant_type=password",
		Body: map[string]any{"email": email, "password": adminPassword}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return jsonOf(t, res)["access_token"].(string)
}

// totpCode is what an authenticator app shows for secret at the services' time.
func (e *adminEnv) totpCode(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return code
}

// enrolledTOTP enrols and verifies a TOTP factor for email through /auth/v1/factors, as the
// user would in an app, and returns the factor's id, its secret and the user's aal2 access
// token. The clock moves on past the step used, so the next code is accepted.
func (e *adminEnv) enrolledTOTP(t *testing.T, email string) (factorID, secret, aal2 string) {
	t.Helper()
	token := e.userSession(t, email)
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors", Token: token,
		Body: map[string]any{"factor_type": "totp", "friendly_name": "phone app"}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	enrolled := jsonOf(t, res)
	factorID, secret = enrolled["id"].(string), enrolled["totp"].(map[string]any)["secret"].(string)
	res = e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/challenge", Token: token, Body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	challengeID := jsonOf(t, res)["id"].(string)
	res = e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/" + factorID + "/verify", Token: token,
		Body: map[string]any{"challenge_id": challengeID, "code": e.totpCode(t, secret)}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	e.clock.Advance(30 * time.Second)
	return factorID, secret, jsonOf(t, res)["access_token"].(string)
}

// backupCodes generates the user's backup codes with an aal2 access token.
func (e *adminEnv) backupCodes(t *testing.T, aal2 string) []string {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "POST", Path: "/auth/v1/factors/backup_codes", Token: aal2, Body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var out struct{ Codes []string }
	res.JSON(t, &out)
	require.NotEmpty(t, out.Codes)
	return out.Codes
}

// finishMFA posts the second step.
func (e *adminEnv) finishMFA(t *testing.T, challenge, factorID, code string, header http.Header) servicetest.Response {
	t.Helper()
	return e.do(t, servicetest.Request{Method: "POST", Path: "/admin/v1/sessions/mfa", Header: header,
		Body: map[string]any{"challenge_token": challenge, "factor_id": factorID, "code": code}})
}

// auditEntry is a row of goforward.audit_log, as these tests read it.
type auditEntry struct {
	ActorType, ActorID, ActorEmail, Action, Outcome, ResourceID string
	Details                                                     map[string]any
}

// audits lists the entries of action, oldest first.
func (e *adminEnv) audits(t *testing.T, action string) []auditEntry {
	t.Helper()
	rows, err := e.DB.Pool.Query(context.Background(), `SELECT actor_type, actor_id, actor_email, action, outcome, resource_id, details
FROM goforward.audit_log WHERE action = $1 ORDER BY id`, action)
	require.NoError(t, err)
	defer rows.Close()
	var out []auditEntry
	for rows.Next() {
		var a auditEntry
		var details []byte
		require.NoError(t, rows.Scan(&a.ActorType, &a.ActorID, &a.ActorEmail, &a.Action, &a.Outcome, &a.ResourceID, &details))
		require.NoError(t, json.Unmarshal(details, &a.Details))
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

// fromClient makes a request look relayed from ip (with trustLoopbackProxy).
func fromClient(ip string) http.Header {
	return http.Header{"X-Forwarded-For": {ip}}
}
