package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/storage"
)

// adminStoragePrefix is where admins reach storage: /storage/v1's API for admin sessions, so
// the dashboard's storage browser rides on the session cookie (with its CSRF token) and never
// holds a service-role key or token.
const adminStoragePrefix = admin.Prefix + storage.Prefix

// adminStorage is /admin/v1/storage/v1: a second storage.Service on the same blob backend,
// composed here because admin may not import storage. An admin with can_manage_storage (or
// the service-role key) acts as service_role, as the service-role key does on /storage/v1;
// every change is written to the audit log. Its background sweep is /storage/v1's to run.
type adminStorage struct {
	auth   *access.Authenticator
	pool   *pgxpool.Pool
	logger *slog.Logger
	// The service is built on the first request: the blob backend (a directory, or an S3
	// bucket checked when opened) is not touched by a server whose admins never use storage.
	build func() (http.Handler, error)
	once  sync.Once
	inner http.Handler
	err   error
}

func newAdminStorage(d serviceDeps, sessions *access.Sessions) *adminStorage {
	s := &adminStorage{auth: &access.Authenticator{Pool: d.admin, Sessions: sessions, Keys: d.keys}, pool: d.admin, logger: d.logger}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.build = func() (http.Handler, error) {
		backend, err := storageBackend(d.cfg.Storage, d.dir, d.emb)
		if err != nil {
			return nil, err
		}
		svc, err := storage.New(storageConfig(d.cfg.Storage), storage.Deps{Runner: d.runner, Keys: d.keys, Backend: backend, Logger: d.logger})
		if err != nil {
			return nil, err
		}
		inner := http.NewServeMux()
		svc.Mount(inner)
		return inner, nil
	}
	return s
}

func (s *adminStorage) mount(mux *http.ServeMux) { mux.Handle(adminStoragePrefix+"/", s) }

func (s *adminStorage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := s.auth.Authenticate(r)
	if err != nil {
		status, msg := storageAuthError(err)
		writeStorageError(w, status, msg)
		return
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	if !p.Capabilities.Has(access.CanManageStorage) {
		s.record(r, p, audit.Entry{Action: "admin.storage.access_denied", Outcome: audit.Denied, Severity: audit.Warning})
		writeStorageError(w, http.StatusForbidden, "Storage requires can_manage_storage; your admin level does not have it")
		return
	}
	claims := map[string]any{"role": db.RoleServiceRole, "goforward_admin": map[string]any{"kind": p.Kind, "level": p.Level}}
	if p.UserID != "" {
		// Objects uploaded here are owned by the admin who uploaded them.
		claims["sub"], claims["email"] = p.UserID, p.Email
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		writeStorageError(w, http.StatusInternalServerError, "internal error")
		return
	}
	// The principal the gateway would have set for a service-role token; no token is minted,
	// and a failed Bearer check of the gateway's (an admin token is no JWT) is cleared.
	ctx := security.WithAuthError(security.WithPrincipal(r.Context(), security.Principal{Role: db.RoleServiceRole, Subject: p.UserID, Claims: raw}), nil)
	r2 := r.Clone(ctx)
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, admin.Prefix)
	r2.URL.RawPath = ""
	r2.Header.Del("Authorization")
	r2.Header.Del("Cookie")
	s.once.Do(func() { s.inner, s.err = s.build() })
	if s.err != nil {
		s.logger.Error("admin storage: open the blob backend", "error", s.err)
		writeStorageError(w, http.StatusServiceUnavailable, "storage is unavailable: the server could not open its blob backend (see its log)")
		return
	}
	if !write {
		s.inner.ServeHTTP(w, r2)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.inner.ServeHTTP(sw, r2)
	e := audit.Entry{Action: "admin.storage." + strings.ToLower(r.Method), Details: map[string]any{"status": sw.status}}
	if sw.status >= 400 {
		e.Outcome, e.Severity = audit.Error, audit.Warning
	}
	s.record(r, p, e)
}

// record writes e for the request: the path names the bucket and object, never the bytes.
func (s *adminStorage) record(r *http.Request, p access.Principal, e audit.Entry) {
	e.Actor, e.Client, e.ResourceType, e.ResourceID = p.Actor(), audit.ClientOf(r), "storage", strings.TrimPrefix(r.URL.Path, adminStoragePrefix)
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details["method"], e.Details["level"] = r.Method, string(p.Level)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := audit.Record(ctx, s.pool, e); err != nil {
		s.logger.Error("admin storage: audit", "error", err)
	}
}

// storageAuthError words an authentication failure with the admin API's meaning.
func storageAuthError(err error) (int, string) {
	switch {
	case errors.Is(err, access.ErrNoCredentials):
		return http.StatusUnauthorized, admin.CodeNoAuthorization + ": storage for admins requires an admin session or the service-role key"
	case errors.Is(err, access.ErrSessionInvalid):
		return http.StatusUnauthorized, admin.CodeSessionExpired + ": the admin session is invalid or has expired; sign in again"
	case errors.Is(err, access.ErrNotPrivileged):
		return http.StatusForbidden, admin.CodeNotAdmin + ": this token does not grant admin access"
	case errors.Is(err, access.ErrCSRF):
		return http.StatusForbidden, admin.CodeCSRF + ": the " + access.CSRFHeader + " header is missing or does not match the session"
	}
	return http.StatusInternalServerError, "internal error"
}

// writeStorageError answers in Supabase Storage's error shape, with the admin API's code as
// error so the dashboard tells an expired session from a refusal.
func writeStorageError(w http.ResponseWriter, status int, msg string) {
	code, text, _ := strings.Cut(msg, ": ")
	if text == "" {
		code, text = "", msg
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": strconv.Itoa(status), "error": code, "error_code": code, "message": text})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming downloads streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
