package auditbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/security"
)

// adminServer serves an admin write built like the admin service's handlers, mounted on the
// product's gateway (its whole middleware chain, as goforward serve configures it) with the
// product's own session check (internal/access) and audit entry (internal/audit): PATCH
// /admin/v1/plain/users/{id} and /admin/v1/audited/users/{id} (the entry queued with the
// change) differ only in the audit entry. It runs in the benchmark's process (every variant alike) and talks to goforward's
// database, whose server seals the entries meanwhile.
type adminServer struct {
	srv    *httptest.Server
	client *http.Client
	token  string // an admin session's bearer token
}

// benchUser is what the write answers.
type benchUser struct {
	ID          string         `json:"id"`
	Email       string         `json:"email"`
	AppMetadata map[string]any `json:"app_metadata"`
}

func startAdminServer(ctx context.Context, stack *harness.Stack, concurrency int) (*adminServer, error) {
	keys, err := security.NewKeys([]byte(stack.JWTSecret), "", time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	sessions := access.NewSessions(access.SessionConfig{IdleTimeout: time.Hour, MaxAge: 12 * time.Hour}, nil)
	var adminID string
	err = stack.Direct.QueryRow(ctx, `WITH u AS (INSERT INTO auth.users (email, created_at, updated_at)
  VALUES ('auditbench-admin-' || $1 || '@example.com', now(), now()) RETURNING id)
INSERT INTO goforward.admins (user_id, level, granted_via, granted_at, updated_at)
SELECT id, 'super_admin', 'cli', now(), now() FROM u RETURNING user_id::text`, strconv.FormatInt(time.Now().UnixNano(), 36)).Scan(&adminID)
	if err != nil {
		return nil, fmt.Errorf("create the admin: %w", err)
	}
	opened, err := sessions.Create(ctx, stack.Direct, access.NewSession{UserID: adminID, Kind: access.KindAdmin,
		Level: access.SuperAdmin, Capabilities: access.For(access.SuperAdmin, nil, nil), MFAVerified: true})
	if err != nil {
		return nil, err
	}
	authn := &access.Authenticator{Pool: stack.Direct, Sessions: sessions, Keys: keys}
	mount := func(mux *http.ServeMux) {
		for _, mode := range []string{"plain", "audited"} {
			mux.HandleFunc("PATCH /admin/v1/"+mode+"/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				status, body := updateHandler(r, authn, mode)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write(body)
			})
		}
	}
	gw, err := gateway.New(gateway.Config{Gzip: true}, gateway.Deps{Keys: keys, Metrics: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		gateway.Service{Name: "admin", Prefix: "/admin/v1", Mount: mount, Open: []string{"/admin/v1/"}})
	if err != nil {
		return nil, err
	}
	s := &adminServer{srv: httptest.NewServer(gw.Handler()), token: opened.Token}
	s.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, DialContext: (&net.Dialer{}).DialContext}}
	return s, nil
}

// updateHandler is the admin write: authenticate, check the capability, decode, update in a
// transaction (with its audit entry when audited), answer the user.
func updateHandler(r *http.Request, authn *access.Authenticator, mode string) (int, []byte) {
	fail := func(status int, err error) (int, []byte) {
		b, _ := json.Marshal(map[string]any{"code": status, "msg": err.Error()})
		return status, b
	}
	p, err := authn.Authenticate(r)
	if err != nil {
		return fail(http.StatusUnauthorized, err)
	}
	if !p.Has(access.CanManageUsers) {
		return fail(http.StatusForbidden, fmt.Errorf("needs %s", access.CanManageUsers))
	}
	var body struct {
		AppMetadata map[string]any `json:"app_metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return fail(http.StatusBadRequest, err)
	}
	ctx := r.Context()
	tx, err := authn.Pool.Begin(ctx)
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	c := benchClient
	c.RequestID = r.Header.Get("X-Request-Id")
	e := audit.Entry{Actor: p.Actor(), Action: "admin.user.update", ResourceType: "user", ResourceID: r.PathValue("id"),
		Client: c, Details: map[string]any{"fields": []string{"app_metadata"}}}
	var entry *audit.Entry
	if mode == "audited" {
		entry = &e
	}
	u, err := updateWith(ctx, tx, r.PathValue("id"), body.AppMetadata, entry)
	if err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	b, _ := json.Marshal(u)
	return http.StatusOK, b
}

// op calls PATCH …/users/{id} for the worker's own user.
func (s *adminServer) op(users []string, mode string) load.Op {
	prefix := s.srv.URL + "/admin/v1/" + mode + "/users/"
	var n atomic.Int64
	return func(ctx context.Context, worker int) error {
		i := n.Add(1)
		body := []byte(`{"app_metadata":{"plan":"plan-` + strconv.FormatInt(i%5, 10) + `"}}`)
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, prefix+users[worker%len(users)], bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", strconv.FormatInt(i, 36))
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PATCH: %d %s", resp.StatusCode, got)
		}
		return nil
	}
}

func (s *adminServer) close() {
	s.client.CloseIdleConnections()
	s.srv.Close()
}
