package tablesecurity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
)

// ErrBusy is matched when the table stayed locked by other work for LockTimeout.
var ErrBusy = errors.New("table busy")

// LockTimeout bounds how long a change waits for the table's lock: compiling takes an
// exclusive lock, and a change queued behind a long transaction would hold up every request
// to the table behind it.
const LockTimeout = 5 * time.Second

// Service reads and changes table security configs. Changes run as the owner's connection
// (policies, grants and views are DDL) in one transaction that also records the change in
// the audit log.
type Service struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	now    func() time.Time
}

// NewService returns a Service over pool, which must connect as the tables' owner.
func NewService(pool *pgxpool.Pool, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{pool: pool, logger: logger, now: time.Now}
}

// Result is the answer to a change: the config as stored (nil after DELETE), the SQL that
// ran (or would run, with DryRun) and warnings worth showing the admin.
type Result struct {
	Config   *Config  `json:"config"`
	DryRun   bool     `json:"dry_run"`
	SQL      []string `json:"sql"`
	Warnings []string `json:"warnings"`
}

// Change says who changes a config and how.
type Change struct {
	// DryRun compiles and returns the SQL without running it.
	DryRun bool
	// Audit is the entry written with the change: who and from where. Action, resource and
	// details are filled in.
	Audit audit.Entry
}

// Get returns the config of schema.name: the stored one (IsActive true), or an empty one
// (IsActive false) for a table without a config. ErrNoTable when there is no such table.
func (s *Service) Get(ctx context.Context, schema, name string) (*Config, error) {
	var out *Config
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := loadTable(ctx, tx, schema, name); err != nil {
			return err
		}
		st, err := loadStored(ctx, tx, schema, name, false)
		if err != nil {
			return err
		}
		if st == nil {
			out = &Config{SchemaName: schema, TableName: name, FieldPermissions: map[string]FieldPermission{}}
			return nil
		}
		out = st.config
		return nil
	})
	return out, err
}

// Put replaces the config of schema.name with the JSON body, compiles it and, unless
// change.DryRun, applies it in one transaction: what the previous config compiled is dropped,
// the new objects are created, the config and SQL are stored and audited, and every node is
// told to reload its schema cache and registry when the transaction commits.
func (s *Service) Put(ctx context.Context, schema, name string, body []byte, change Change) (*Result, error) {
	cfg, warnings, err := ParseConfig(body)
	if err != nil {
		return nil, err
	}
	if (cfg.SchemaName != "" && cfg.SchemaName != schema) || (cfg.TableName != "" && cfg.TableName != name) {
		return nil, invalid("the body names table %s.%s, the path %s.%s", cfg.SchemaName, cfg.TableName, schema, name)
	}
	cfg.SchemaName, cfg.TableName = schema, name
	res := &Result{DryRun: change.DryRun, Warnings: warnings}
	err = s.inChange(ctx, func(tx pgx.Tx) error {
		t, err := loadTable(ctx, tx, schema, name)
		if err != nil {
			return err
		}
		prev, err := loadStored(ctx, tx, schema, name, true)
		if err != nil {
			return err
		}
		m, err := resolve(cfg, t)
		if err != nil {
			return err
		}
		// Unqualified names in custom filters mean the table's own schema first.
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", quoteIdent(schema)+", public"); err != nil {
			return err
		}
		if err := checkFilters(ctx, tx, m, t); err != nil {
			return err
		}
		var prevCompiled *Compiled
		if prev != nil {
			prevCompiled = &prev.compiled
		}
		p, err := compilePut(t, m, prevCompiled)
		if err != nil {
			return err
		}
		res.SQL, res.Warnings = p.statements, append(res.Warnings, p.warnings...)
		if change.DryRun {
			res.Config = cfg
			return errDryRun
		}
		if err := run(ctx, tx, p.statements); err != nil {
			return err
		}
		if err := checkPolicyDependencies(ctx, tx, t, m); err != nil {
			return err
		}
		by := change.Audit.Actor.ID
		if err := saveStored(ctx, tx, cfg, p.compiled, p.statements, by, s.now()); err != nil {
			return err
		}
		e := change.Audit
		e.Action, e.ResourceType, e.ResourceID = "table_security.update", "table", schema+"."+name
		e.Severity = audit.Warning
		e.Details = map[string]any{"config": cfg, "sql": p.statements}
		if prev != nil {
			e.Details["previous_config"] = prev.config
		}
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
		stored, err := loadStored(ctx, tx, schema, name, false)
		res.Config = stored.config
		return err
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Delete removes the config of schema.name and exactly what it compiled, and puts back the
// API roles' privileges and row level security as they were before its first PUT.
func (s *Service) Delete(ctx context.Context, schema, name string, change Change) (*Result, error) {
	res := &Result{DryRun: change.DryRun}
	err := s.inChange(ctx, func(tx pgx.Tx) error {
		prev, err := loadStored(ctx, tx, schema, name, true)
		if err != nil {
			return err
		}
		if prev == nil {
			return noTable("table %s.%s has no security config", schema, name)
		}
		t, err := loadTable(ctx, tx, schema, name)
		switch {
		case errors.Is(err, ErrNoTable):
			// The table is gone, and what was compiled on it with it: only the row is left.
			t = nil
		case err != nil:
			return err
		}
		if t != nil {
			res.SQL = compileDelete(t, &prev.compiled).statements
		}
		if change.DryRun {
			return errDryRun
		}
		if err := run(ctx, tx, res.SQL); err != nil {
			return err
		}
		if err := deleteStored(ctx, tx, schema, name); err != nil {
			return err
		}
		e := change.Audit
		e.Action, e.ResourceType, e.ResourceID = "table_security.delete", "table", schema+"."+name
		e.Severity = audit.Warning
		e.Details = map[string]any{"previous_config": prev.config, "sql": res.SQL}
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
		if t == nil {
			_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, schema+"."+name)
			return err
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if res.SQL == nil {
		res.SQL = []string{}
	}
	return res, nil
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// changeLock serialises config changes: tables of one schema share the overlay schemas, and a
// change counts what is left in them.
const changeLock = "goforward.table_security"

// inChange runs fn in a transaction that holds the change lock, resolves unqualified names in
// the table's schema first and waits at most LockTimeout for any lock.
func (s *Service) inChange(ctx context.Context, fn func(pgx.Tx) error) error {
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1)), set_config('lock_timeout', $2, true)",
			changeLock, fmt.Sprintf("%d", LockTimeout.Milliseconds())); err != nil {
			return err
		}
		return fn(tx)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
		return fmt.Errorf("%w: %s", ErrBusy, pgErr.Message)
	}
	return err
}

// run executes the statements in order; the first failure names the statement.
func run(ctx context.Context, tx pgx.Tx, statements []string) error {
	for _, sql := range statements {
		if _, err := tx.Exec(ctx, sql); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && slices.Contains([]string{"42P17", "42804", "42883", "42703", "42P01", "42601", "0A000", "42501"}, pgErr.Code) {
				return invalid("%s (in: %s)", pgErr.Message, sql)
			}
			return fmt.Errorf("tablesecurity: %s: %w", sql, err)
		}
	}
	return nil
}
