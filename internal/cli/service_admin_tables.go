package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/rest"
)

// adminTablesPrefix is where admins reach table data: /rest/v1's PostgREST engine for admin
// sessions, so that supabase-js's PostgrestClient pointed at it works unchanged.
const adminTablesPrefix = admin.Prefix + rest.Prefix

// adminTables is the table data of the admin API (/admin/v1/rest/v1). It is a second
// rest.Service, composed here because admin may not import rest: every request is
// authenticated as an admin request (access.Authenticator: an admin session, its cookie with
// the CSRF token, or the service-role key), runs as service_role (row-level security does not
// apply, as in Supabase's table editor), reaches only the tables the admin's capabilities
// allow, and every write is written to the audit log before it commits.
type adminTables struct {
	auth   *access.Authenticator
	pool   *pgxpool.Pool // the owner's, which writes the audit log
	logger *slog.Logger
	svc    *rest.Service
}

func newAdminTables(d serviceDeps, sessions *access.Sessions) (*adminTables, error) {
	t := &adminTables{
		auth:   &access.Authenticator{Pool: d.admin, Sessions: sessions, Keys: d.keys},
		pool:   d.admin,
		logger: d.logger,
	}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	// The same REST as /rest/v1's (search path, switches), admitted by admin session.
	svc, err := rest.New(rest.Config{Schemas: d.cfg.REST.Schemas, MaxRows: d.cfg.REST.MaxRows,
		ExtraSearchPath: d.cfg.REST.ExtraSearchPath, AggregatesEnabled: d.cfg.REST.AggregatesEnabled,
		PlanEnabled: d.cfg.REST.PlanEnabled},
		rest.Deps{Owner: d.admin, Runner: d.runner, Logger: d.logger, Admit: t.admit})
	if err != nil {
		return nil, err
	}
	t.svc = svc
	return t, nil
}

// mount registers /admin/v1/rest/v1/ on mux: the REST service answers on its own mux, under
// its own prefix, with /admin/v1 taken off the path.
func (t *adminTables) mount(mux *http.ServeMux) {
	inner := http.NewServeMux()
	t.svc.Mount(inner)
	mux.Handle(adminTablesPrefix+"/", http.StripPrefix(admin.Prefix, inner))
}

// run keeps the second instance's schema cache current.
func (t *adminTables) run(ctx context.Context) error { return t.svc.Run(ctx) }

// admit decides who a request runs as and what it may reach.
func (t *adminTables) admit(r *http.Request) (rest.Admission, error) {
	p, err := t.auth.Authenticate(r)
	if err != nil {
		return rest.Admission{}, tablesAuthError(err)
	}
	claims := map[string]any{"role": db.RoleServiceRole}
	if p.UserID != "" {
		// Defaults and triggers reading auth.uid() see the admin who made the change.
		claims["sub"], claims["email"] = p.UserID, p.Email
	}
	claims["goforward_admin"] = map[string]any{"kind": p.Kind, "level": p.Level}
	raw, err := json.Marshal(claims)
	if err != nil {
		return rest.Admission{}, err
	}
	caps := p.Capabilities
	all := caps.AllTables()
	a := rest.Admission{Role: db.RoleServiceRole, Claims: raw, NoFunctions: !all}
	if !all {
		a.Relation = func(schema, name string) bool { return slices.Contains(caps.AssignedTables, schema+"."+name) }
	}
	a.Write = func(ctx context.Context, w rest.Write) error { return t.recordWrite(ctx, r, p, w) }
	refused := false
	a.Refused = func(schema, name string, function bool) {
		if refused {
			return
		}
		refused = true
		t.recordRefusal(r, p, schema, name, function)
	}
	return a, nil
}

// tablesAuthError answers an authentication failure in PostgREST's error shape, with the
// admin API's codes.
func tablesAuthError(err error) error {
	switch {
	case errors.Is(err, access.ErrNoCredentials):
		return rest.NewError(http.StatusUnauthorized, admin.CodeNoAuthorization,
			"Table data requires an admin session (Authorization: Bearer gfa_…) or the service-role key", "")
	case errors.Is(err, access.ErrSessionInvalid):
		return rest.NewError(http.StatusUnauthorized, admin.CodeSessionExpired, "The admin session is invalid or has expired; sign in again", "")
	case errors.Is(err, access.ErrNotPrivileged):
		return rest.NewError(http.StatusForbidden, admin.CodeNotAdmin, "This token does not grant admin access; sign in as an admin", "")
	case errors.Is(err, access.ErrCSRF):
		return rest.NewError(http.StatusForbidden, admin.CodeCSRF, "The "+access.CSRFHeader+" header is missing or does not match the session", "")
	}
	return err
}

// writeVerbs name the audit actions of writes by method.
var writeVerbs = map[string]string{
	http.MethodPost: "insert", http.MethodPatch: "update", http.MethodPut: "upsert", http.MethodDelete: "delete",
}

// recordWrite writes the audit entry of one write: the table (or function), the request's
// filters and the columns it set, never their values. A write reported before its commit
// is a success; one reported failed is an error, with PostgreSQL's SQLSTATE.
func (t *adminTables) recordWrite(ctx context.Context, r *http.Request, p access.Principal, w rest.Write) error {
	verb, resource := writeVerbs[w.Method], "table"
	if w.Function {
		verb, resource = "rpc", "function"
	}
	details := map[string]any{
		"method": w.Method, "path": admin.Prefix + r.URL.Path, "query": w.Query,
		"columns": nonNil(w.Columns), "rows": w.Rows, "rolled_back": w.RolledBack,
	}
	e := audit.Entry{Actor: p.Actor(), Action: "admin.table_data." + verb, Client: audit.ClientOf(r),
		ResourceType: resource, ResourceID: w.Schema + "." + w.Relation, Details: details}
	if w.Err != nil {
		e.Outcome, e.Severity = audit.Error, audit.Warning
		details["error_code"] = errorCode(w.Err)
		// The entry is written after the failure, so the request's context may be over.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	return audit.Record(ctx, t.pool, e)
}

// recordRefusal writes the audit entry of a request refused for a table or function the
// admin may not reach.
func (t *adminTables) recordRefusal(r *http.Request, p access.Principal, schema, name string, function bool) {
	resource := "table"
	if function {
		resource = "function"
	}
	e := audit.Entry{Actor: p.Actor(), Action: "admin.table_data.access_denied", Client: audit.ClientOf(r),
		Outcome: audit.Denied, Severity: audit.Warning, ResourceType: resource, ResourceID: schema + "." + name,
		Details: map[string]any{"method": r.Method, "path": admin.Prefix + r.URL.Path, "level": string(p.Level)}}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := audit.Record(ctx, t.pool, e); err != nil {
		t.logger.Error("admin tables: audit a refused request", "error", err)
	}
}

// errorCode is the code of a failed write: PostgreSQL's SQLSTATE or the service's own (its
// message may quote values, so only the code is kept).
func errorCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var appErr *httpx.AppError
	if errors.As(err, &appErr) {
		return appErr.Code
	}
	return "internal"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
