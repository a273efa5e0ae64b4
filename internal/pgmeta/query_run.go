package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/sqlguard"
)

// readOnlyPrefix opens the transaction a read_only request runs in. It travels in the same
// simple-protocol message as the caller's SQL (one round trip); error positions are moved
// back by its length.
const readOnlyPrefix = "START TRANSACTION READ ONLY;\n"

// resetSQL undoes whatever session state the caller's SQL left on the connection, as
// DISCARD ALL would, in one simple-protocol message (DISCARD ALL itself refuses to run after
// the ROLLBACK in the same message, and sending each statement apart costs a round trip or a
// parse of its own). SET SESSION AUTHORIZATION DEFAULT comes first, so that a SET ROLE of the
// caller's does not decide who runs the rest or writes the audit entry.
const resetSQL = "SET SESSION AUTHORIZATION DEFAULT; RESET ALL; CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; " +
	"SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP"

// sqlPoolConfig derives the SQL runner's pool from the owner's: same server and role, its own
// few connections (a long query in the SQL editor never holds one the API needs), the
// statement timeout and the parser's settings as session defaults (RESET ALL returns to
// them), no named prepared statements (the reset's DEALLOCATE ALL would pull them from under
// pgx's cache) and notifications a LISTEN left behind dropped rather than buffered.
func sqlPoolConfig(owner *pgxpool.Config, c SQLConfig) *pgxpool.Config {
	cfg := owner.Copy()
	cfg.MaxConns = c.MaxConns
	cfg.MinConns = 0
	rt := map[string]string{}
	for k, v := range cfg.ConnConfig.RuntimeParams {
		rt[k] = v
	}
	rt["application_name"] = "goforward sql"
	rt["statement_timeout"] = strconv.FormatInt(c.StatementTimeout.Milliseconds(), 10)
	rt["standard_conforming_strings"] = "on"
	rt["client_encoding"] = "UTF8"
	cfg.ConnConfig.RuntimeParams = rt
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	cfg.ConnConfig.OnNotification = func(*pgconn.PgConn, *pgconn.Notification) {}
	return cfg
}

// sqlPool returns the runner's pool, made at first use.
func (s *Service) sqlPool() (*pgxpool.Pool, error) {
	s.sqlOnce.Do(func() {
		s.sqlPoolV, s.sqlPoolErr = pgxpool.NewWithConfig(context.Background(), sqlPoolConfig(s.pool.Config(), s.cfg.SQL))
	})
	return s.sqlPoolV, s.sqlPoolErr
}

// Close closes the SQL runner's connections. The service must not be used afterwards.
func (s *Service) Close() {
	s.sqlOnce.Do(func() {}) // no pool will be made any more
	if s.sqlPoolV != nil {
		s.sqlPoolV.Close()
	}
}

// runInput is one request to run.
type runInput struct {
	sql        string
	params     [][]byte // text-format parameters; nil runs sql with the simple protocol
	readOnly   bool
	allResults bool
	maxRows    int
}

// sqlResult is one statement's result.
type sqlResult struct {
	Command      string         `json:"command"`
	RowsAffected int64          `json:"rows_affected"`
	Columns      []resultColumn `json:"columns"`
	Rows         []json.RawMessage
	Truncated    bool `json:"truncated"`
	// returned is how many rows the statement returned, those left out included.
	returned int64
}

type resultColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	TypeOID uint32 `json:"type_oid"`
}

// runOutput is what running a request gave.
type runOutput struct {
	results  []sqlResult
	err      error
	duration time.Duration
	shift    int // characters the runner put before the caller's SQL
	// broken is set when the connection cannot be trusted any more (a cancelled statement, a
	// lost connection): it is closed instead of reset.
	broken bool
	// timedOut is set when the request's deadline ended it.
	timedOut bool
}

// runSQL executes in on a connection of the runner's pool; finish must then be called with the
// connection to reset it and write the audit entry.
func (s *Service) runSQL(ctx context.Context, conn *pgxpool.Conn, in runInput) runOutput {
	pg := conn.Conn().PgConn()
	out := runOutput{}
	start := time.Now()
	if in.params == nil {
		sql := in.sql
		skip := 0
		if in.readOnly {
			sql, skip, out.shift = readOnlyPrefix+sql, 1, len(readOnlyPrefix)
		}
		out.results, out.err = collect(pg.Exec(ctx, sql), skip, in)
	} else {
		if in.readOnly {
			if _, err := pg.Exec(ctx, "START TRANSACTION READ ONLY").ReadAll(); err != nil {
				out.err = err
			}
		}
		if out.err == nil {
			res, err := collectOne(pg.ExecParams(ctx, in.sql, in.params, nil, nil, nil), in)
			out.results, out.err = []sqlResult{res}, err
		}
	}
	out.duration = time.Since(start)
	var pgErr *pgconn.PgError
	if out.err != nil && (!errors.As(out.err, &pgErr) || ctx.Err() != nil) {
		out.broken = true
		out.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	}
	return out
}

// collect reads every result of a simple-protocol request, leaving out the first skip (the
// runner's own statements). Without allResults only the last result that has rows is kept,
// which is what postgres-meta answers.
func collect(mrr *pgconn.MultiResultReader, skip int, in runInput) ([]sqlResult, error) {
	var results []sqlResult
	for i := 0; mrr.NextResult(); i++ {
		rr := mrr.ResultReader()
		if i < skip {
			if _, err := rr.Close(); err != nil {
				break
			}
			continue
		}
		res, err := collectOne(rr, in)
		if err != nil {
			break
		}
		switch {
		case in.allResults:
			results = append(results, res)
		case len(res.Rows) > 0 || len(results) == 0:
			results = append(results[:0], res)
		}
	}
	return results, mrr.Close()
}

// collectOne reads one result, keeping at most in.maxRows rows as JSON (objects keyed by
// column name, or arrays with allResults) and counting the rest.
func collectOne(rr *pgconn.ResultReader, in runInput) (sqlResult, error) {
	fields := rr.FieldDescriptions()
	res := sqlResult{Columns: make([]resultColumn, len(fields)), Rows: []json.RawMessage{}}
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
		res.Columns[i] = resultColumn{Name: f.Name, TypeOID: f.DataTypeOID}
	}
	enc := newRowEncoder(res.Columns, in.allResults)
	for rr.NextRow() {
		res.returned++
		if len(res.Rows) >= in.maxRows {
			res.Truncated = true
			continue
		}
		res.Rows = append(res.Rows, enc.encode(oids, rr.Values()))
	}
	tag, err := rr.Close()
	if err != nil {
		return res, err
	}
	res.Command = commandOf(tag)
	res.RowsAffected = tag.RowsAffected()
	return res, nil
}

// commandOf is the verb of a command tag: "SELECT" of "SELECT 2", "CREATE TABLE".
func commandOf(tag pgconn.CommandTag) string {
	s := tag.String()
	for len(s) > 0 && (s[len(s)-1] >= '0' && s[len(s)-1] <= '9' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// rowEncoder writes rows as JSON. As objects, a name several columns share appears once,
// where it first appears, with the last of their values, as a JavaScript object built by
// node-postgres would have it.
type rowEncoder struct {
	arrays bool
	keys   [][]byte // the JSON of each key, in order
	cols   []int    // the column whose value each key takes
}

func newRowEncoder(cols []resultColumn, arrays bool) rowEncoder {
	e := rowEncoder{arrays: arrays}
	if arrays {
		return e
	}
	index := map[string]int{}
	for i, c := range cols {
		if k, seen := index[c.Name]; seen {
			e.cols[k] = i
			continue
		}
		index[c.Name] = len(e.keys)
		key, _ := json.Marshal(c.Name)
		e.keys = append(e.keys, key)
		e.cols = append(e.cols, i)
	}
	return e
}

func (e rowEncoder) encode(oids []uint32, values [][]byte) json.RawMessage {
	var b []byte
	if e.arrays {
		b = append(b, '[')
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, oids[i], v)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for k, key := range e.keys {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, key...)
		b = append(b, ':')
		i := e.cols[k]
		b = appendValue(b, oids[i], values[i])
	}
	return append(b, '}')
}

// finish leaves the connection as the request found it, gives it back to the pool and writes
// the audit entry. On a healthy connection a transaction left open or failed is rolled back
// and, unless the request was only plain reads (leavesNoState), the session is reset, in one
// round trip; otherwise, or when that fails, the connection is closed (the pool opens a new
// one). The entry is then committed (entryBatcher) before the answer is sent. The connection
// is not held through that wait: the statements have ended, and the next request can run on
// it while this one's entry is flushed. It runs detached from the request, whose deadline may
// have passed.
func (s *Service) finish(ctx context.Context, conn *pgxpool.Conn, out runOutput, stateless bool, e audit.Entry) error {
	ctx = context.WithoutCancel(ctx)
	if !out.broken {
		if err := reset(ctx, conn, stateless); err != nil {
			s.logger.Warn("pgmeta: reset a SQL connection", "error", err)
			out.broken = true
		}
	}
	if out.broken {
		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = conn.Conn().Close(closeCtx)
		cancel()
	}
	conn.Release()
	if err := s.entries.write(ctx, e); err != nil {
		return fmt.Errorf("pgmeta: audit a query: %w", err)
	}
	return nil
}

// reset rolls back what the request left open and, unless it was stateless, resets the
// session.
func reset(ctx context.Context, conn *pgxpool.Conn, stateless bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pg := conn.Conn().PgConn()
	sql := resetSQL
	switch {
	case pg.TxStatus() != 'I' && stateless:
		sql = "ROLLBACK"
	case pg.TxStatus() != 'I':
		sql = "ROLLBACK; " + resetSQL
	case stateless:
		return nil
	}
	_, err := pg.Exec(ctx, sql).ReadAll()
	return err
}

// leavesNoState reports whether statements leave nothing in the session for the next request
// to meet: plain reads (SELECT, VALUES, TABLE, SHOW, EXPLAIN, WITH) that sqlguard found calling
// no VOLATILE function (a call to one, such as set_config or pg_advisory_lock, makes a
// statement a write). DECLARE and PREPARE of a read are reads too, but leave a cursor or a
// prepared statement behind.
func leavesNoState(stmts []sqlguard.Statement) bool {
	for _, st := range stmts {
		if st.Kind != sqlguard.KindRead {
			return false
		}
		switch strings.ToLower(firstWord(st.SQL)) {
		case "select", "values", "table", "show", "with", "explain":
		default:
			return false
		}
	}
	return true
}
