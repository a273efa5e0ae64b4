package usermigrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/audit"
)

// UpOptions shape Up.
type UpOptions struct {
	// To stops after this version; "" applies every pending migration.
	To string
	// DryRun returns the SQL that would run and runs nothing.
	DryRun bool
}

// Up applies the pending migrations in version order, each in a transaction of its own,
// recording each in the history and the audit log (by is the caller's entry: actor, client).
// It refuses to run anything while an applied migration's file has changed. A failure stops
// the run: the migrations before it stay applied, the failing one leaves nothing behind.
func (s *Service) Up(ctx context.Context, by audit.Entry, opt UpOptions) (Result, error) {
	files, err := s.files()
	if err != nil {
		return Result{}, err
	}
	if opt.DryRun {
		applied, err := history(ctx, s.pool)
		if err != nil {
			return Result{}, err
		}
		plans, err := planUp(files, applied, opt.To)
		return dryRun(plans), err
	}
	res := Result{Steps: []Step{}}
	err = s.locked(ctx, func(conn *pgx.Conn) error {
		applied, err := history(ctx, conn)
		if err != nil {
			return err
		}
		plans, err := planUp(files, applied, opt.To)
		if err != nil {
			return err
		}
		res.Steps, err = s.runSteps(ctx, conn, by, plans)
		return err
	})
	return res, err
}

// planUp is what Up runs: the pending files up to to, refused while an applied file changed.
func planUp(files []File, applied []Applied, to string) ([]plan, error) {
	done := map[string]Applied{}
	for _, a := range applied {
		done[a.Version] = a
	}
	var changed []string
	for _, f := range files {
		if a, ok := done[f.Version]; ok && a.Checksum != f.Checksum {
			changed = append(changed, fmt.Sprintf("%s (%s: checksum %.12s now, %.12s when applied %s by %s)",
				f.ID(), f.UpPath, f.Checksum, a.Checksum, a.AppliedAt.Format(time.RFC3339), a.AppliedBy))
		}
	}
	if len(changed) > 0 {
		return nil, fmt.Errorf("%w: %s changed after it was applied, so nothing was run. Restore the file as it was applied and put the change in a new migration (goforward migrate new NAME); "+
			"while developing, `goforward migrate redo` rolls the latest migration back and applies its file again",
			ErrChecksum, strings.Join(changed, "; "))
	}
	if to != "" && !knownVersion(files, applied, to) {
		return nil, fmt.Errorf("%w: no migration has version %s (goforward migrate status lists them)", ErrNotFound, to)
	}
	var plans []plan
	for _, f := range files {
		if _, ok := done[f.Version]; ok || (to != "" && compareVersions(f.Version, to) > 0) {
			continue
		}
		p, err := planApply(f)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

func knownVersion(files []File, applied []Applied, v string) bool {
	for _, f := range files {
		if f.Version == v {
			return true
		}
	}
	for _, a := range applied {
		if a.Version == v {
			return true
		}
	}
	return false
}

func dryRun(plans []plan) Result {
	res := Result{DryRun: true, Steps: []Step{}}
	for _, p := range plans {
		st := p.Step
		parts := make([]string, len(p.stmts))
		for i, s := range p.stmts {
			parts[i] = s.SQL + ";"
		}
		st.SQL = strings.Join(parts, "\n\n")
		res.Steps = append(res.Steps, st)
	}
	return res
}

// DownOptions shape Down.
type DownOptions struct {
	// Count is how many of the latest applied migrations to roll back; 0 means 1.
	Count int
	// DryRun returns the SQL that would run and runs nothing.
	DryRun bool
}

// Down rolls back the latest applied migrations, newest first, each in a transaction of its
// own. When one of them cannot be rolled back (no down SQL), nothing is rolled back.
func (s *Service) Down(ctx context.Context, by audit.Entry, opt DownOptions) (Result, error) {
	if opt.Count < 0 {
		return Result{}, fmt.Errorf("%w: the number of migrations to roll back must be positive", ErrInvalid)
	}
	files, err := s.files()
	if err != nil {
		return Result{}, err
	}
	if opt.DryRun {
		applied, err := history(ctx, s.pool)
		if err != nil {
			return Result{}, err
		}
		plans, err := planDown(files, applied, max(opt.Count, 1))
		return dryRun(plans), err
	}
	res := Result{Steps: []Step{}}
	err = s.locked(ctx, func(conn *pgx.Conn) error {
		applied, err := history(ctx, conn)
		if err != nil {
			return err
		}
		plans, err := planDown(files, applied, max(opt.Count, 1))
		if err != nil {
			return err
		}
		res.Steps, err = s.runSteps(ctx, conn, by, plans)
		return err
	})
	return res, err
}

// planDown is what Down runs: the n latest applied migrations, newest first.
func planDown(files []File, applied []Applied, n int) ([]plan, error) {
	byVersion := map[string]*File{}
	for i := range files {
		byVersion[files[i].Version] = &files[i]
	}
	var plans []plan
	for i := len(applied) - 1; i >= 0 && len(plans) < n; i-- {
		p, err := planRollback(applied[i], byVersion[applied[i].Version])
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// Redo rolls the latest applied migration back and applies its file again, in one
// transaction: the way to try an edited migration while developing. When applying fails,
// the rollback is undone too.
func (s *Service) Redo(ctx context.Context, by audit.Entry, dryRunOnly bool) (Result, error) {
	files, err := s.files()
	if err != nil {
		return Result{}, err
	}
	if dryRunOnly {
		applied, err := history(ctx, s.pool)
		if err != nil {
			return Result{}, err
		}
		plans, err := planRedo(files, applied)
		return dryRun(plans), err
	}
	res := Result{Steps: []Step{}}
	err = s.locked(ctx, func(conn *pgx.Conn) error {
		applied, err := history(ctx, conn)
		if err != nil {
			return err
		}
		plans, err := planRedo(files, applied)
		if err != nil {
			return err
		}
		start := time.Now()
		var current plan
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, p := range plans {
				current = p
				stepStart := time.Now()
				if err := s.runInTx(ctx, tx, by, p, stepStart, false); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.auditFailure(ctx, by, current, err)
			return err
		}
		for _, p := range plans {
			p.DurationMS = ms(time.Since(start))
			res.Steps = append(res.Steps, p.Step)
		}
		return nil
	})
	return res, err
}

func planRedo(files []File, applied []Applied) ([]plan, error) {
	if len(applied) == 0 {
		return nil, fmt.Errorf("%w: no migration is applied, so there is nothing to redo", ErrConflict)
	}
	latest := applied[len(applied)-1]
	var file *File
	for i := range files {
		if files[i].Version == latest.Version {
			file = &files[i]
		}
	}
	if file == nil {
		return nil, fmt.Errorf("%w: the latest applied migration, %s, has no file in the migrations directory to apply again", ErrConflict, latest.ID())
	}
	down, err := planRollback(latest, file)
	if err != nil {
		return nil, err
	}
	up, err := planApply(*file)
	if err != nil {
		return nil, err
	}
	return []plan{down, up}, nil
}

// NewFiles writes the files of a new, empty migration (what `migrate new` does): an up file
// and a down file holding a comment each. It touches no database.
func (s *Service) NewFiles(name string) (File, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return File{}, err
	}
	files, err := s.files()
	if err != nil {
		return File{}, err
	}
	version := nextVersion(s.now(), versions(files, nil))
	down := "-- Roll back " + n + ": undo what the up file does, in reverse order.\n"
	return writeFiles(s.dir, version, n, "-- "+n+"\n", &down)
}

func versions(files []File, applied []Applied) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Version)
	}
	for _, a := range applied {
		out = append(out, a.Version)
	}
	return out
}

// NewMigration is a migration made from SQL in hand: the admin API's create, which is also
// the dashboard's "save as migration" of DDL it ran through /pg.
type NewMigration struct {
	Name string `json:"name"`
	Up   string `json:"up"`
	// Down is the rollback SQL; nil writes no down file (the migration cannot be rolled back).
	Down *string `json:"down"`
	// Apply runs the new migration at once (alone, whatever else is pending).
	Apply bool `json:"apply"`
	// MarkApplied records it as applied without running it: its SQL has run already.
	MarkApplied bool `json:"mark_applied"`
}

// Create writes a new migration's files and, as asked, applies it or records it as applied.
// When the database refuses it, the files are removed again: nothing of it stays.
func (s *Service) Create(ctx context.Context, by audit.Entry, n NewMigration) (Status, error) {
	name, err := NormalizeName(n.Name)
	if err != nil {
		return Status{}, err
	}
	if n.Apply && n.MarkApplied {
		return Status{}, fmt.Errorf("%w: apply and mark_applied exclude each other: apply runs the SQL, mark_applied records SQL that already ran", ErrInvalid)
	}
	if len(Split(n.Up)) == 0 {
		return Status{}, fmt.Errorf("%w: the up SQL holds no statement", ErrInvalid)
	}
	if _, err := statements(n.Up, "the up SQL"); err != nil {
		return Status{}, err
	}
	if n.Down != nil {
		if _, err := statements(*n.Down, "the down SQL"); err != nil {
			return Status{}, err
		}
	}
	var out Status
	err = s.locked(ctx, func(conn *pgx.Conn) error {
		files, err := s.files()
		if err != nil {
			return err
		}
		applied, err := history(ctx, conn)
		if err != nil {
			return err
		}
		f, err := writeFiles(s.dir, nextVersion(s.now(), versions(files, applied)), name, n.Up, n.Down)
		if err != nil {
			return err
		}
		if err := s.record(ctx, conn, by, f, n); err != nil {
			removeFiles(f)
			return err
		}
		now, err := history(ctx, conn)
		if err != nil {
			return err
		}
		out = statusOf(f, now)
		return nil
	})
	return out, err
}

// record applies, marks or merely audits a migration just written.
func (s *Service) record(ctx context.Context, conn *pgx.Conn, by audit.Entry, f File, n NewMigration) error {
	p, err := planApply(f)
	if err != nil {
		return err
	}
	switch {
	case n.Apply:
		_, err := s.runSteps(ctx, conn, by, []plan{p})
		return err
	case n.MarkApplied:
		start := time.Now()
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return s.runInTx(ctx, tx, by, p, start, true) })
	}
	e := entryFor(by, p, 0)
	delete(e.Details, "duration_ms")
	e.Action = ActionCreate
	return audit.Record(ctx, conn, e)
}

// statusOf is the status of the file f, just written, with the history now.
func statusOf(f File, now []Applied) Status {
	for _, st := range combine([]File{f}, now) {
		if st.Version == f.Version {
			return st
		}
	}
	panic("usermigrations: combine lost a file") // combine lists every file it is given
}

// pgError is the PostgreSQL error inside err, or nil.
func pgError(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return nil
}
