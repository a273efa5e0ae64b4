package sqlguard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/sqlguard"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const functionsSQL = `
create function public.imm() returns int immutable language sql as 'select 1';
create function public.stab() returns int stable language sql as 'select 1';
create function public.vol() returns int volatile language sql as 'select 1';
create function public.ov(int) returns int immutable language sql as 'select 1';
create function public.ov(text) returns int volatile language sql as 'select 1';
create schema other;
create function other.hidden() returns int volatile language sql as 'select 1';
create table public.t (id serial primary key, a int);
create function public.bump() returns int volatile language sql as 'insert into public.t (a) values (1) returning id';
`

func TestCatalogCountsVolatileCallsAsWrites(t *testing.T) {
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, functionsSQL)
	require.NoError(t, err)
	analyzer := &sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(database.Pool)}

	for sql, want := range map[string]sqlguard.Kind{
		"select public.imm(), stab()":                       sqlguard.KindRead,
		"select count(*), now(), lower('A'), max(a) from t": sqlguard.KindRead,
		"select vol()":                     sqlguard.KindWrite,
		"select * from t where a = bump()": sqlguard.KindWrite,
		"select random()":                  sqlguard.KindWrite, // VOLATILE, so a write, as the issue asks
		"select ov(1)":                     sqlguard.KindWrite, // one overload is volatile
		"select no_such_function()":        sqlguard.KindWrite,
		"select hidden()":                  sqlguard.KindWrite, // not on the search path: unknown
		"select other.hidden()":            sqlguard.KindWrite,
		"explain select vol()":             sqlguard.KindRead, // nothing runs
		"insert into t (a) values (imm())": sqlguard.KindWrite,
	} {
		statements, err := analyzer.Analyze(ctx, sql)
		require.NoError(t, err, sql)
		require.Len(t, statements, 1, sql)
		assert.Equal(t, want, statements[0].Kind, sql)
		if want == sqlguard.KindWrite && statements[0].Kind == sqlguard.KindWrite && sql != "insert into t (a) values (imm())" {
			assert.NotEmpty(t, statements[0].Warnings, sql)
		}
	}

	// Through a transaction too, with the search path the SQL will run with.
	tx, err := database.Pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(ctx, "set local search_path = other, public")
	require.NoError(t, err)
	vol, err := sqlguard.NewCatalog(tx).Volatility(ctx, "", "hidden")
	require.NoError(t, err)
	assert.Equal(t, sqlguard.Volatile, vol)
	vol, err = sqlguard.NewCatalog(tx).Volatility(ctx, "pg_catalog", "lower")
	require.NoError(t, err)
	assert.Equal(t, sqlguard.Immutable, vol)
}

func TestCatalogErrorsAreReturned(t *testing.T) {
	database := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), database.URL)
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	_, err = (&sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(conn)}).Analyze(t.Context(), "select vol()")
	require.Error(t, err)
	assert.False(t, sqlguard.IsParseError(err))
}

// TestReadsRunInReadOnlyTransactions holds the classification to the server: every statement
// of the table that Analyze calls a read, run inside START TRANSACTION READ ONLY, must not be
// refused for writing (SQLSTATE 25006). Other errors (a table the table's SQL names but this
// database lacks) say nothing either way. Statements classified otherwise are not run: some
// would act on the machine (COPY ... PROGRAM, pg_terminate_backend).
func TestReadsRunInReadOnlyTransactions(t *testing.T) {
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, functionsSQL+`
		create table public.u (id int, a int);
		create table public.users (id int, name text, user_id int);
		create table public.posts (id int);
		create table public.a (id int, x int);
		create table public.b (a_id int, x int);
		create table public.c (id int, x int);`)
	require.NoError(t, err)
	analyzer := &sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(database.Pool)}

	reads := 0
	run := func(sql string) {
		statements, err := analyzer.Analyze(ctx, sql)
		if err != nil {
			return
		}
		for _, s := range statements {
			if s.Kind != sqlguard.KindRead {
				continue
			}
			reads++
			err := readOnly(ctx, database.Pool, s.SQL)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				assert.NotEqual(t, "25006", pgErr.Code, "%q is classified read but writes: %s", s.SQL, pgErr.Message)
			}
		}
	}
	for _, tc := range classificationTable {
		run(tc.sql)
	}
	run("select vol(); select bump(); select * from t for update; with d as (delete from t returning *) select * from d")
	assert.Greater(t, reads, 30)

	// And the reverse, for the volatile function: refused in a read-only transaction.
	err = readOnly(ctx, database.Pool, "select bump()")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "25006", pgErr.Code)
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

func readOnly(ctx context.Context, db beginner, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "set transaction read only"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "set local statement_timeout = '2s'"); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	return err
}
