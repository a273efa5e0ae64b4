package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/sqlguard"
)

// queryRecord is what the audit log keeps of one POST /pg/query: who, the statements'
// fingerprints, kinds and classes, what was confirmed, how long it ran and how it ended.
// Never the SQL's text: literals carry data and secrets (pg_query's normalisation leaves
// some in, such as a foreign server's password option), and the fingerprint is the same for
// every run of a statement whatever its constants.
type queryRecord struct {
	principal  access.Principal
	client     audit.Client
	readOnly   bool
	confirmed  []string
	statements []sqlguard.Statement

	outcome   string // "" is success
	reason    string // why it was refused or failed
	errorCode string // PostgreSQL's SQLSTATE
	ran       bool
	duration  time.Duration
	rows      int64
	truncated bool
}

func (q *queryRecord) refuse(outcome, reason string) { q.outcome, q.reason = outcome, reason }

// finished records how running the request went.
func (q *queryRecord) finished(out runOutput) {
	q.ran, q.duration = true, out.duration
	for _, r := range out.results {
		q.rows += r.returned
		q.truncated = q.truncated || r.Truncated
	}
	if out.err == nil {
		return
	}
	q.outcome = audit.Error
	var pgErr *pgconn.PgError
	switch {
	case out.timedOut:
		q.reason = codeQueryTimeout
	case errors.As(out.err, &pgErr):
		q.reason, q.errorCode = "database_error", pgErr.Code
	default:
		q.reason = "connection_error"
	}
}

func (q queryRecord) entry() audit.Entry {
	var fingerprints []string
	var kinds []string
	statements := make([]map[string]any, len(q.statements))
	for i, st := range q.statements {
		fingerprints = append(fingerprints, st.Fingerprint)
		if !slices.Contains(kinds, string(st.Kind)) {
			kinds = append(kinds, string(st.Kind))
		}
		statements[i] = map[string]any{"fingerprint": st.Fingerprint, "kind": st.Kind, "classes": nonNilSlice(st.Classes), "line": st.Line}
	}
	classes := sqlguard.Classes(q.statements)
	d := map[string]any{
		"statements": statements, "kinds": nonNilSlice(kinds), "classes": nonNilSlice(classes),
		"confirmed": nonNilSlice(q.confirmed), "read_only": q.readOnly,
	}
	if q.ran {
		d["duration_ms"] = float64(q.duration.Microseconds()) / 1000
		d["rows"] = q.rows
		d["truncated"] = q.truncated
	}
	if q.reason != "" {
		d["reason"] = q.reason
	}
	if q.errorCode != "" {
		d["error_code"] = q.errorCode
	}
	e := audit.Entry{Actor: q.principal.Actor(), Action: "meta.query", Client: q.client,
		ResourceType: "sql", ResourceID: strings.Join(fingerprints, ","), Outcome: q.outcome, Details: d}
	switch {
	case q.outcome == audit.Denied || q.outcome == audit.Error:
		e.Severity = audit.Warning
	case len(classes) > 0:
		// Something dangerous ran, confirmed: a dropped table is worth finding first.
		e.Severity = audit.Critical
	}
	return e
}

// auditQueryDenied records a POST /pg/query refused for want of can_access_sql like any
// other refused query, with the fingerprints of what was sent when it parses.
func (s *Service) auditQueryDenied(r *http.Request, p access.Principal) {
	rec := queryRecord{principal: p, client: audit.ClientOf(r)}
	rec.refuse(audit.Denied, codeInsufficientCapability)
	var body queryBody
	if data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)); err == nil && json.Unmarshal(data, &body) == nil {
		rec.readOnly = r.URL.Query().Get("read_only") == "true"
		rec.confirmed = body.Confirm
		// No catalog: a refused caller's SQL causes no lookups.
		if stmts, err := sqlguard.Analyze(body.Query); err == nil {
			rec.statements = stmts
		}
	}
	s.record(r.Context(), rec.entry())
}

// copyViaClient reports whether sql, a statement starting with COPY, copies from STDIN or to
// STDOUT.
func copyViaClient(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil || len(tree.GetStmts()) != 1 {
		return false
	}
	cp := tree.GetStmts()[0].GetStmt().GetCopyStmt()
	return cp != nil && cp.GetFilename() == "" && !cp.GetIsProgram()
}

// nameTypes fills in the type names of the results' columns: the connection knows the
// built-in ones, the catalog the rest.
func (s *Service) nameTypes(ctx context.Context, known *pgtype.Map, results []sqlResult) error {
	var unknown []uint32
	for _, r := range results {
		for i, c := range r.Columns {
			if t, ok := known.TypeForOID(c.TypeOID); ok {
				r.Columns[i].Type = t.Name
			} else if !slices.Contains(unknown, c.TypeOID) {
				unknown = append(unknown, c.TypeOID)
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT t.oid::int8, format('%I.%I', n.nspname, t.typname) FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = ANY($1::oid[])`, unknown)
	if err != nil {
		return err
	}
	names := map[uint32]string{}
	for rows.Next() {
		var oid int64
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			return err
		}
		names[uint32(oid)] = name
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range results {
		for i, c := range r.Columns {
			if r.Columns[i].Type == "" {
				r.Columns[i].Type = names[c.TypeOID]
			}
		}
	}
	return nil
}
