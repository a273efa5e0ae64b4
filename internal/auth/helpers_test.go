package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/mailer/mailertest"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// externalURL is the base of links in test mails; tests swap it for the server's URL.
const externalURL = "http://auth.test"

// password is a password every policy in these tests accepts.
const password = "correct-horse-42"

// clock is a settable time source for expiry, lockout and reuse-interval tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is the auth service behind the real gateway, with a real SMTP server.
type env struct {
	*servicetest.Env
	svc   *auth.Service
	smtp  *mailertest.Server
	clock *clock
}

// options tune newEnv.
type options struct {
	cfg     func(*auth.Config)
	deps    func(*auth.Deps)
	gateway gateway.Config
	keys    *security.Keys   // nil: servicetest's
	db      *pgtest.Database // nil: a fresh database
}

// newEnv starts the service on a fresh database. Tests get generous rate limits, no minimum
// gap between mails and a cheap bcrypt cost unless they change them.
func newEnv(t testing.TB, opts ...options) *env {
	t.Helper()
	var opt options
	if len(opts) > 0 {
		opt = opts[0]
	}
	e := &env{smtp: mailertest.NewServer(t), clock: &clock{now: time.Now()}}
	sender, err := mailer.NewSMTP(e.smtp.Config(), nil)
	require.NoError(t, err)
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		cfg := auth.Config{
			ExternalURL:  externalURL,
			BcryptCost:   4,
			MaxFrequency: -1,
			DevInbox:     true,
			RateLimits: auth.RateLimits{
				OTP: 10000, Verify: 10000, Token: 10000, AnonymousUsers: 10000, EmailSent: 10000, SMSSent: 10000,
			},
		}
		if opt.cfg != nil {
			opt.cfg(&cfg)
		}
		deps := auth.Deps{Pool: se.DB.Pool, Keys: se.Keys, Mail: sender, Logger: se.Logger, Clock: e.clock.Now}
		if opt.deps != nil {
			opt.deps(&deps)
		}
		svc, err := auth.New(cfg, deps)
		require.NoError(t, err)
		e.svc = svc
		return []gateway.Service{{Name: "auth", Prefix: auth.Prefix, Mount: svc.Mount, Open: auth.OpenPaths}}
	}, servicetest.Options{Gateway: opt.gateway, Keys: opt.keys, DB: opt.db})
	return e
}

// withConfig is options changing only the configuration.
func withConfig(f func(*auth.Config)) options { return options{cfg: f} }

// datedHeader asks for the 2024-01-01 error format, as supabase-js does.
var datedHeader = http.Header{"X-Supabase-Api-Version": {"2024-01-01"}}

// call makes a request the way supabase-js does (apikey, dated errors) with an optional user
// token, and decodes a JSON answer into a map.
func (e *env) call(t *testing.T, method, path string, body any, token string) (int, map[string]any) {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: method, Path: path, Body: body, Token: token, Header: datedHeader})
	var out map[string]any
	if len(res.Body) > 0 {
		res.JSON(t, &out)
	}
	return res.Status, out
}

// requireError checks a 2024-01-01 error body.
func requireError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	require.Equal(t, wantStatus, status, "body: %v", body)
	require.Equal(t, wantCode, body["code"], "body: %v", body)
	require.NotEmpty(t, body["message"])
}

// session is the interesting part of a token response.
type session struct {
	AccessToken  string
	RefreshToken string
	User         map[string]any
}

func sessionOf(t *testing.T, status int, body map[string]any) session {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	require.Equal(t, "bearer", body["token_type"])
	require.NotEmpty(t, body["access_token"])
	require.NotEmpty(t, body["refresh_token"])
	require.NotZero(t, body["expires_in"])
	require.NotZero(t, body["expires_at"])
	u, ok := body["user"].(map[string]any)
	require.True(t, ok, "user in %v", body)
	return session{AccessToken: body["access_token"].(string), RefreshToken: body["refresh_token"].(string), User: u}
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// emailFor is an address named after the test (each test has its own database).
func emailFor(t *testing.T, label string) string {
	return nonAlnum.ReplaceAllString(strings.ToLower(t.Name()+"-"+label), "-") + "@example.com"
}

// signUpConfirmed creates a confirmed e-mail user with password and returns its session.
func (e *env) signUpConfirmed(t *testing.T, email string) session {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/signup", map[string]any{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, status, "body: %v", body)
	code := codeIn(t, e.smtp.WaitFor(t, email, 10*time.Second))
	status, body = e.call(t, "POST", "/auth/v1/verify", map[string]any{"type": "signup", "email": email, "token": code}, "")
	return sessionOf(t, status, body)
}

// signIn signs in with the test password.
func (e *env) signIn(t *testing.T, email string) session {
	t.Helper()
	status, body := e.call(t, "POST", "/auth/v1/token?grant_type=password", map[string]any{"email": email, "password": password}, "")
	return sessionOf(t, status, body)
}

var (
	codePattern = regexp.MustCompile(`<strong>(\d{6,10})</strong>`)
	linkPattern = regexp.MustCompile(`href="([^"]+)"`)
)

// codeIn reads the one-time code out of a mail built from the default templates.
func codeIn(t *testing.T, m mailertest.Received) string {
	t.Helper()
	match := codePattern.FindStringSubmatch(m.HTML)
	require.NotNil(t, match, "no code in %q", m.HTML)
	return match[1]
}

// linkIn reads the link out of a mail and points it at the test server.
func (e *env) linkIn(t *testing.T, m mailertest.Received) string {
	t.Helper()
	match := linkPattern.FindStringSubmatch(m.HTML)
	require.NotNil(t, match, "no link in %q", m.HTML)
	link := html.UnescapeString(match[1])
	require.True(t, strings.HasPrefix(link, externalURL+"/auth/v1/verify?"), link)
	return strings.TrimPrefix(link, externalURL)
}

// follow opens an e-mail link without following the redirect and returns where it points.
func (e *env) follow(t *testing.T, path string) *url.URL {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+path, nil)
	require.NoError(t, err)
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// inbox reads the dev inbox for an address with the service-role key.
func (e *env) inbox(t *testing.T, to string) []map[string]any {
	t.Helper()
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/auth/v1/dev/inbox?to=" + url.QueryEscape(to), Key: e.ServiceRoleKey()})
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	res.JSON(t, &out)
	return out.Messages
}

// latestCode is the code of the newest dev inbox message to an address.
func (e *env) latestCode(t *testing.T, to string) string {
	t.Helper()
	messages := e.inbox(t, to)
	require.NotEmpty(t, messages, "no message to %s", to)
	data := messages[0]["data"].(map[string]any)
	return data["token"].(string)
}

// count runs a counting query on the test database.
func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func parseFragment(t *testing.T, fragment string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(fragment)
	require.NoError(t, err)
	return v
}

// claimsOf decodes an access token's payload (the gateway checks signatures; here only the
// content matters).
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}

// requestLegacy is a request without X-Supabase-Api-Version, as older clients send.
func requestLegacy(method, path string, body any) servicetest.Request {
	return servicetest.Request{Method: method, Path: path, Body: body}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
