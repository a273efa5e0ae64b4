package pgmeta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/httpx"
)

// stmt is one statement of a change. audit, when set, is what the audit log records instead
// of sql: the statement with its secrets (a role's password) masked.
type stmt struct {
	sql   string
	audit string
}

func sqlf(format string, args ...any) stmt { return stmt{sql: fmt.Sprintf(format, args...)} }

// plan is what a change does, worked out in its transaction from the request and the
// catalog as the transaction sees it.
type plan struct {
	resourceID string // for the audit entry: "public.posts", an oid …
	stmts      []stmt
	critical   bool // superuser or RLS-bypassing roles: the audit entry is critical
	// result reads the object to answer with after the statements ran, in the same
	// transaction (postgres-meta answers a create or update with the object). nil answers
	// with before, the object as it was (a delete).
	result func(ctx context.Context, tx pgx.Tx) ([]byte, error)
	before []byte
	// after checks what the statements did, before anything is committed; its error refuses
	// the change like PostgreSQL's would.
	after func(ctx context.Context, tx pgx.Tx) error
}

// change is one create, update or delete route.
type change struct {
	action       string // the audit action, e.g. "meta.table.create"
	resourceType string // "table", "column", …
	plan         func(ctx context.Context, tx pgx.Tx) (plan, error)
}

// apply runs a change: one transaction holding its statements, the schema cache reload and
// the audit entry recording the caller, the route, the SQL and the outcome. A statement
// PostgreSQL refuses rolls everything back and answers 400 with PostgreSQL's message; the
// failure is audited on its own.
//
// Every statement is sent alone through the extended protocol, which takes exactly one
// statement: an expression a caller supplies (a policy's USING, a column default) cannot
// smuggle in a second statement, and so cannot commit early or escape the transaction.
func (s *Service) apply(w http.ResponseWriter, r *http.Request, p access.Principal, c change) error {
	ctx := r.Context()
	route := r.Method + " " + r.URL.Path
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgmeta: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Literals are written for standard strings (a backslash is a backslash); a lock held by
	// a long transaction elsewhere fails the change instead of queueing every request behind
	// it.
	if _, err := tx.Exec(ctx, "SET LOCAL standard_conforming_strings = on; SET LOCAL lock_timeout = '10s'"); err != nil {
		return fmt.Errorf("pgmeta: prepare transaction: %w", err)
	}
	pl, err := c.plan(ctx, tx)
	if err != nil {
		return err
	}
	var done []string
	for _, st := range pl.stmts {
		if err := execOne(ctx, tx, st.sql); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			s.auditFailure(r, p, c, pl, route, append(done, st.forAudit()), err)
			return dbError(err)
		}
		done = append(done, st.forAudit())
	}
	if pl.after != nil {
		if err := pl.after(ctx, tx); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			s.auditFailure(r, p, c, pl, route, done, err)
			return err
		}
	}
	if _, err := tx.Exec(ctx, "NOTIFY pgrst, 'reload schema'"); err != nil {
		return fmt.Errorf("pgmeta: notify schema reload: %w", err)
	}
	body := pl.before
	if pl.result != nil {
		if body, err = pl.result(ctx, tx); err != nil {
			return err
		}
	}
	e := s.entry(r, p, c, pl, route, done)
	if err := audit.Record(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(err)
	}
	return writeRaw(w, http.StatusOK, body)
}

// execOne runs exactly one statement: pgconn's ExecParams speaks the extended protocol, whose
// Parse refuses a string holding several ("cannot insert multiple commands into a prepared
// statement"). pgx's Exec would fall back to the simple protocol for a statement without
// arguments, which runs any number of them.
func execOne(ctx context.Context, tx pgx.Tx, sql string) error {
	_, err := tx.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Close()
	return err
}

func (st stmt) forAudit() string {
	if st.audit != "" {
		return st.audit
	}
	return st.sql
}

func (s *Service) entry(r *http.Request, p access.Principal, c change, pl plan, route string, sql []string) audit.Entry {
	e := audit.Entry{Actor: p.Actor(), Action: c.action, Client: audit.ClientOf(r),
		ResourceType: c.resourceType, ResourceID: pl.resourceID,
		Details: map[string]any{"route": route, "sql": strings.Join(sql, ";\n")}}
	if pl.critical {
		e.Severity = audit.Critical
	}
	return e
}

// auditFailure records a change PostgreSQL refused, with its message, outside the rolled
// back transaction.
func (s *Service) auditFailure(r *http.Request, p access.Principal, c change, pl plan, route string, sql []string, cause error) {
	e := s.entry(r, p, c, pl, route, sql)
	e.Outcome = audit.Error
	if e.Severity == "" {
		e.Severity = audit.Warning
	}
	e.Details["error"] = cause.Error()
	if err := audit.Record(context.WithoutCancel(r.Context()), s.pool, e); err != nil {
		s.logger.Error("pgmeta: audit a failed change", "error", err)
	}
}

// decodeBody reads a JSON request body; an empty body is an empty object (a DELETE or a
// PATCH without changes).
func decodeBody(r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if err := httpx.DecodeJSON(r, v); err != nil {
		var appErr *httpx.AppError
		if errors.As(err, &appErr) && appErr.Status == http.StatusBadRequest && appErr.Message == "Request body is empty" {
			return nil
		}
		return err
	}
	return nil
}

// cascade reads ?cascade=true, which DELETE routes take.
func cascade(r *http.Request) (string, error) {
	on, err := boolParam(r.URL.Query(), "cascade")
	if err != nil {
		return "", err
	}
	if on {
		return "CASCADE", nil
	}
	return "RESTRICT", nil
}

// item reads one object of res by id in tx, nil when there is none.
func item(ctx context.Context, tx pgx.Tx, res resource, args pgx.NamedArgs) ([]byte, error) {
	q := res.itemQuery()
	for k, v := range args {
		q.args[k] = v
	}
	body, err := jsonArray(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	if len(body) <= 2 {
		return nil, nil
	}
	// The first object of the array: items are whole JSON objects joined by commas, so
	// the first ends where the array's second begins, which a decoder finds for us.
	return firstElement(body)
}
