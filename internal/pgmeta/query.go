package pgmeta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/sqlguard"
)

// queryRoutes are the SQL routes: running SQL takes can_access_sql; reading SQL (its
// classification, layout and parse tree) runs nothing and is open to every reader.
func (s *Service) queryRoutes() []route {
	return []route{
		{method: "POST", path: "/query", need: needSQL, handler: s.query},
		{method: "POST", path: "/query/analyze", need: needRead, handler: s.analyze},
		{method: "POST", path: "/query/format", need: needRead, handler: s.format},
		{method: "POST", path: "/query/parse", need: needRead, handler: s.parse},
	}
}

// queryBody is postgres-meta's body, plus confirm: the dangerous classes the caller knows
// the SQL has and wants run.
type queryBody struct {
	Query      string            `json:"query"`
	Parameters []json.RawMessage `json:"parameters"`
	Confirm    []string          `json:"confirm"`
}

func decodeQuery(r *http.Request) (queryBody, error) {
	var b queryBody
	if err := decodeBody(r, &b); err != nil {
		return b, err
	}
	if strings.TrimSpace(b.Query) == "" {
		return b, refusal(http.StatusBadRequest, codeQueryNotFound, "query not found", nil)
	}
	return b, nil
}

// query is POST /pg/query: the guarded SQL runner. The request is parsed and classified
// first; it runs only when every dangerous class is confirmed, never with transaction
// control under read_only, and always under the statement timeout, the request deadline and
// the row limit, on a connection whose session state is reset afterwards. Every request is
// audited, run or refused, by its statements' fingerprints and never their text.
func (s *Service) query(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	ctx := r.Context()
	q := r.URL.Query()
	readOnly, err := boolParam(q, "read_only")
	if err != nil {
		return err
	}
	allResults, err := boolParam(q, "all_results")
	if err != nil {
		return err
	}
	body, err := decodeQuery(r)
	if err != nil {
		return err
	}
	rec := queryRecord{principal: p, client: audit.ClientOf(r), readOnly: readOnly, confirmed: body.Confirm}
	stmts, err := s.analyzer.Analyze(ctx, body.Query)
	if err != nil {
		var pe *sqlguard.ParseError
		if errors.As(err, &pe) {
			rec.refuse(audit.Error, "syntax_error")
			s.record(ctx, rec.entry())
			return parseFailure(pe, body.Query)
		}
		return fmt.Errorf("pgmeta: classify a query: %w", err)
	}
	rec.statements = stmts
	if refused := s.screen(body, stmts, readOnly, &rec); refused != nil {
		s.record(ctx, rec.entry())
		return refused
	}
	params, err := textParameters(body.Parameters, len(stmts))
	if err != nil {
		rec.refuse(audit.Denied, codeParameters)
		s.record(ctx, rec.entry())
		return err
	}
	pool, err := s.sqlPool()
	if err != nil {
		return fmt.Errorf("pgmeta: SQL pool: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		rec.refuse(audit.Error, "no_connection")
		s.record(ctx, rec.entry())
		return fmt.Errorf("pgmeta: SQL connection: %w", err)
	}
	// finish gives the connection back before the audit wait; this covers a panic before it
	// (Release is idempotent).
	defer conn.Release()
	out := s.runSQL(ctx, conn, runInput{sql: body.Query, params: params, readOnly: readOnly, allResults: allResults, maxRows: s.cfg.SQL.MaxRows})
	rec.finished(out)
	var typesErr error
	if allResults && out.err == nil {
		// Before finish, which gives the connection (and its type map) back.
		typesErr = s.nameTypes(ctx, conn.Conn().TypeMap(), out.results)
	}
	if err := s.finish(ctx, conn, out, leavesNoState(stmts), rec.entry()); err != nil {
		// The SQL ran and its answer is known, but nothing says who ran it: the answer is
		// held back rather than given without its record.
		return err
	}
	if out.err != nil {
		return s.runError(out, body.Query)
	}
	if allResults {
		if typesErr != nil {
			return typesErr
		}
		return writeJSON(w, allResultsBody(out.results))
	}
	var rows []json.RawMessage
	if len(out.results) > 0 {
		rows = out.results[0].Rows
		if out.results[0].Truncated {
			w.Header().Set(TruncatedHeader, "true")
		}
	}
	return writeJSON(w, rowsBody(rows))
}

// TruncatedHeader is set on an answer of POST /pg/query whose rows were cut at the row
// limit; postgres-meta's answer is a bare array, which has no room for a flag.
const TruncatedHeader = "X-Goforward-Truncated"

// screen refuses what must not run, and says why in rec: transaction control under
// read_only (COMMIT would end the read-only transaction, SET TRANSACTION READ WRITE lift
// it), COPY through the client (the runner has no copy protocol), and dangerous statements
// whose classes confirm does not name.
func (s *Service) screen(body queryBody, stmts []sqlguard.Statement, readOnly bool, rec *queryRecord) error {
	if readOnly {
		for _, st := range stmts {
			if st.Kind == sqlguard.KindTransaction {
				rec.refuse(audit.Denied, codeReadOnlyTransaction)
				return refusal(http.StatusBadRequest, codeReadOnlyTransaction, fmt.Sprintf(
					"read_only runs the query inside START TRANSACTION READ ONLY, so it cannot contain transaction control (line %d: %s)",
					st.Line, abbreviate(st.SQL)), nil)
			}
		}
	}
	for _, st := range stmts {
		if clientCopy(st.SQL) {
			rec.refuse(audit.Denied, codeClientCopy)
			return refusal(http.StatusBadRequest, codeClientCopy, fmt.Sprintf(
				"COPY ... FROM STDIN and TO STDOUT need the client's copy protocol, which POST /pg/query does not speak; use psql's \\copy (line %d)", st.Line), nil)
		}
	}
	if missing := sqlguard.Unconfirmed(stmts, body.Confirm); len(missing) > 0 {
		rec.refuse(audit.Denied, codeConfirmationRequired)
		names := make([]string, len(missing))
		for i, c := range missing {
			names[i] = string(c)
		}
		return refusal(http.StatusConflict, codeConfirmationRequired, fmt.Sprintf(
			"This query does something dangerous (%s); send it again with \"confirm\": [%s] to run it",
			strings.Join(names, ", "), quoteList(names)),
			map[string]any{"unconfirmed": names, "statements": stmts})
	}
	return nil
}

// runError answers SQL that failed: PostgreSQL's error in postgres-meta's shape, a timeout
// as postgres-meta's 408.
func (s *Service) runError(out runOutput, sql string) error {
	if out.timedOut {
		return refusal(http.StatusRequestTimeout, codeQueryTimeout, "Query read timeout", nil).WithCause(out.err)
	}
	var pgErr *pgconn.PgError
	if errors.As(out.err, &pgErr) {
		return queryError(pgErr, sql, out.shift)
	}
	return out.err
}

// textParameters turns postgres-meta's parameters ($1, $2, ... of a single statement) into
// text: strings as they are, numbers and booleans as JSON wrote them, null as NULL, objects
// and arrays as JSON. nil means none, and the SQL goes through the simple protocol.
func textParameters(raw []json.RawMessage, statements int) ([][]byte, error) {
	if raw == nil {
		return nil, nil
	}
	if statements != 1 {
		return nil, refusal(http.StatusBadRequest, codeParameters, "parameters can only be given to a query of exactly one statement", nil)
	}
	out := make([][]byte, len(raw))
	for i, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			out[i] = nil
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, refusal(http.StatusBadRequest, codeParameters, fmt.Sprintf("parameter %d is not valid JSON", i+1), nil)
			}
			out[i] = []byte(s)
		default:
			out[i] = v
		}
	}
	return out, nil
}

// clientCopy reports whether a statement is a COPY from the client or to it. Only a
// top-level statement can be (PL/pgSQL refuses COPY to or from the client), so looking at
// statements starting with COPY is enough.
func clientCopy(sql string) bool {
	if !strings.EqualFold(firstWord(sql), "copy") {
		return false
	}
	return copyViaClient(sql)
}

// firstWord is a statement's first keyword, after comments.
func firstWord(sql string) string {
	for {
		sql = strings.TrimLeft(sql, " \t\r\n\f\v")
		switch {
		case strings.HasPrefix(sql, "--"):
			if i := strings.IndexByte(sql, '\n'); i >= 0 {
				sql = sql[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(sql, "/*"):
			depth, i := 0, 0
			for i < len(sql) {
				switch {
				case strings.HasPrefix(sql[i:], "/*"):
					depth, i = depth+1, i+2
				case strings.HasPrefix(sql[i:], "*/"):
					depth, i = depth-1, i+2
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
			sql = sql[i:]
			continue
		}
		end := strings.IndexFunc(sql, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
		if end < 0 {
			return sql
		}
		return sql[:end]
	}
}

// analyze is POST /pg/query/analyze: what POST /pg/query would make of the SQL, without
// running it (the original design's AnalyzeQuery and DetectDangerousOperations).
func (s *Service) analyze(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	body, err := decodeQuery(r)
	if err != nil {
		return err
	}
	stmts, err := s.analyzer.Analyze(r.Context(), body.Query)
	if err != nil {
		var pe *sqlguard.ParseError
		if errors.As(err, &pe) {
			return parseFailure(pe, body.Query)
		}
		return fmt.Errorf("pgmeta: classify a query: %w", err)
	}
	var warnings []string
	for _, st := range stmts {
		warnings = append(warnings, st.Warnings...)
	}
	classes := sqlguard.Classes(stmts)
	return writeJSON(w, map[string]any{
		"statements": nonNilSlice(stmts), "classes": nonNilSlice(classes), "warnings": nonNilSlice(warnings),
		"requires_confirmation": len(classes) > 0,
	})
}

// format is POST /pg/query/format: the SQL laid out as postgres-meta lays it out, as text.
func (s *Service) format(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	body, err := decodeQuery(r)
	if err != nil {
		return err
	}
	out, err := sqlguard.Format(body.Query)
	if err != nil {
		return badRequest("%s", err.Error())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = io.WriteString(w, out)
	return err
}

// parse is POST /pg/query/parse: PostgreSQL's parse tree, as postgres-meta answers it.
func (s *Service) parse(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	body, err := decodeQuery(r)
	if err != nil {
		return err
	}
	tree, err := sqlguard.Parse(body.Query)
	if err != nil {
		var pe *sqlguard.ParseError
		if errors.As(err, &pe) {
			return badRequest("%s", pe.Message)
		}
		return err
	}
	return writeRaw(w, http.StatusOK, tree)
}

func rowsBody(rows []json.RawMessage) json.RawMessage {
	if len(rows) == 0 {
		return json.RawMessage("[]")
	}
	n := 1
	for _, r := range rows {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']')
}

// allResultsBody is ?all_results=true's answer: every statement's result in order, with its
// command, the rows it affected or returned, its columns (name and type) and its rows as
// arrays in column order (names repeat, so objects could lose values).
func allResultsBody(results []sqlResult) map[string]any {
	out := make([]map[string]any, len(results))
	for i, res := range results {
		out[i] = map[string]any{
			"command": res.Command, "rows_affected": res.RowsAffected, "columns": nonNilSlice(res.Columns),
			"rows": rowsBody(res.Rows), "truncated": res.Truncated,
		}
	}
	return map[string]any{"results": out}
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// abbreviate shortens a statement for a message.
func abbreviate(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if r := []rune(sql); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return sql
}

// record writes the audit entry of a refused request, detached from the request so that a
// client that hangs up cannot erase it.
func (s *Service) record(ctx context.Context, e audit.Entry) {
	if err := s.entries.write(ctx, e); err != nil {
		s.logger.Error("pgmeta: audit a query", "error", err)
	}
}
