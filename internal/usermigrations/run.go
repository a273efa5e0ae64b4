package usermigrations

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/audit"
)

// Directions of a step.
const (
	Up   = "up"
	Down = "down"
)

// Audit actions of the service.
const (
	ActionApply       = "migration.apply"
	ActionRollback    = "migration.rollback"
	ActionMarkApplied = "migration.mark_applied"
	ActionCreate      = "migration.create"
)

// Step is one migration a run applied or rolled back, or, in a dry run, would.
type Step struct {
	Version   string `json:"version"`
	Name      string `json:"name"`
	Direction string `json:"direction"`
	// Source is where the SQL came from: a file's path, or the SQL recorded in the history.
	Source string `json:"source"`
	// SQL is what runs; set in dry runs only.
	SQL        string  `json:"sql,omitempty"`
	Statements int     `json:"statements"`
	DurationMS float64 `json:"duration_ms"`
}

// ID is how messages name the step's migration: VERSION_NAME.
func (s Step) ID() string { return s.Version + "_" + s.Name }

// Result is what a run did, or in a dry run would do.
type Result struct {
	DryRun bool   `json:"dry_run"`
	Steps  []Step `json:"steps"`
}

// FailedError is a migration whose SQL failed. Its transaction was rolled back: nothing of
// it stays, and the history is as it was.
type FailedError struct {
	Version, Name string
	Direction     string
	// Source is the file (or "the down SQL recorded …") the statement comes from.
	Source string
	// Statement counts the source's statements from 1; Line is the line of the error in it.
	Statement int
	Line      int
	SQL       string
	Err       error
}

func (e *FailedError) Error() string {
	verb := "applying"
	if e.Direction == Down {
		verb = "rolling back"
	}
	return fmt.Sprintf("%s migration %s_%s failed, and everything it did was rolled back: %s, statement %d (line %d): %v",
		verb, e.Version, e.Name, e.Source, e.Statement, e.Line, e.Err)
}

func (e *FailedError) Unwrap() error { return e.Err }

// plan is one migration to run: its statements are parsed before anything runs, so a file
// that cannot run is refused before the first migration of the run is applied.
type plan struct {
	Step
	stmts    []Statement
	file     *File    // up: the file applied
	upSQL    string   // up: the SQL recorded
	downSQL  *string  // up: the down SQL recorded with it
	applied  *Applied // down: the history row removed
	checksum string
}

func planApply(f File) (plan, error) {
	stmts, err := statements(f.Up, f.UpPath)
	if err != nil {
		return plan{}, err
	}
	p := plan{Step: Step{Version: f.Version, Name: f.Name, Direction: Up, Source: f.UpPath, Statements: len(stmts)},
		stmts: stmts, file: &f, upSQL: f.Up, checksum: f.Checksum}
	if f.DownPath != "" {
		down := f.Down
		p.downSQL = &down
	}
	return p, nil
}

func planRollback(a Applied, f *File) (plan, error) {
	sql, source, ok := rollbackSQL(f, &a)
	switch {
	case !ok && f != nil && f.DownPath != "":
		return plan{}, fmt.Errorf("%w: the down file of %s (%s) holds no statement; write the SQL that undoes the migration into it", ErrIrreversible, a.ID(), source)
	case !ok:
		return plan{}, fmt.Errorf("%w: %s has no down file (%s_%s.down.sql) and no down SQL was recorded when it was applied; write its down file to roll it back",
			ErrIrreversible, a.ID(), a.Version, a.Name)
	}
	stmts, err := statements(sql, source)
	if err != nil {
		return plan{}, err
	}
	return plan{Step: Step{Version: a.Version, Name: a.Name, Direction: Down, Source: source, Statements: len(stmts)},
		stmts: stmts, applied: &a}, nil
}

// locked runs fn on a connection of its own holding the service's advisory lock. The
// connection is closed afterwards rather than returned to the pool: a migration may leave
// session settings behind (SET search_path, SET ROLE), and closing also ends the lock.
func (s *Service) locked(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("take the migrations lock: %w", err)
	}
	return fn(conn)
}

// runSteps runs each plan in a transaction of its own, in order, stopping at the first
// failure; the steps done before it stay.
func (s *Service) runSteps(ctx context.Context, conn *pgx.Conn, by audit.Entry, plans []plan) ([]Step, error) {
	done := []Step{}
	for _, p := range plans {
		start := time.Now()
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			return s.runInTx(ctx, tx, by, p, start, false)
		})
		if err != nil {
			s.auditFailure(ctx, by, p, err)
			return done, err
		}
		p.DurationMS = ms(time.Since(start))
		done = append(done, p.Step)
	}
	return done, nil
}

// runInTx runs one plan and records it: the history row and the audit entry commit with the
// schema change, or not at all. marked records an up plan without running its SQL.
func (s *Service) runInTx(ctx context.Context, tx pgx.Tx, by audit.Entry, p plan, start time.Time, marked bool) error {
	if !marked {
		if err := execStatements(ctx, tx, p); err != nil {
			return err
		}
	}
	// The bookkeeping runs as the owner, whatever role the migration switched to.
	if _, err := tx.Exec(ctx, resetRole); err != nil {
		return fmt.Errorf("reset the role after migration %s: %w", p.ID(), err)
	}
	elapsed := time.Since(start)
	e := entryFor(by, p, elapsed)
	if p.Direction == Up {
		if _, err := tx.Exec(ctx, `INSERT INTO goforward.migrations
  (version, name, up_sql, down_sql, checksum, applied_at, applied_by, duration, marked)
VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8)`,
			p.Version, p.Name, p.upSQL, p.downSQL, p.checksum, appliedBy(by), elapsed, marked); err != nil {
			return fmt.Errorf("record migration %s: %w", p.ID(), err)
		}
		if marked {
			e.Action = ActionMarkApplied
		}
	} else {
		if _, err := tx.Exec(ctx, `DELETE FROM goforward.migrations WHERE version = $1`, p.Version); err != nil {
			return fmt.Errorf("remove migration %s from the history: %w", p.ID(), err)
		}
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return err
	}
	// The schema caches (REST's, realtime's) reload at the commit: the event triggers say so
	// already, but only where the owner is a superuser.
	if _, err := tx.Exec(ctx, `SELECT pg_notify('pgrst', 'reload schema')`); err != nil {
		return fmt.Errorf("notify the schema cache: %w", err)
	}
	return nil
}

// resetRole undoes SET ROLE and SET SESSION AUTHORIZATION: returning to the role the
// connection signed in as is allowed to every role.
const resetRole = "RESET SESSION AUTHORIZATION; RESET ROLE"

// execStatements runs a plan's statements, each on its own so that a failure names its
// statement. The session starts from its defaults: a migration's SET search_path or SET ROLE
// is not the next one's starting point.
func execStatements(ctx context.Context, tx pgx.Tx, p plan) error {
	if _, err := tx.Exec(ctx, "RESET ALL; "+resetRole); err != nil {
		return fmt.Errorf("reset the session before migration %s: %w", p.ID(), err)
	}
	for _, st := range p.stmts {
		if _, err := tx.Exec(ctx, st.SQL); err != nil {
			return failed(p, st, err)
		}
	}
	return nil
}

func failed(p plan, st Statement, err error) *FailedError {
	fe := &FailedError{Version: p.Version, Name: p.Name, Direction: p.Direction, Source: p.Source,
		Statement: st.Index, Line: st.Line, SQL: st.SQL, Err: err}
	if pgErr := pgError(err); pgErr != nil {
		fe.Line = st.LineOf(int(pgErr.Position))
	}
	return fe
}

// entryFor is the audit entry of a step taken by the caller by.
func entryFor(by audit.Entry, p plan, elapsed time.Duration) audit.Entry {
	e := by
	e.Action = ActionApply
	if p.Direction == Down {
		e.Action = ActionRollback
	}
	e.ResourceType, e.ResourceID = "migration", p.Version
	e.Details = maps.Clone(by.Details)
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details["name"] = p.Name
	e.Details["source"] = p.Source
	e.Details["statements"] = len(p.stmts)
	e.Details["duration_ms"] = ms(elapsed)
	if p.Direction == Up {
		e.Details["checksum"] = p.checksum
	}
	return e
}

// auditFailure records a step that failed. Its transaction rolled back, the entry with it;
// this one is written on its own, detached from a caller that may have gone.
func (s *Service) auditFailure(ctx context.Context, by audit.Entry, p plan, err error) {
	e := entryFor(by, p, 0)
	delete(e.Details, "duration_ms")
	e.Outcome, e.Severity = audit.Error, audit.Warning
	e.Details["error"] = err.Error()
	var fe *FailedError
	if errors.As(err, &fe) {
		e.Details["statement"], e.Details["line"] = fe.Statement, fe.Line
		e.Details["error"] = fe.Err.Error()
	}
	if aerr := audit.Record(context.WithoutCancel(ctx), s.pool, e); aerr != nil {
		s.logger.Error("migrations: audit a failed migration", "error", aerr)
	}
}

// appliedBy is how the history names who applied a migration: an admin's address, the
// command line's account and host, or the actor's type and id.
func appliedBy(e audit.Entry) string {
	if e.Actor.Email != "" {
		return e.Actor.Email
	}
	if e.Actor.Type == audit.ActorCLI {
		user, _ := e.Details["os_user"].(string)
		host, _ := e.Details["host"].(string)
		if user != "" || host != "" {
			return "cli:" + strings.Trim(user+"@"+host, "@")
		}
	}
	if e.Actor.ID != "" {
		return e.Actor.Type + ":" + e.Actor.ID
	}
	if e.Actor.Type == "" {
		return "unknown"
	}
	return e.Actor.Type
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
