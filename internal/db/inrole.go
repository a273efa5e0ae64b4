package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/httpx"
)

// The roles a request may run as. A JWT can carry any string in its role claim; only these
// are ever handed to SET ROLE, so a token cannot name the superuser or the authenticator.
const (
	RoleAnon          = "anon"
	RoleAuthenticated = "authenticated"
	RoleServiceRole   = "service_role"
)

// ErrRoleNotAllowed is returned when a request scope names a role outside the API roles.
var ErrRoleNotAllowed = errors.New("role is not one of anon, authenticated, service_role")

// headersHiddenFromSQL are request headers that never reach request.headers: they carry
// credentials, and SQL (policies, functions, logs of slow statements) has no need to see them.
var headersHiddenFromSQL = map[string]bool{
	"authorization": true,
	"apikey":        true,
	"cookie":        true,
}

// RequestScope is what a request tells PostgreSQL about its caller.
type RequestScope struct {
	Role    string          // anon, authenticated or service_role
	Claims  json.RawMessage // the verified JWT payload; empty means {"role": Role}
	Method  string          // request.method
	Path    string          // request.path
	Headers http.Header     // request.headers (lower-cased names, first value), credentials removed
	// ClientIP is request.client_ip: the client's address as the gateway resolved it (never a
	// header the client could set). Invalid means the one in the context (httpx.ClientIP),
	// and none when there is none, as for work no HTTP request started.
	ClientIP netip.Addr
	// RequestID is request.id; "" means the context's (httpx.RequestID).
	RequestID string
	// SearchPath, when set, is the transaction's search_path (a list of quoted schema names),
	// as PostgREST sets it to the requested schema and its extra search path; empty leaves
	// the connection's own.
	SearchPath string
}

// StatementTimeouts bounds each API role's statements; zero means no limit for that role.
type StatementTimeouts struct {
	Anon          time.Duration
	Authenticated time.Duration
	ServiceRole   time.Duration
}

func (t StatementTimeouts) forRole(role string) time.Duration {
	switch role {
	case RoleAnon:
		return t.Anon
	case RoleAuthenticated:
		return t.Authenticated
	default:
		return t.ServiceRole
	}
}

// RoleRunner runs request work as the caller's role. It is the one bridge between HTTP
// callers and row-level security: REST, storage metadata and realtime authorisation all go
// through InRole, so one set of policies guards every door.
type RoleRunner struct {
	pool       *pgxpool.Pool
	timeouts   StatementTimeouts
	unprepared bool
	// statements is the generation of RunInRole's prepared statements on every connection.
	statements statementGeneration
}

// RunnerConfig configures a RoleRunner. The zero value prepares statements and sets no
// statement timeout.
type RunnerConfig struct {
	Timeouts StatementTimeouts
	// Unprepared makes RunInRole send every statement unprepared, the settings included: for
	// a pooler in transaction mode (PgBouncer), which cannot keep prepared statements between
	// transactions. Default false (PostgREST's db-prepared-statements = true).
	Unprepared bool
}

// NewRoleRunner returns a RoleRunner over pool, which should connect as the authenticator
// role (or any role that is a member of the API roles).
func NewRoleRunner(pool *pgxpool.Pool, cfg RunnerConfig) *RoleRunner {
	return &RoleRunner{pool: pool, timeouts: cfg.Timeouts, unprepared: cfg.Unprepared}
}

// ForgetPreparedStatements makes every connection deallocate the statements RunInRole
// prepared on it, at its next use. Call it when the schema changes: PostgreSQL re-plans a
// prepared statement whose tables changed, but keeps the parameter types it inferred when it
// was prepared, so after ALTER COLUMN ... TYPE an old statement could refuse a value that a
// fresh one accepts.
func (r *RoleRunner) ForgetPreparedStatements() { r.statements.n.Add(1) }

// Pool returns the pool the runner uses.
func (r *RoleRunner) Pool() *pgxpool.Pool { return r.pool }

// InRole runs fn inside a transaction that has switched to scope.Role and published the
// claims and request details the way PostgREST does (set_config(..., true), so everything is
// undone at the end of the transaction and never leaks to the next user of the connection).
// fn's error rolls the transaction back and is returned. The transaction ends as InTx ends
// it, even after ctx has ended.
func (r *RoleRunner) InRole(ctx context.Context, scope RequestScope, fn func(pgx.Tx) error) error {
	settings, err := scope.settings(ctx, r.timeouts.forRole(scope.Role))
	if err != nil {
		return err
	}
	return InTx(ctx, r.pool, func(tx pgx.Tx) error {
		args := make([]any, len(settings))
		for i, v := range settings {
			args[i] = string(v)
		}
		if _, err := tx.Exec(ctx, applySettingsReadWriteSQL, args...); err != nil {
			return fmt.Errorf("enter role %s: %w", scope.Role, err)
		}
		return fn(tx)
	})
}

// applySettingsSQL switches role and publishes the request in one round trip. The role is a
// bind parameter too: set_config('role', ...) is what SET LOCAL ROLE does underneath. The
// values are gathered in an array, evaluated left to right, so that the answer is one small
// integer instead of an echo of every value (the claims and headers included) with a column
// description of eleven fields for the client to decode on every request.
const applySettingsSQL = `SELECT cardinality(ARRAY[
	set_config('role', $1, true),
	set_config('request.jwt.claims', $2, true),
	set_config('request.method', $3, true),
	set_config('request.path', $4, true),
	set_config('request.headers', $5, true),
	set_config('statement_timeout', $6, true),
	set_config('request.client_ip', $7, true),
	set_config('request.id', $8, true),
	set_config('search_path', CASE WHEN $9 = '' THEN current_setting('search_path') ELSE $9 END, true)`

// applySettingsEnd closes applySettingsSQL's array.
const applySettingsEnd = `])`

// settings are applySettingsSQL's parameters in PostgreSQL's text format, written into one
// buffer: every request sends them, and one allocation for all of them (instead of a string,
// an interface value and an encoding per parameter) keeps that cheap.
func (s RequestScope) settings(ctx context.Context, timeout time.Duration) ([][]byte, error) {
	switch s.Role {
	case RoleAnon, RoleAuthenticated, RoleServiceRole:
	default:
		return nil, fmt.Errorf("%w: %q", ErrRoleNotAllowed, s.Role)
	}
	if len(s.Claims) > 0 && !json.Valid(s.Claims) {
		return nil, errors.New("request claims are not valid JSON")
	}
	ip, id := s.ClientIP, s.RequestID
	if !ip.IsValid() {
		ip = httpx.ClientIP(ctx)
	}
	if id == "" {
		id = httpx.RequestID(ctx)
	}
	size := len(s.Role) + len(s.Claims) + len(s.Method) + len(s.Path) + len(id) + len(s.SearchPath) + 96
	for name, values := range s.Headers {
		if len(values) > 0 {
			size += len(name) + len(values[0]) + 8
		}
	}
	buf := make([]byte, 0, size)
	values := make([][]byte, 0, 9)
	// Each value is the part of buf appended since start. buf never runs out of room for
	// the usual request, and if it does, earlier values keep the bytes they were given. A
	// value is never nil (NULL): an empty one is an empty slice of a non-nil buffer.
	start := 0
	next := func() {
		values = append(values, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	buf = append(buf, s.Role...)
	next()
	if len(s.Claims) == 0 {
		buf = append(append(append(buf, `{"role":"`...), s.Role...), `"}`...)
	} else {
		buf = append(buf, s.Claims...)
	}
	next()
	buf = append(buf, s.Method...)
	next()
	buf = append(buf, s.Path...)
	next()
	buf = appendHeadersJSON(buf, s.Headers)
	next()
	buf = strconv.AppendInt(buf, timeout.Milliseconds(), 10)
	next()
	if ip.IsValid() {
		buf = ip.Unmap().WithZone("").AppendTo(buf)
	}
	next()
	buf = append(buf, id...)
	next()
	buf = append(buf, s.SearchPath...)
	next()
	return values, nil
}
