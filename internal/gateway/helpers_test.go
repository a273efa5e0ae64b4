package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
)

var (
	testSecret  = []byte("gateway-test-secret-0123456789abcdef")
	forgeSecret = []byte("someone-elses-secret-0123456789abcdef")
)

// logBuffer collects log lines written from server goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// whoami is what the test services report about the request they received.
type whoami struct {
	Role         string `json:"role"`
	Subject      string `json:"sub"`
	HasPrincipal bool   `json:"has_principal"`
	AuthError    string `json:"auth_error"`
	RequestID    string `json:"request_id"`
	ClientIP     string `json:"ip"`
	KeyID        string `json:"key_id"`
}

func whoamiHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := security.PrincipalFrom(ctx)
	out := whoami{Role: p.Role, Subject: p.Subject, HasPrincipal: ok, RequestID: httpx.RequestID(ctx), ClientIP: httpx.ClientIP(ctx).String()}
	if p.Key != nil {
		out.KeyID = p.Key.ID
	}
	if err := security.AuthErrorFrom(ctx); err != nil {
		out.AuthError = err.Error()
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

// renderPlain is the error envelope of the test services.
func renderPlain(w http.ResponseWriter, _ *http.Request, err *httpx.AppError) {
	_ = httpx.WriteJSON(w, err.Status, map[string]string{"code": err.Code, "message": err.Message})
}

// countBody reads the whole body and reports its size, or fails with the body limit.
func countBody(w http.ResponseWriter, r *http.Request) error {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]int64{"bytes": n})
}

// authService stands in for GoTrue: a protected whoami, an open /verify, a JSON echo with a
// 1 KiB body limit, a wildcard admin route, handlers that panic, and payloads for gzip.
func authService() gateway.Service {
	return gateway.Service{
		Name:         "auth",
		Prefix:       "/auth/v1",
		Open:         []string{"/auth/v1/verify"},
		MaxBodyBytes: 1024,
		Mount: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /auth/v1/whoami", whoamiHandler)
			mux.HandleFunc("GET /auth/v1/verify", whoamiHandler)
			mux.HandleFunc("GET /auth/v1/admin/users/{id}", whoamiHandler)
			mux.Handle("POST /auth/v1/echo", httpx.Handle(renderPlain, func(w http.ResponseWriter, r *http.Request) error {
				var body struct {
					Text string `json:"text"`
				}
				if err := httpx.DecodeJSON(r, &body); err != nil {
					return err
				}
				return httpx.WriteJSON(w, http.StatusOK, body)
			}))
			mux.HandleFunc("GET /auth/v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
			mux.HandleFunc("GET /auth/v1/panic-late", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, strings.Repeat("partial ", 10))
				http.NewResponseController(w).Flush()
				panic("late boom")
			})
			mux.HandleFunc("GET /auth/v1/big", func(w http.ResponseWriter, _ *http.Request) {
				_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"padding": strings.Repeat("supabase ", 1000)})
			})
			mux.HandleFunc("GET /auth/v1/small", func(w http.ResponseWriter, _ *http.Request) {
				_ = httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
			})
		},
	}
}

// storageService is open as a whole and limits bodies itself.
func storageService() gateway.Service {
	return gateway.Service{
		Name:         "storage",
		Prefix:       "/storage/v1",
		Open:         []string{"/storage/v1/"},
		MaxBodyBytes: -1,
		Mount: func(mux *http.ServeMux) {
			mux.Handle("PUT /storage/v1/object/{bucket}/{path...}", httpx.Handle(renderPlain, countBody))
		},
	}
}

// functionsService uses the gateway's default body limit.
func functionsService() gateway.Service {
	return gateway.Service{
		Name:   "functions",
		Prefix: "/functions/v1",
		Mount: func(mux *http.ServeMux) {
			mux.Handle("POST /functions/v1/{name}", httpx.Handle(renderPlain, countBody))
		},
	}
}

type fixture struct {
	keys    *security.Keys
	srv     *httptest.Server
	logs    *logBuffer
	gateway *gateway.Gateway
}

type options struct {
	cfg      gateway.Config
	deps     gateway.Deps
	services []gateway.Service
}

// newFixture starts a gateway over real loopback HTTP with the auth, storage and functions
// test services (REST is deliberately not mounted) and a 2 KiB default body limit.
func newFixture(t *testing.T, configure ...func(*options)) *fixture {
	t.Helper()
	keys, err := security.NewKeys(testSecret, "", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	logs := &logBuffer{}
	o := options{
		cfg: gateway.Config{MaxBodyBytes: 2048},
		deps: gateway.Deps{
			Keys:    keys,
			Metrics: prometheus.NewRegistry(),
			Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		services: []gateway.Service{authService(), storageService(), functionsService()},
	}
	for _, c := range configure {
		c(&o)
	}
	g, err := gateway.New(o.cfg, o.deps, o.services...)
	require.NoError(t, err)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return &fixture{keys: keys, srv: srv, logs: logs, gateway: g}
}

// sign makes a token with the fixture's secret.
func (f *fixture) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	token, err := f.keys.Sign(claims)
	require.NoError(t, err)
	return token
}

func (f *fixture) userToken(t *testing.T) string {
	return f.sign(t, jwt.MapClaims{"sub": "user-1", "role": "authenticated", "aud": "authenticated", "exp": time.Now().Add(time.Hour).Unix()})
}

func forged(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(forgeSecret)
	require.NoError(t, err)
	return token
}

// scenario is one request and what a client must (and must not) see in the answer.
type scenario struct {
	name            string
	method          string // default GET
	url             string
	body            string
	headers         map[string]string
	expectedStatus  int
	expectedContent []string
	notExpected     []string
	expectedHeaders map[string]string
	absentHeaders   []string
	check           func(t *testing.T, resp *http.Response, body []byte)
}

func (s scenario) test(t *testing.T, f *fixture) {
	t.Helper()
	method := s.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+s.url, body)
	require.NoError(t, err)
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, s.expectedStatus, resp.StatusCode, "body: %s", raw)
	for _, want := range s.expectedContent {
		require.Contains(t, string(raw), want)
	}
	for _, unwanted := range s.notExpected {
		require.NotContains(t, string(raw), unwanted)
	}
	for k, v := range s.expectedHeaders {
		require.Equal(t, v, resp.Header.Get(k), "header %s", k)
	}
	for _, k := range s.absentHeaders {
		require.Empty(t, resp.Header.Values(k), "header %s", k)
	}
	if s.check != nil {
		s.check(t, resp, raw)
	}
}

func run(t *testing.T, f *fixture, scenarios []scenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.test(t, f)
		})
	}
}

// decodeWhoami reads the test services' whoami answer.
func decodeWhoami(t *testing.T, body []byte) whoami {
	t.Helper()
	var w whoami
	require.NoError(t, json.Unmarshal(body, &w), "body: %s", body)
	return w
}

// expectWhoami checks the principal the service saw.
func expectWhoami(role, sub string, hasPrincipal bool, authErr string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		got := decodeWhoami(t, body)
		require.Equal(t, role, got.Role)
		require.Equal(t, sub, got.Subject)
		require.Equal(t, hasPrincipal, got.HasPrincipal)
		if authErr == "" {
			require.Empty(t, got.AuthError)
		} else {
			require.Contains(t, got.AuthError, authErr)
		}
	}
}

// get issues a plain GET with headers and returns the response and body.
func get(t *testing.T, f *fixture, path string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func kong(message string) string { return fmt.Sprintf(`{"message":%q}`, message) }
