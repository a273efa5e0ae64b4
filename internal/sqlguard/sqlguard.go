// Package sqlguard reads SQL the way PostgreSQL does before anyone runs it: it parses a request
// with PostgreSQL's own parser (pg_query, through cgo), splits it into statements and says what
// each one is (read, write, DDL, privilege change, transaction control, ...) and which of the
// dangerous things it does (drop, truncate, DELETE without WHERE, COPY ... PROGRAM, SET ROLE,
// DO blocks and function bodies that do any of these, ...), with warnings in plain words and
// pg_query's fingerprint.
//
// It runs nothing and knows nothing of HTTP: the guarded SQL runner (POST /pg/query) and
// /pg/query/analyze build on Analyze, and /pg/query/format and /parse on Format and Parse.
//
// What a caller must still do itself, because classification cannot: run a request that must
// not write inside START TRANSACTION READ ONLY (Analyze says what a statement is; only the
// server can enforce it), refuse statements of kind transaction in that mode (a COMMIT or a
// SET TRANSACTION READ WRITE would end or lift it), keep standard_conforming_strings on and
// client_encoding UTF8 on the connection (the parser here assumes both; statements changing
// them are classed parser_setting), and bound execution time with a context deadline as well
// as statement_timeout (the SQL may change the latter).
package sqlguard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// Kind is what a statement does, one per statement. The names are stable: they are part of the
// API's answers and of audit entries.
type Kind string

// The kinds. Anything this package does not know is ddl, never read.
const (
	// KindRead reads and changes nothing: SELECT without volatile functions or row locks,
	// SHOW, FETCH, EXPLAIN of a read.
	KindRead Kind = "read"
	// KindWrite changes rows or has other side effects: INSERT, UPDATE, DELETE, MERGE,
	// TRUNCATE, COPY FROM, SELECT calling a VOLATILE function or locking rows, a writing CTE,
	// CALL, DO, NOTIFY, LOCK, EXECUTE of a prepared statement.
	KindWrite Kind = "write"
	// KindDDL changes the schema: CREATE, ALTER, DROP, COMMENT, policies, extensions.
	KindDDL Kind = "ddl"
	// KindPrivilege changes who may do what: GRANT, REVOKE, roles, ownership.
	KindPrivilege Kind = "privilege"
	// KindTransaction controls the transaction: BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
	// SET TRANSACTION, SET transaction_read_only.
	KindTransaction Kind = "transaction"
	// KindSession changes only the session: SET, RESET, LISTEN, DISCARD, DEALLOCATE, LOAD.
	KindSession Kind = "session"
	// KindMaintenance is housekeeping: VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT.
	KindMaintenance Kind = "maintenance"
)

// Class names one dangerous thing a statement does. A statement carrying any class runs only
// when the caller confirms that class by name. The names are stable.
type Class string

// The dangerous classes.
const (
	// ClassDrop: DROP of any object, DROP OWNED, ALTER TABLE ... DROP COLUMN.
	ClassDrop Class = "drop"
	// ClassTruncate: TRUNCATE.
	ClassTruncate Class = "truncate"
	// ClassDeleteWithoutWhere: DELETE with no WHERE, or one that is always true.
	ClassDeleteWithoutWhere Class = "delete_without_where"
	// ClassUpdateWithoutWhere: UPDATE with no WHERE, or one that is always true.
	ClassUpdateWithoutWhere Class = "update_without_where"
	// ClassAlterSystem: ALTER SYSTEM (writes postgresql.auto.conf).
	ClassAlterSystem Class = "alter_system"
	// ClassCopyProgram: COPY ... TO/FROM PROGRAM runs a shell command on the database server.
	ClassCopyProgram Class = "copy_program"
	// ClassCopyFile: COPY ... TO/FROM a file on the database server.
	ClassCopyFile Class = "copy_file"
	// ClassRoleSuperuser: CREATE/ALTER ROLE ... SUPERUSER.
	ClassRoleSuperuser Class = "role_superuser"
	// ClassRoleBypassRLS: CREATE/ALTER ROLE ... BYPASSRLS.
	ClassRoleBypassRLS Class = "role_bypassrls"
	// ClassRoleReplication: CREATE/ALTER ROLE ... REPLICATION (reads every row through
	// logical replication, past row level security).
	ClassRoleReplication Class = "role_replication"
	// ClassGrantPowerfulRole: GRANT of a role that reaches files, programs, every row or the
	// owner's powers (pg_read_server_files, pg_execute_server_program, pg_read_all_data,
	// service_role, postgres, ...).
	ClassGrantPowerfulRole Class = "grant_powerful_role"
	// ClassFileAccess: functions reading or writing server files (pg_read_file, pg_ls_dir,
	// lo_import, lo_export, pg_stat_file, adminpack's pg_file_write, ...).
	ClassFileAccess Class = "file_access"
	// ClassRemoteConnection: functions and statements connecting out of the server (dblink,
	// http, pg_net, CREATE SUBSCRIPTION).
	ClassRemoteConnection Class = "remote_connection"
	// ClassServerControl: functions acting on the server or other sessions
	// (pg_terminate_backend, pg_reload_conf, replication slots, ...).
	ClassServerControl Class = "server_control"
	// ClassSetRole: SET ROLE, SET SESSION AUTHORIZATION, their RESET, DISCARD ALL, and
	// set_config('role', ...).
	ClassSetRole Class = "set_role"
	// ClassDoBlock: a DO block (anonymous code, run at once).
	ClassDoBlock Class = "do_block"
	// ClassDynamicSQL: code that builds SQL at run time (PL/pgSQL EXECUTE, query_to_xml), so
	// what it runs cannot be checked here.
	ClassDynamicSQL Class = "dynamic_sql"
	// ClassUncheckedLanguage: a function or DO block in a language other than SQL and
	// PL/pgSQL (c and internal bind server code; plpython3u and friends run anything).
	ClassUncheckedLanguage Class = "unchecked_language"
	// ClassUncheckedCode: a body that could not be read (it does not parse, or nests too deep).
	ClassUncheckedCode Class = "unchecked_code"
	// ClassLoadLibrary: LOAD of a shared library.
	ClassLoadLibrary Class = "load_library"
	// ClassDisableRLS: ALTER TABLE ... DISABLE (or NO FORCE) ROW LEVEL SECURITY.
	ClassDisableRLS Class = "disable_rls"
	// ClassParserSetting: changing standard_conforming_strings or client_encoding, which
	// would make the server read later SQL differently from this parser.
	ClassParserSetting Class = "parser_setting"
)

// Statement is one statement of a request and what it does.
type Statement struct {
	// SQL is the statement's text as sent, without the separating semicolon.
	SQL string `json:"sql"`
	// Kind is what the statement does.
	Kind Kind `json:"kind"`
	// Classes are the dangerous things it does, in a stable order; empty when none.
	Classes []Class `json:"classes"`
	// Warnings say in plain words what is dangerous or surprising about it.
	Warnings []string `json:"warnings"`
	// Fingerprint is pg_query's fingerprint: equal for statements differing only in
	// constants, so it identifies a statement in the audit log without its values.
	Fingerprint string `json:"fingerprint"`
	// Location is the byte offset of the statement in the request.
	Location int `json:"location"`
	// Line is the 1-based line of the request on which the statement starts.
	Line int `json:"line"`
}

// Dangerous reports whether the statement carries any class.
func (s Statement) Dangerous() bool { return len(s.Classes) > 0 }

// Classes returns the classes of all statements, each once, in a stable order.
func Classes(statements []Statement) []Class {
	var all []Class
	for _, s := range statements {
		for _, c := range s.Classes {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	slices.Sort(all)
	return all
}

// Unconfirmed returns the classes of the statements that confirm does not name, in a stable
// order: the request may run only when it is empty.
func Unconfirmed(statements []Statement, confirm []string) []Class {
	var missing []Class
	for _, c := range Classes(statements) {
		if !slices.Contains(confirm, string(c)) {
			missing = append(missing, c)
		}
	}
	return missing
}

// ParseError is SQL that PostgreSQL's parser refuses, or input it must not be given.
type ParseError struct {
	// Message is PostgreSQL's message, e.g. `syntax error at or near "form"`.
	Message string
	// Position is the 1-based character position PostgreSQL reports, 0 when none.
	Position int
}

func (e *ParseError) Error() string {
	if e.Position > 0 {
		return fmt.Sprintf("%s (at character %d)", e.Message, e.Position)
	}
	return e.Message
}

// IsParseError reports whether err is (or wraps) a ParseError.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}

// Analyzer classifies SQL. The zero value works without a database.
type Analyzer struct {
	// Catalog answers the volatility of the functions a statement calls, so that a SELECT
	// calling a VOLATILE function counts as a write. Nil: only the built-in functions known to
	// change state (nextval, set_config, pg_advisory_lock, lo_*, the dangerous ones, ...)
	// count.
	Catalog FunctionCatalog
}

// Analyze classifies sql without a catalog: see Analyzer.Catalog.
func Analyze(sql string) ([]Statement, error) {
	return (&Analyzer{}).Analyze(context.Background(), sql)
}

// Analyze parses sql, splits it into statements and classifies each. SQL that does not parse
// gives a *ParseError; an error from the Catalog is returned wrapped.
func (a *Analyzer) Analyze(ctx context.Context, sql string) ([]Statement, error) {
	parts, err := classified(sql)
	if err != nil {
		return nil, err
	}
	statements := make([]Statement, len(parts))
	for i, p := range parts {
		s := p.statement
		s.Classes = slices.Clone(s.Classes)
		s.Warnings = slices.Clone(s.Warnings)
		if s.Kind == KindRead && len(p.calls) > 0 && a.Catalog != nil {
			if err := a.applyVolatility(ctx, &s, p.calls); err != nil {
				return nil, err
			}
		}
		statements[i] = s
	}
	return statements, nil
}

// part is a statement as parsing and classifying leave it, before the catalog is asked.
type part struct {
	statement Statement
	calls     []funcCall
}

// classify parses and classifies sql: what it returns depends on sql alone, which is what lets
// classified cache it.
func classify(sql string) ([]part, error) {
	if err := checkInput(sql); err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, parseError(err)
	}
	parts := make([]part, 0, len(tree.GetStmts()))
	for _, raw := range tree.GetStmts() {
		text, offset := statementText(sql, raw)
		if text == "" {
			continue
		}
		v := newChecker(0).statement(raw.GetStmt(), text)
		fingerprint, err := pg_query.Fingerprint(text)
		if err != nil {
			return nil, parseError(err)
		}
		parts = append(parts, part{
			statement: Statement{
				SQL:         text,
				Kind:        v.kind,
				Classes:     v.sortedClasses(),
				Warnings:    v.warningList(),
				Fingerprint: fingerprint,
				Location:    offset,
				Line:        1 + strings.Count(sql[:offset], "\n"),
			},
			calls: stripArgs(v.calls),
		})
	}
	return parts, nil
}

// stripArgs keeps what the volatility lookup needs of each call, so that a cached result does
// not hold the parse tree.
func stripArgs(calls []funcCall) []funcCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]funcCall, len(calls))
	for i, c := range calls {
		out[i] = funcCall{schema: c.schema, name: c.name}
	}
	return out
}

// checkInput refuses what the C parser would read differently from the server: the parser
// stops at a NUL byte (so "SELECT 1\x00; DROP TABLE t" would look harmless), and the server
// refuses invalid UTF-8 that the parser would accept.
func checkInput(sql string) error {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return &ParseError{Message: "the query contains a NUL byte", Position: utf8.RuneCountInString(sql[:i]) + 1}
	}
	if !utf8.ValidString(sql) {
		return &ParseError{Message: "the query is not valid UTF-8"}
	}
	return nil
}

func parseError(err error) error {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &ParseError{Message: pe.Message, Position: pe.Cursorpos}
	}
	return &ParseError{Message: err.Error()}
}

// statementText cuts one statement out of the request: PostgreSQL's location starts right
// after the previous semicolon (so it holds the whitespace and comments in between), and a
// length of 0 means "to the end".
func statementText(sql string, raw *pg_query.RawStmt) (string, int) {
	start := int(raw.GetStmtLocation())
	end := len(sql)
	if n := int(raw.GetStmtLen()); n > 0 {
		end = start + n
	}
	if start < 0 || start > end || end > len(sql) {
		return "", 0
	}
	text := sql[start:end]
	trimmed := strings.TrimLeft(text, " \t\r\n\f\v")
	return strings.TrimRight(trimmed, " \t\r\n\f\v"), start + len(text) - len(trimmed)
}
