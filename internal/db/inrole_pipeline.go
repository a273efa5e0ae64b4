package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Statement is one SQL statement with its bind arguments.
type Statement struct {
	SQL  string
	Args []any
	// OneOff sends the statement unprepared. RunInRole prepares every other statement on
	// each connection the first time it runs there; EXPLAIN cannot be prepared, and a
	// statement whose text changes every time would only push useful ones out of the cache.
	OneOff bool
}

// PipelineOptions tune RunInRole.
type PipelineOptions struct {
	// ReadOnly makes the transaction read-only (GET and HEAD requests, stable functions), so
	// a write fails with SQLSTATE 25006.
	ReadOnly bool
	// Confirm keeps the transaction open until read has seen every result: a read error
	// then rolls back what the statements did. It costs one more round trip (COMMIT), so
	// use it only when the decision depends on the result (a write that must affect one row).
	Confirm bool
	// Rollback ends the transaction with ROLLBACK whatever happens (PostgREST's
	// Prefer: tx=rollback). It implies Confirm.
	Rollback bool
}

// RunInRole runs stmts as scope's role, like InRole, but pipelined: the settings and the
// statements travel in one batch and, without Confirm, run in the implicit transaction that
// the extended protocol gives everything before one Sync, so the whole request is one network
// round trip instead of four (BEGIN, settings, statement, COMMIT). set_config(..., true) is
// local to that implicit transaction, so nothing outlives it.
//
// The constant settings statement is prepared once per connection. Each statement is
// prepared (SQL PREPARE, queued right before its first execution on a connection) after the
// role switch, so PostgreSQL parses it as the caller's role, and later requests with the same
// role and SQL only bind and execute it: parsing and planning are a third of PostgreSQL's time
// on a point read. Parameters are untyped text: PostgreSQL infers each parameter's type from
// where it is used (a value compared with an integer column is read as an integer), the way
// it reads PostgREST's literals. Results arrive in text format. Prepared statements outlive
// the transaction (a failed request keeps them), are kept per connection up to
// StatementCacheSize, and are dropped by ForgetPreparedStatements after the schema changes.
//
// read is called once per statement, in order, with its rows; the rows are closed after read
// returns. The first error (a statement's or read's) is returned; statements after a failed
// one do not run. Without Confirm the transaction has already committed when read runs, so
// read must not be the one to reject a result that has to be undone. When ctx ends first, the
// statement running is cancelled (see KeepConnectionOnCancel), the connection stays in the
// pool, and the error satisfies errors.Is(err, ctx.Err()).
func (r *RoleRunner) RunInRole(ctx context.Context, scope RequestScope, opts PipelineOptions, stmts []Statement, read func(i int, rows pgx.Rows) error) (err error) {
	settings, err := scope.settings(ctx, r.timeouts.forRole(scope.Role))
	if err != nil {
		return err
	}
	defer func() { err = withContextCause(ctx, err) }()
	explicit := opts.Confirm || opts.Rollback
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	typeMap := conn.Conn().TypeMap()

	batch := &pgconn.Batch{}
	settingsName, settingsSQL := applySettingsName, applySettingsReadWriteSQL
	switch {
	case explicit && opts.ReadOnly:
		batch.ExecParams("BEGIN READ ONLY", nil, nil, nil, nil)
	case explicit:
		batch.ExecParams("BEGIN", nil, nil, nil, nil)
	case opts.ReadOnly:
		// Inside an implicit transaction there is no BEGIN to carry READ ONLY; setting it
		// before any data is read has the same effect (only going back to read-write is
		// refused once a snapshot exists).
		settingsName, settingsSQL = applySettingsReadOnlyName, applySettingsReadOnlySQL
	}
	p := &pipeline{batch: batch, role: scope.Role}
	if r.unprepared {
		batch.ExecParams(settingsSQL, settings, nil, nil, nil)
	} else {
		// The settings statement never changes and names only pg_catalog functions, so it
		// is prepared once per connection (the first use costs one round trip; pgx remembers
		// it) and PostgreSQL does not parse and plan it on every request.
		if _, err := conn.Conn().Prepare(ctx, settingsName, settingsSQL); err != nil {
			return fmt.Errorf("prepare settings: %w", err)
		}
		batch.ExecPrepared(settingsName, settings, nil, nil)
		p.cache = statementsOf(conn.Conn().PgConn(), &r.statements)
	}
	if explicit {
		p.steps = append(p.steps, pipelineStep{what: "begin"})
	}
	p.steps = append(p.steps, pipelineStep{what: "enter role " + scope.Role})
	if err := p.queue(typeMap, stmts); err != nil {
		return err
	}

	results := conn.Conn().PgConn().ExecBatch(ctx, batch)
	runErr := p.read(results, typeMap, read)
	if closeErr := results.Close(); runErr == nil && closeErr != nil {
		runErr = closeErr
	}
	defer discardIfStatementsLost(conn, runErr)
	if !explicit {
		return runErr
	}
	end := "COMMIT"
	if runErr != nil || opts.Rollback {
		end = "ROLLBACK"
	}
	// The request's context may be done already; ending the transaction must still happen,
	// or the pool would have to discard the connection.
	endCtx, cancel := endContext(ctx)
	defer cancel()
	if _, err := conn.Exec(endCtx, end); err != nil && runErr == nil {
		runErr = fmt.Errorf("%s: %w", end, err)
	}
	return runErr
}

// discardIfStatementsLost closes conn when err says a statement RunInRole prepared on it is
// gone: SQL run in a request (a function calling DEALLOCATE ALL, say) can drop them, and the
// connection's caches would then fail every later request that uses it. The pool replaces a
// closed connection, so only the request that found out fails.
func discardIfStatementsLost(conn *pgxpool.Conn, err error) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "26000" { // invalid_sql_statement_name
		_ = conn.Conn().Close(context.Background())
	}
}

// The settings statements RunInRole prepares on each connection, and their names there.
const (
	applySettingsName         = "goforward_apply_settings"
	applySettingsReadOnlyName = "goforward_apply_settings_ro"
	// applySettingsReadOnlySQL also makes an implicit transaction read-only.
	applySettingsReadOnlySQL = applySettingsSQL + `,
	set_config('transaction_read_only', 'on', true)` + applySettingsEnd
	applySettingsReadWriteSQL = applySettingsSQL + applySettingsEnd
)

// encodeText encodes every argument in text format (nil stays SQL NULL), into one buffer: a
// request's arguments then cost one allocation between them instead of one each.
func encodeText(typeMap *pgtype.Map, args []any) ([][]byte, error) {
	if len(args) == 0 {
		return nil, nil
	}
	values := make([][]byte, len(args))
	var buf []byte
	for i, arg := range args {
		if arg == nil {
			continue
		}
		if buf == nil {
			// Never nil once used, so that an empty value is an empty string, not NULL.
			buf = make([]byte, 0, 64)
		}
		start := len(buf)
		out, err := typeMap.Encode(0, pgtype.TextFormatCode, arg, buf)
		if err != nil {
			return nil, fmt.Errorf("encode argument %d: %w", i+1, err)
		}
		if out == nil {
			continue // a NULL (a nil pointer, say); buf is untouched
		}
		// If out outgrew buf, earlier values keep the bytes of the old array.
		values[i] = out[start:len(out):len(out)]
		buf = out
	}
	return values, nil
}
