// Package usermigrations is the migration service of a project's own schema: migration files
// in a project directory (VERSION_NAME.up.sql and .down.sql, or Supabase CLI's single
// VERSION_name.sql), their history in goforward.migrations, applying and rolling them back
// one transaction each under an advisory lock, and writing a new migration from what changed
// in the live schema (Diff). Every change is written to the audit log in its transaction.
//
// It is a base package: the CLI (`goforward migrate`) and the admin API (/admin/v1/migrations)
// call the same Service.
package usermigrations

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The service's errors; every error it returns for bad input or a refusal wraps one of them
// (errors.Is), so the admin API can answer with the right status.
var (
	// ErrInvalid: the request or a file is malformed (a name, a transaction statement in a
	// migration).
	ErrInvalid = errors.New("invalid migration")
	// ErrNotFound: no migration has the version asked for.
	ErrNotFound = errors.New("no such migration")
	// ErrChecksum: an applied migration's file changed since it was applied.
	ErrChecksum = errors.New("applied migration changed")
	// ErrIrreversible: a migration to roll back has no down SQL.
	ErrIrreversible = errors.New("migration cannot be rolled back")
	// ErrConflict: the state does not allow the request (a file exists, nothing to redo).
	ErrConflict = errors.New("migration conflict")
)

// lockKey is the advisory lock every change of the history holds for its whole run, so two
// processes running `migrate up` at once apply each migration once: the second waits, then
// finds nothing left to do. Distinct from the internal migrations' key ("gfusrmig").
const lockKey int64 = 0x6766_7573_726d_6967

// DefaultDir is the migrations directory when migrations.dir is not set: Supabase's
// ./supabase/migrations when it exists, so a Supabase project works as it is, else
// ./migrations.
func DefaultDir() string {
	supabase := filepath.Join("supabase", "migrations")
	if st, err := os.Stat(supabase); err == nil && st.IsDir() {
		return supabase
	}
	return "migrations"
}

// Config configures the service. The zero value reads DefaultDir and cannot Diff.
type Config struct {
	// Dir holds the migration files; "" means DefaultDir().
	Dir string
	// Internal is Go Forward's internal schema (the migrations package's FS), which Diff
	// applies to its scratch database before the history, as every database has it. Nil:
	// Diff is refused.
	Internal fs.FS
	// Logger is for warnings (skipped files); nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of new versions; nil means time.Now.
	Now func() time.Time
}

// Service applies, rolls back, lists and writes migrations of one directory to one database.
type Service struct {
	pool     *pgxpool.Pool
	dir      string
	internal fs.FS
	logger   *slog.Logger
	now      func() time.Time
}

// New builds the service on the owner's pool: migrations change the schema, and the history
// table is out of every API role's reach.
func New(pool *pgxpool.Pool, cfg Config) *Service {
	s := &Service{pool: pool, dir: cfg.Dir, internal: cfg.Internal, logger: cfg.Logger, now: cfg.Now}
	if s.dir == "" {
		s.dir = DefaultDir()
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Dir is the migrations directory.
func (s *Service) Dir() string { return s.dir }

// files reads the directory, warning about the files it skips.
func (s *Service) files() ([]File, error) {
	files, skipped, err := ReadDir(s.dir)
	for _, n := range skipped {
		s.logger.Warn("migrations: skipping a file whose name is not VERSION_NAME.up.sql, .down.sql or VERSION_name.sql", "file", filepath.Join(s.dir, n))
	}
	return files, err
}

// Applied is one row of the history: a migration as it was applied.
type Applied struct {
	Version   string        `json:"version"`
	Name      string        `json:"name"`
	UpSQL     string        `json:"up_sql"`
	DownSQL   *string       `json:"down_sql"`
	Checksum  string        `json:"checksum"`
	AppliedAt time.Time     `json:"applied_at"`
	AppliedBy string        `json:"applied_by"`
	Duration  time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for JSON.
	DurationMS float64 `json:"duration_ms"`
	// Marked: recorded as applied without running.
	Marked bool `json:"marked"`
}

// ID is how messages name the migration: VERSION_NAME.
func (a Applied) ID() string { return a.Version + "_" + a.Name }

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// History lists the applied migrations in the order they were applied, oldest first.
func (s *Service) History(ctx context.Context) ([]Applied, error) {
	return history(ctx, s.pool)
}

func history(ctx context.Context, q querier) ([]Applied, error) {
	rows, err := q.Query(ctx, `SELECT version, name, up_sql, down_sql, checksum, applied_at, applied_by, duration, marked
FROM goforward.migrations ORDER BY applied_at, version`)
	if err != nil {
		return nil, fmt.Errorf("read the migration history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Applied, error) {
		var a Applied
		err := row.Scan(&a.Version, &a.Name, &a.UpSQL, &a.DownSQL, &a.Checksum, &a.AppliedAt, &a.AppliedBy, &a.Duration, &a.Marked)
		a.DurationMS = ms(a.Duration)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the migration history: %w", err)
	}
	return out, nil
}

// States of a migration in Status.
const (
	// StateApplied: applied, and its file is unchanged.
	StateApplied = "applied"
	// StatePending: a file not applied yet.
	StatePending = "pending"
	// StateChanged: applied, but its up file changed since; `migrate up` refuses to run.
	StateChanged = "changed"
	// StateMissing: applied, but no file has its version (applied from another checkout).
	StateMissing = "missing"
)

// Status is one migration as files and history see it together.
type Status struct {
	Version string `json:"version"`
	Name    string `json:"name"`
	State   string `json:"status"`
	// UpFile and DownFile are the files' paths; "" when there is none.
	UpFile   string `json:"up_file"`
	DownFile string `json:"down_file"`
	// Reversible: a rollback has down SQL to run (the down file, else the SQL recorded).
	Reversible bool   `json:"reversible"`
	Checksum   string `json:"checksum"`
	// AppliedChecksum is the checksum recorded when it was applied.
	AppliedChecksum string     `json:"applied_checksum,omitempty"`
	AppliedAt       *time.Time `json:"applied_at"`
	AppliedBy       string     `json:"applied_by,omitempty"`
	DurationMS      *float64   `json:"duration_ms"`
	Marked          bool       `json:"marked"`
}

// Status lists every migration, applied or not, ordered by version.
func (s *Service) Status(ctx context.Context) ([]Status, error) {
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	applied, err := history(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	return combine(files, applied), nil
}

// combine joins files and history by version.
func combine(files []File, applied []Applied) []Status {
	byVersion := map[string]Applied{}
	for _, a := range applied {
		byVersion[a.Version] = a
	}
	var out []Status
	seen := map[string]bool{}
	for _, f := range files {
		st := Status{Version: f.Version, Name: f.Name, State: StatePending, UpFile: f.UpPath, DownFile: f.DownPath,
			Reversible: f.Reversible(), Checksum: f.Checksum}
		if a, ok := byVersion[f.Version]; ok {
			seen[f.Version] = true
			st.fill(a)
			_, _, st.Reversible = rollbackSQL(&f, &a)
			st.State = StateApplied
			if a.Checksum != f.Checksum {
				st.State = StateChanged
			}
		}
		out = append(out, st)
	}
	for _, a := range applied {
		if seen[a.Version] {
			continue
		}
		st := Status{Version: a.Version, Name: a.Name, State: StateMissing, Checksum: a.Checksum}
		st.fill(a)
		_, _, st.Reversible = rollbackSQL(nil, &a)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return compareVersions(a.Version, b.Version) })
	return out
}

// rollbackSQL is the SQL that rolls a migration back and where it comes from: its down file
// when it has one (which may have been fixed since), else the down SQL recorded when it was
// applied. ok is false when neither holds a statement.
func rollbackSQL(f *File, a *Applied) (sql, source string, ok bool) {
	switch {
	case f != nil && f.DownPath != "":
		return f.Down, f.DownPath, len(Split(f.Down)) > 0
	case a != nil && a.DownSQL != nil:
		return *a.DownSQL, "the down SQL recorded when it was applied", len(Split(*a.DownSQL)) > 0
	}
	return "", "", false
}

func (st *Status) fill(a Applied) {
	at, d := a.AppliedAt, a.DurationMS
	st.AppliedChecksum, st.AppliedAt, st.AppliedBy, st.DurationMS, st.Marked = a.Checksum, &at, a.AppliedBy, &d, a.Marked
}
