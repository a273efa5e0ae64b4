package goforward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/pgtest"
)

// The tests that serve do not run in parallel: each sets the cluster-wide authenticator
// password (as serve does at every start), and two sessions altering one role at once fail.
func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer collects log lines written by the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// badges is a custom auth provider: a badge number and PIN.
type badges struct{}

func (badges) ValidateCredentials(c map[string]any) error {
	if _, ok := c["badge"].(string); !ok {
		return errors.New("badge is required")
	}
	return nil
}

func (badges) Authenticate(_ context.Context, c map[string]any) (goforward.ExternalIdentity, error) {
	if c["badge"] != "1001" || c["pin"] != "4321" {
		return goforward.ExternalIdentity{}, goforward.ErrInvalidCredentials
	}
	return goforward.ExternalIdentity{ID: "badge-1001", Email: "grace@example.com", EmailVerified: true,
		Metadata: map[string]any{"name": "Grace"}}, nil
}

// whoami is a function endpoint answering with the caller and the body it received.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := goforward.PrincipalFrom(r.Context())
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"has_principal": ok, "role": p.Role, "user_id": p.UserID, "email": p.Claims["email"],
		"path": r.URL.Path, "body": string(body),
	})
}

// running is an App serving on a free port until the test ends.
type running struct {
	url        string
	anonKey    string
	serviceKey string
	logs       *syncBuffer
	stop       func() error
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// start runs app's serve command on its own database (through WithPool) and data directory
// and waits until it is ready.
func start(t *testing.T, app *goforward.App, logs *syncBuffer) *running {
	t.Helper()
	return startIn(t, app, logs, filepath.Join(t.TempDir(), "data"))
}

// startIn is start on a data directory of the caller's.
func startIn(t *testing.T, app *goforward.App, logs *syncBuffer, dataDir string) *running {
	t.Helper()
	port := freePort(t)
	app.RootCmd().SetArgs([]string{"serve", "--data-dir", dataDir, "--port", strconv.Itoa(port)})
	app.RootCmd().SetOut(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Start(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })

	r := &running{url: "http://127.0.0.1:" + strconv.Itoa(port), logs: logs, stop: stop}
	dir, err := datadir.New(dataDir)
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			stopped = true // done is drained: the cleanup must not wait for it again
			t.Fatalf("serve ended before it was ready: %v\n%s", err, logs)
		default:
		}
		if strings.Contains(logs.String(), `"msg":"gateway listening"`) {
			if rt, err := dir.ReadRuntime(); err == nil {
				if resp, err := http.Get(r.url + "/ready"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						r.anonKey, r.serviceKey = rt.AnonKey, rt.ServiceRoleKey
						return r
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not ready after 30s:\n%s", logs)
	return nil
}

// call makes a request and returns the status and the decoded JSON body.
func call(t *testing.T, method, url string, headers map[string]string, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	} else {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out, resp.Header
}

// newApp builds an App on a database of the test's own, logging into logs.
func newApp(t *testing.T, logs *syncBuffer, configure ...func(*goforward.Config)) (*goforward.App, *pgtest.Database) {
	t.Helper()
	db := pgtest.NewDatabase(t)
	return newAppOn(t, db, logs, configure...), db
}

// newAppOn builds an App on db, logging into logs.
func newAppOn(t *testing.T, db *pgtest.Database, logs *syncBuffer, configure ...func(*goforward.Config)) *goforward.App {
	t.Helper()
	db.RequestPool(t) // sets the cluster's authenticator password to pgtest's
	opts := []goforward.Option{
		goforward.WithPool(db.Pool),
		goforward.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
		goforward.WithConfig(func(c *goforward.Config) {
			c.Database.AuthenticatorPassword = pgtest.AuthenticatorPassword
			c.Server.RateLimit.RequestsPerSecond = 0
		}),
	}
	for _, fn := range configure {
		opts = append(opts, goforward.WithConfig(fn))
	}
	return goforward.New(opts...)
}

// TestFunctionsRoutesAndProviders runs an App with a function, an application route and a
// custom auth provider, and drives them over HTTP as a client would.
func TestFunctionsRoutesAndProviders(t *testing.T) {
	logs := &syncBuffer{}
	app, db := newApp(t, logs)
	require.NoError(t, app.Function("whoami", http.HandlerFunc(whoami)))
	require.NoError(t, app.Handle("GET /app/hello", http.HandlerFunc(whoami)))
	require.NoError(t, app.AuthProvider("badges", badges{}))
	require.Nil(t, app.DB(), "no database before serve opens it")
	_, err := app.VerifyToken("anything")
	require.ErrorContains(t, err, "not bootstrapped")
	require.NoError(t, app.Function("db", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := goforward.PrincipalFrom(r.Context())
		var asCaller, login, uid, owner string
		err := app.DB().InRole(r.Context(), p, func(tx pgx.Tx) error {
			return tx.QueryRow(r.Context(), "SELECT current_user::text, session_user::text, coalesce(auth.uid()::text, '')").Scan(&asCaller, &login, &uid)
		})
		if err == nil {
			err = app.DB().Owner().QueryRow(r.Context(), "SELECT current_user::text").Scan(&owner)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"as_caller": asCaller, "login": login, "uid": uid, "owner": owner})
	})))
	require.NoError(t, app.Function("audited", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := goforward.PrincipalFrom(r.Context())
		if err := app.Audit(r.Context(), nil, goforward.AuditEntry{Action: "admin.user.delete", Actor: p}); err == nil {
			http.Error(w, "an entry passing for Go Forward's own was written", http.StatusInternalServerError)
			return
		}
		err := app.Audit(r.Context(), nil, goforward.AuditEntry{Action: "app.greeted", Actor: p,
			ResourceType: "greeting", ResourceID: "7", Details: map[string]any{"lang": "en"}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	r := start(t, app, logs)
	anon := map[string]string{"apikey": r.anonKey}

	status, body, _ := call(t, "POST", r.url+"/functions/v1/whoami", anon, `{"name":"Ada"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, map[string]any{"has_principal": true, "role": "anon", "user_id": "", "email": nil,
		"path": "/functions/v1/whoami", "body": `{"name":"Ada"}`}, body)

	status, body, _ = call(t, "GET", r.url+"/functions/v1/whoami/sub/path", anon, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "/functions/v1/whoami/sub/path", body["path"])

	status, body, _ = call(t, "POST", r.url+"/functions/v1/whoami", nil, "{}")
	require.Equal(t, http.StatusUnauthorized, status, "a function needs an apikey")
	require.Equal(t, "No API key found in request", body["message"])

	status, body, _ = call(t, "POST", r.url+"/functions/v1/whoami",
		map[string]string{"apikey": r.anonKey, "Authorization": "Bearer not-a-jwt"}, "{}")
	require.Equal(t, http.StatusUnauthorized, status, "a Bearer token that does not verify is refused")
	require.Equal(t, map[string]any{"code": float64(401), "message": "Invalid JWT"}, body)

	status, body, _ = call(t, "POST", r.url+"/functions/v1/nothing", anon, "{}")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "NOT_FOUND", body["code"])

	status, body, _ = call(t, "GET", r.url+"/app/hello", nil, "")
	require.Equal(t, http.StatusOK, status, "an application route needs no apikey")
	require.Equal(t, false, body["has_principal"])

	// The custom provider signs a user in; the function then sees that user.
	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=custom&provider=badges", anon, `{"badge":"1001","pin":"0000"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "invalid_credentials", body["error_code"])
	status, body, _ = call(t, "POST", r.url+"/auth/v1/token?grant_type=custom&provider=badges", anon, `{"pin":"4321"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "validation_failed", body["error_code"])
	status, session, _ := call(t, "POST", r.url+"/auth/v1/token?grant_type=custom&provider=badges", anon, `{"badge":"1001","pin":"4321"}`)
	require.Equal(t, http.StatusOK, status, session)
	token := session["access_token"].(string)
	userID := session["user"].(map[string]any)["id"].(string)

	verified, err := app.VerifyToken(token)
	require.NoError(t, err)
	require.Equal(t, []any{"authenticated", userID, "grace@example.com"}, []any{verified.Role, verified.UserID, verified.Claims["email"]})
	_, err = app.VerifyToken(token + "x")
	require.Error(t, err, "a token with a bad signature does not verify")

	status, body, _ = call(t, "POST", r.url+"/functions/v1/whoami", map[string]string{"apikey": r.anonKey, "Authorization": "Bearer " + token}, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "authenticated", body["role"])
	require.Equal(t, userID, body["user_id"])
	require.Equal(t, "grace@example.com", body["email"])

	// SQL run as the caller: row-level security's view of this user; the owner pool is not.
	status, body, _ = call(t, "POST", r.url+"/functions/v1/db", map[string]string{"apikey": r.anonKey, "Authorization": "Bearer " + token}, "")
	require.Equal(t, http.StatusOK, status, body)
	// WithPool's pool is the owner's; with database.authenticator_password set, requests
	// log in as authenticator on a pool of their own.
	require.Equal(t, map[string]any{"as_caller": "authenticated", "login": "authenticator", "uid": userID, "owner": "postgres"}, body)
	status, body, _ = call(t, "POST", r.url+"/functions/v1/db", anon, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, map[string]any{"as_caller": "anon", "login": "authenticator", "uid": "", "owner": "postgres"}, body)

	// The application's own audit entry, with the caller and the request recorded.
	status, body, _ = call(t, "POST", r.url+"/functions/v1/audited", map[string]string{"apikey": r.anonKey, "Authorization": "Bearer " + token}, "")
	require.Equal(t, http.StatusNoContent, status, body)
	var actorType, actorID, actorEmail, resource, details, requestID string
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT actor_type, actor_id, actor_email, resource_type || '/' || resource_id,
		details::text, request_id FROM goforward.audit_log WHERE action = 'app.greeted'`).
		Scan(&actorType, &actorID, &actorEmail, &resource, &details, &requestID))
	require.Equal(t, []string{"user", userID, "grace@example.com", "greeting/7", `{"lang": "en"}`},
		[]string{actorType, actorID, actorEmail, resource, details})
	require.NotEmpty(t, requestID)

	status, body, _ = call(t, "GET", r.url+"/app/hello", map[string]string{"Authorization": "Bearer " + token}, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, userID, body["user_id"], "an application route sees a caller who sent a token")

	require.Contains(t, logs.String(), `"path":"/functions/v1/whoami"`, "function calls are in the access log")
	require.NoError(t, r.stop())
}

// TestLifecycleHooks: OnBootstrap, OnServe and OnTerminate run in that order, each chain in
// binding order and only as far as handlers call Next; OnServe adds routes and changes the
// http.Server; an OnServe error stops serve.
func TestLifecycleHooks(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	var (
		mu    sync.Mutex
		order []string
	)
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	app.OnBootstrap().BindFunc(func(e *goforward.BootstrapEvent) error {
		record("bootstrap 1 (" + strconv.Itoa(e.Config.REST.MaxRows) + ")")
		err := e.Next()
		record("bootstrap 1 after next")
		return err
	})
	app.OnBootstrap().BindFunc(func(e *goforward.BootstrapEvent) error {
		if e.App == app && e.Context.Err() == nil {
			record("bootstrap 2")
		}
		return e.Next()
	})
	app.OnServe().BindFunc(func(e *goforward.ServeEvent) error {
		record("serve 1")
		require.Error(t, e.Router.HandleFunc("GET /rest/v1/mine", func(http.ResponseWriter, *http.Request) {}))
		if err := e.Router.HandleFunc("GET /from-hook", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "added in OnServe")
		}); err != nil {
			return err
		}
		inner := e.Server.Handler
		e.Server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", "my-app")
			inner.ServeHTTP(w, r)
		})
		return nil // no Next: the chain ends here
	})
	app.OnServe().BindFunc(func(*goforward.ServeEvent) error {
		record("serve 2 (must not run)")
		return nil
	})
	app.OnTerminate().BindFunc(func(e *goforward.TerminateEvent) error {
		record("terminate")
		return e.Context.Err()
	})
	r := start(t, app, logs)

	status, body, header := call(t, "GET", r.url+"/from-hook", nil, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "added in OnServe", body["raw"])
	require.Equal(t, "my-app", header.Get("X-Served-By"))
	_, _, header = call(t, "GET", r.url+"/health", nil, "")
	require.Equal(t, "my-app", header.Get("X-Served-By"), "the wrapped handler serves every route")

	require.NoError(t, r.stop())
	require.Equal(t, []string{"bootstrap 1 (1000)", "bootstrap 2", "bootstrap 1 after next", "serve 1", "terminate"}, order)
}

// TestOnServeErrorStopsServe: a hook's error is serve's error, before anything listens.
func TestOnServeErrorStopsServe(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	app.OnServe().BindFunc(func(*goforward.ServeEvent) error { return errors.New("not today") })
	app.RootCmd().SetArgs([]string{"serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--port", strconv.Itoa(freePort(t))})
	app.RootCmd().SetOut(io.Discard)
	app.RootCmd().SetErr(io.Discard)
	err := app.Start(context.Background())
	require.ErrorContains(t, err, "not today")
	require.Equal(t, 1, goforward.ExitCode(err))
	require.NotContains(t, logs.String(), "gateway listening")
}

// TestConfigFromCode: WithConfig sets defaults, later options see earlier ones, the
// environment still overrides them, and an invalid value fails every command with exit code 2.
func TestConfigFromCode(t *testing.T) {
	t.Setenv("GOFORWARD_SERVER_PORT", "9200")
	var out, errOut bytes.Buffer
	app := goforward.New(
		goforward.WithConfig(func(c *goforward.Config) { c.REST.MaxRows = 77; c.Server.Port = 9123 }),
		goforward.WithConfig(func(c *goforward.Config) { c.Services = []string{"rest", "functions"}; c.REST.MaxRows++ }),
	)
	app.RootCmd().SetArgs([]string{"config"})
	app.RootCmd().SetOut(&out)
	require.NoError(t, app.Start(context.Background()))
	require.Contains(t, out.String(), "max_rows: 78")
	require.Contains(t, out.String(), "port: 9200", "the environment wins over code")
	require.Contains(t, out.String(), "services:\n  - rest\n  - functions\n")

	app = goforward.New(goforward.WithConfig(func(c *goforward.Config) { c.Services = []string{"graphql"} }))
	app.RootCmd().SetArgs([]string{"config"})
	app.RootCmd().SetOut(&out)
	app.RootCmd().SetErr(&errOut)
	err := app.Start(context.Background())
	require.Equal(t, 2, goforward.ExitCode(err))
	require.Contains(t, errOut.String(), "unknown service")
}
