package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/migrations"
)

// templateLockKey serialises template creation across concurrently running test binaries that
// share one server. Taken in the postgres database, since advisory locks are per database.
const templateLockKey int64 = 0x6766_746d_706c_0000 // "gftmpl\0\0"

// templateName names the migrated template after the migration files, so a change to any of
// them builds a new template instead of reusing a stale one on a long-lived server.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(body))
		h.Write(body)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return "gftmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// ensureTemplate returns the name of a database holding the migrated internal schema,
// creating it if this server has none yet.
//
// It is built under a temporary name and renamed when complete, so a template that exists is
// always finished: the unlocked check below can trust it, and a binary that crashed half-way
// leaves only a *_building database, which the next builder drops. Connections to the finished
// template are disallowed, since CREATE DATABASE … TEMPLATE fails while anyone is connected.
func ensureTemplate(ctx context.Context, server string) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", db.RedactURL(server), err)
	}
	defer conn.Close(context.Background())

	if ok, err := databaseExists(ctx, conn, name); err != nil || ok {
		return name, err
	}
	// A session lock, released when conn closes even if we fail half-way.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock template creation: %w", err)
	}
	if ok, err := databaseExists(ctx, conn, name); err != nil || ok {
		return name, err
	}

	building := pgx.Identifier{name + "_building"}.Sanitize()
	for _, sql := range []string{
		"DROP DATABASE IF EXISTS " + building + " WITH (FORCE)",
		"CREATE DATABASE " + building,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return "", fmt.Errorf("build template: %s: %w", sql, err)
		}
	}
	if err := migrateDatabase(ctx, server, name+"_building"); err != nil {
		return "", err
	}
	for _, sql := range []string{
		"ALTER DATABASE " + building + " WITH ALLOW_CONNECTIONS false",
		"ALTER DATABASE " + building + " RENAME TO " + pgx.Identifier{name}.Sanitize(),
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return "", fmt.Errorf("build template: %s: %w", sql, err)
		}
	}
	return name, nil
}

// migrateDatabase applies the internal migrations to one database and disconnects.
func migrateDatabase(ctx context.Context, server, name string) error {
	dbURL, err := withDatabase(server, name)
	if err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return fmt.Errorf("parse %s: %w", db.RedactURL(dbURL), err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect %s: %w", db.RedactURL(dbURL), err)
	}
	defer pool.Close()
	if _, err := db.Migrate(ctx, pool, migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}

func databaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look for template %s: %w", name, err)
	}
	return ok, nil
}
