package usermigrations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
)

// DiffOptions shape Diff.
type DiffOptions struct {
	// Name is the new migration's name.
	Name string
	// Schemas limits the comparison to these schemas; empty compares every schema but
	// PostgreSQL's, extensions' and Go Forward's internal ones.
	Schemas []string
	// DryRun returns the SQL and writes nothing.
	DryRun bool
}

// DiffResult is what Diff found and wrote.
type DiffResult struct {
	DryRun bool `json:"dry_run"`
	// Empty: the live schema is what the history makes; nothing was written.
	Empty   bool     `json:"empty"`
	Schemas []string `json:"schemas"`
	// Up turns a database with the history applied into the live schema; Down turns it
	// back. Both are whole file contents.
	Up         string `json:"up"`
	Down       string `json:"down"`
	Statements int    `json:"statements"`
	// Notes are differences no statement can make (an enum label removed); the files carry
	// them as comments.
	Notes []string `json:"notes"`
	// Migration is the migration written and recorded as applied; nil on a dry run or when
	// there was no difference.
	Migration *Status `json:"migration"`
}

// Diff writes a new migration from the difference between the migration history and the live
// schema: it creates a scratch database on the same server, applies the internal schema and
// every applied migration's recorded SQL to it, compares the managed schemas of both (tables,
// columns, constraints, indexes, policies, triggers, functions, sequences, enum types,
// extensions, comments) and writes the DDL that makes the one into the other, and its
// reverse as the down file. The live database already has these changes, so the migration is
// recorded as applied (marked), and the files capture what was done through the dashboard,
// /pg or psql. The owner needs the CREATEDB privilege for the scratch database.
func (s *Service) Diff(ctx context.Context, by audit.Entry, opt DiffOptions) (DiffResult, error) {
	name, err := NormalizeName(opt.Name)
	if err != nil {
		return DiffResult{}, err
	}
	if s.internal == nil {
		return DiffResult{}, errors.New("migrations: diff needs the internal schema (Config.Internal)")
	}
	res := DiffResult{DryRun: opt.DryRun}
	err = s.locked(ctx, func(conn *pgx.Conn) error {
		applied, err := history(ctx, conn)
		if err != nil {
			return err
		}
		up, down, schemas, err := s.compare(ctx, conn, applied, opt.Schemas)
		if err != nil {
			return err
		}
		res.Schemas, res.Statements, res.Notes = schemas, len(up.stmts), up.notes
		if len(up.stmts) == 0 {
			res.Empty = true
			return nil
		}
		files, err := s.files()
		if err != nil {
			return err
		}
		version := nextVersion(s.now(), versions(files, applied))
		res.Up = fileText(version, name, "Applies", schemas, s.now(), up)
		res.Down = fileText(version, name, "Rolls back", schemas, s.now(), down)
		if opt.DryRun {
			return nil
		}
		f, err := writeFiles(s.dir, version, name, res.Up, &res.Down)
		if err != nil {
			return err
		}
		p, err := planApply(f)
		if err == nil {
			diffBy := by
			diffBy.Details = map[string]any{"created_by": "diff", "schemas": schemas}
			for k, v := range by.Details {
				diffBy.Details[k] = v
			}
			start := time.Now()
			err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return s.runInTx(ctx, tx, diffBy, p, start, true) })
		}
		if err != nil {
			removeFiles(f)
			return err
		}
		now, err := history(ctx, conn)
		if err != nil {
			return err
		}
		st := statusOf(f, now)
		res.Migration = &st
		return nil
	})
	return res, err
}

// fileText is a generated migration file: a header saying what it is, then the statements.
func fileText(version, name, verb string, schemas []string, now time.Time, d ddl) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s_%s: %s the difference between the migration history and the live schema\n", version, name, strings.ToLower(verb[:1])+verb[1:])
	fmt.Fprintf(&b, "-- (schemas %s), written by `goforward migrate diff` at %s.\n", strings.Join(schemas, ", "), now.UTC().Format(time.RFC3339))
	b.WriteString("-- Review it: a renamed table or column shows as a drop and an add.\n")
	for _, n := range d.notes {
		b.WriteString("--\n-- NOTE: " + n + "\n")
	}
	for _, st := range d.stmts {
		b.WriteString("\n" + st + "\n")
	}
	return b.String()
}

// compare builds the scratch database, takes both snapshots and returns the DDL from the
// history to the live schema (up) and back (down), with the schemas compared.
func (s *Service) compare(ctx context.Context, live *pgx.Conn, applied []Applied, only []string) (up, down ddl, schemas []string, err error) {
	scratch, drop, err := s.scratch(ctx, live)
	if err != nil {
		return ddl{}, ddl{}, nil, err
	}
	defer drop()
	conn, err := scratch.Acquire(ctx)
	if err != nil {
		return ddl{}, ddl{}, nil, fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer conn.Release()
	for _, a := range applied {
		if err := replay(ctx, conn.Conn(), a); err != nil {
			return ddl{}, ddl{}, nil, err
		}
	}
	liveSchemas, err := managedSchemas(ctx, live, only)
	if err != nil {
		return ddl{}, ddl{}, nil, err
	}
	scratchSchemas, err := managedSchemas(ctx, conn, only)
	if err != nil {
		return ddl{}, ddl{}, nil, err
	}
	names := map[string]bool{}
	for n := range liveSchemas {
		names[n] = true
	}
	for n := range scratchSchemas {
		names[n] = true
	}
	schemas = sorted(names)
	if len(only) > 0 {
		for _, n := range only {
			if !names[n] {
				return ddl{}, ddl{}, nil, fmt.Errorf("%w: no schema %q in the live database or the migration history", ErrNotFound, n)
			}
		}
	}
	liveSnap, err := inspect(ctx, live, liveSchemas, schemas, len(only) > 0)
	if err != nil {
		return ddl{}, ddl{}, nil, fmt.Errorf("read the live schema: %w", err)
	}
	scratchSnap, err := inspect(ctx, conn.Conn(), scratchSchemas, schemas, len(only) > 0)
	if err != nil {
		return ddl{}, ddl{}, nil, fmt.Errorf("read the schema of the migration history: %w", err)
	}
	up.stmts, up.notes = changes(scratchSnap, liveSnap)
	down.stmts, down.notes = changes(liveSnap, scratchSnap)
	return up, down, schemas, nil
}

// replay applies one migration of the history to the scratch database.
func replay(ctx context.Context, conn *pgx.Conn, a Applied) error {
	source := "the up SQL recorded for " + a.ID()
	stmts, err := statements(a.UpSQL, source)
	if err != nil {
		return err
	}
	p := plan{Step: Step{Version: a.Version, Name: a.Name, Direction: Up, Source: source}, stmts: stmts}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return execStatements(ctx, tx, p) })
	if err != nil {
		return fmt.Errorf("replay the migration history into a scratch database: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// scratch creates an empty database beside the live one, with Go Forward's internal schema,
// and returns a pool on it and the function that drops it again. It is named after the live
// database (<name>_diff_<random>), so one left behind by a killed process says whose it was.
func (s *Service) scratch(ctx context.Context, live *pgx.Conn) (*pgxpool.Pool, func(), error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := truncate(live.Config().Database, 40) + "_diff_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := live.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template1"); err != nil {
		return nil, nil, fmt.Errorf("create a scratch database to replay the migration history into (the database owner needs CREATEDB): %w", err)
	}
	var pool *pgxpool.Pool
	drop := func() {
		if pool != nil {
			pool.Close()
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		stmt := "DROP DATABASE IF EXISTS " + ident
		var version int
		if err := live.QueryRow(dctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err == nil && version >= 130000 {
			stmt += " WITH (FORCE)"
		}
		if _, err := live.Exec(dctx, stmt); err != nil {
			s.logger.Warn("migrations: drop the scratch database", "database", name, "error", err)
		}
	}
	cfg := s.pool.Config()
	cfg.ConnConfig.Database = name
	cfg.MaxConns = 2
	var err error
	if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		drop()
		return nil, nil, fmt.Errorf("connect to the scratch database: %w", err)
	}
	if _, err := db.Migrate(ctx, pool, s.internal, slog.New(slog.DiscardHandler)); err != nil {
		drop()
		return nil, nil, fmt.Errorf("apply the internal schema to the scratch database: %w", err)
	}
	return pool, drop, nil
}
