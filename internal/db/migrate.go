package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLockKey is the advisory lock that serialises internal-schema runners of one
// database: several nodes starting at once queue here and all but the first find nothing to do.
// The value is arbitrary but fixed ("goforwrd" in ASCII).
const migrationLockKey int64 = 0x676f666f72777264

var migrationFileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migration is one internal schema file.
type Migration struct {
	Version  string // the four-digit prefix, e.g. "0001"
	Name     string // the rest of the file name without .sql
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

// MigrateResult tells what a Migrate call did.
type MigrateResult struct {
	Applied []string // versions applied by this call, in order
	Current string   // the newest version recorded after the call
}

// ErrSchemaNotCurrent is returned by SchemaCurrent while internal migrations are pending.
var ErrSchemaNotCurrent = errors.New("internal schema is not current")

// LoadMigrations reads and orders the migration files of fsys. Files that do not match
// NNNN_name.sql are an error, so a misnamed file cannot be silently skipped.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := migrationFileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must look like 0001_name.sql", e.Name())
		}
		if other, dup := seen[m[1]]; dup {
			return nil, fmt.Errorf("migration files %q and %q share version %s", other, e.Name(), m[1])
		}
		seen[m[1]] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: m[1], Name: m[2], SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const createMigrationsTable = `
CREATE SCHEMA IF NOT EXISTS goforward;
CREATE TABLE IF NOT EXISTS goforward.schema_migrations (
	version    text PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
);`

// Migrate applies the pending migrations of fsys to the database behind pool.
//
// Everything happens in one transaction holding a transaction-scoped advisory lock, so
// concurrent runners (several nodes starting together) apply each file exactly once and a
// failing file leaves the database as it was. A recorded migration whose checksum no longer
// matches its file is refused: internal migrations are forward-only and never edited.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, logger *slog.Logger) (MigrateResult, error) {
	if logger == nil {
		logger = slog.Default()
	}
	migrations, err := LoadMigrations(fsys)
	if err != nil {
		return MigrateResult{}, err
	}
	var result MigrateResult
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		applied, err := appliedChecksums(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range migrations {
			if sum, ok := applied[m.Version]; ok {
				if sum != m.Checksum {
					return fmt.Errorf("internal migration %s_%s was changed after it was applied (checksum %s, recorded %s)",
						m.Version, m.Name, m.Checksum[:12], sum[:min(12, len(sum))])
				}
				result.Current = m.Version
				continue
			}
			start := time.Now()
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply internal migration %s_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx,
				"INSERT INTO goforward.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
				m.Version, m.Name, m.Checksum); err != nil {
				return fmt.Errorf("record internal migration %s: %w", m.Version, err)
			}
			logger.InfoContext(ctx, "applied internal migration", "version", m.Version, "name", m.Name,
				"duration_ms", time.Since(start).Milliseconds())
			result.Applied = append(result.Applied, m.Version)
			result.Current = m.Version
		}
		return nil
	})
	if err != nil {
		return MigrateResult{}, err
	}
	return result, nil
}

func appliedChecksums(ctx context.Context, tx pgx.Tx) (map[string]string, error) {
	rows, err := tx.Query(ctx, "SELECT version, checksum FROM goforward.schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	applied := map[string]string{}
	var version, sum string
	_, err = pgx.ForEachRow(rows, []any{&version, &sum}, func() error {
		applied[version] = sum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return applied, nil
}

// SchemaCurrent reports whether every migration of fsys is recorded as applied. It is the
// readiness check: a node whose database lags behind its binary is not ready.
func SchemaCurrent(ctx context.Context, q Querier, fsys fs.FS) error {
	migrations, err := LoadMigrations(fsys)
	if err != nil {
		return err
	}
	if len(migrations) == 0 {
		return nil
	}
	newest := migrations[len(migrations)-1].Version
	var recorded bool
	err = q.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM goforward.schema_migrations WHERE version = $1)`, newest).Scan(&recorded)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSchemaNotCurrent, err)
	}
	if !recorded {
		return fmt.Errorf("%w: migration %s not applied", ErrSchemaNotCurrent, newest)
	}
	return nil
}

// Querier is the part of pgx's pool, connection and transaction types that read-only checks need.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
