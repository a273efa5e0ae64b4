package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
)

// AuthenticatorPassword is the authenticator role's password while tests run. Roles belong
// to the cluster rather than to a database, so every test shares it and none may change it.
const AuthenticatorPassword = "goforward-test-authenticator"

// poolMaxConns keeps each test's pools small, so hundreds of parallel tests fit under the
// cluster's max_connections.
const poolMaxConns = 4

// authenticatorLockKey serialises ALTER ROLE authenticator across concurrently running test
// binaries: two sessions updating one role at once fail with "tuple concurrently updated".
// Taken in the postgres database, since advisory locks are per database.
const authenticatorLockKey int64 = 0x6766_7461_7574_6800 // "gftauth\0"

// Database is a database of one test's own, dropped when the test ends.
type Database struct {
	Name string        // gft_<random hex>
	URL  string        // superuser URL of this database (holds the password)
	Pool *pgxpool.Pool // superuser pool of at most 4 connections, closed when the test ends
}

// NewDatabase returns a fresh database that already holds the internal schema: a copy of a
// template migrated once per cluster, which is far faster than migrating each database.
func NewDatabase(t testing.TB) *Database {
	t.Helper()
	server := serverURL(t)
	template, err := ensureTemplate(t.Context(), server)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return createDatabase(t, server, template)
}

// NewEmptyDatabase returns a fresh database without the internal schema, for tests of the
// migrations themselves. Cluster-wide objects (the API roles) may exist already.
func NewEmptyDatabase(t testing.TB) *Database {
	t.Helper()
	return createDatabase(t, serverURL(t), "template1")
}

// NewPool opens another superuser pool on the database (at most 4 connections, closed when
// the test ends), for tests that need sessions independent of Pool's.
func (d *Database) NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newPool(t, d.URL)
}

// PoolAs connects to the database as another login role, with at most 4 connections, closed
// when the test ends.
func (d *Database) PoolAs(t testing.TB, role, password string) *pgxpool.Pool {
	t.Helper()
	roleURL, err := db.WithCredentials(d.URL, role, password)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return newPool(t, roleURL)
}

// RequestPool connects as the authenticator role, as the request path does in production,
// so row-level security applies. It sets the role's password to AuthenticatorPassword first.
func (d *Database) RequestPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	if err := setAuthenticatorPassword(t.Context(), serverURL(t)); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return d.PoolAs(t, "authenticator", AuthenticatorPassword)
}

func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvDatabaseURL)
	if u == "" {
		t.Fatalf("pgtest: no PostgreSQL server: call pgtest.Main from TestMain, or set %s", EnvDatabaseURL)
	}
	return u
}

func createDatabase(t testing.TB, server, template string) *Database {
	t.Helper()
	name := "gft_" + randomHex(t, 8)
	create := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if err := execOnServer(t.Context(), server, create); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		drop := fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize())
		if err := execOnServer(context.Background(), server, drop); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dbURL, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Registered after the drop, so it is closed before the drop runs.
	return &Database{Name: name, URL: dbURL, Pool: newPool(t, dbURL)}
}

func newPool(t testing.TB, connURL string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", db.RedactURL(connURL), err)
	}
	cfg.MaxConns = poolMaxConns
	// As db.Open configures production's pools, so that tests take the same path when a
	// context ends mid-statement (cancelled on the server, connection kept).
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	db.KeepConnectionOnCancel(&cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", db.RedactURL(connURL), err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func setAuthenticatorPassword(ctx context.Context, server string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect %s: %w", db.RedactURL(server), err)
	}
	defer conn.Close(context.Background())
	// ALTER ROLE takes no bind parameters; the password is a constant without quotes.
	alter := fmt.Sprintf("ALTER ROLE authenticator WITH LOGIN PASSWORD '%s'", AuthenticatorPassword)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", authenticatorLockKey); err != nil {
			return fmt.Errorf("lock authenticator role: %w", err)
		}
		if _, err := tx.Exec(ctx, alter); err != nil {
			return fmt.Errorf("set authenticator password: %w", err)
		}
		return nil
	})
}

// execOnServer runs one statement on the server's maintenance database. CREATE and DROP
// DATABASE cannot run in a transaction or in the database they affect.
func execOnServer(ctx context.Context, server, sql string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect %s: %w", db.RedactURL(server), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// withDatabase points a postgres:// URL at another database of the same server.
func withDatabase(server, name string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvDatabaseURL, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return hex.EncodeToString(b)
}
