package db_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

// oneConnectionRunner runs everything on a single connection, so that what one request
// prepared is visible to the next.
func oneConnectionRunner(t *testing.T, database *pgtest.Database, cfg db.RunnerConfig) *db.RoleRunner {
	t.Helper()
	poolCfg, err := pgxpool.ParseConfig(database.RequestPool(t).Config().ConnString())
	require.NoError(t, err)
	poolCfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), poolCfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return db.NewRoleRunner(pool, cfg)
}

// preparedRequests lists the request statements prepared on the runner's connection, name →
// statement, asked unprepared so the question does not add itself.
func preparedRequests(t *testing.T, runner *db.RoleRunner) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := runner.RunInRole(t.Context(), db.RequestScope{Role: db.RoleServiceRole}, db.PipelineOptions{},
		[]db.Statement{{SQL: `SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'goforward\_q%'`, OneOff: true}},
		func(_ int, rows pgx.Rows) error {
			var name, statement string
			_, err := pgx.ForEachRow(rows, []any{&name, &statement}, func() error {
				out[name] = statement
				return nil
			})
			return err
		})
	require.NoError(t, err)
	return out
}

// scalar runs one statement as role and returns its single value.
func scalar(t *testing.T, runner *db.RoleRunner, role string, opts db.PipelineOptions, sql string, args ...any) (string, error) {
	t.Helper()
	var out string
	err := runner.RunInRole(t.Context(), db.RequestScope{Role: role}, opts, []db.Statement{{SQL: sql, Args: args}},
		func(_ int, rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
			return err
		})
	return out, err
}

func TestRunInRolePreparesEachStatementOncePerRoleAndConnection(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := oneConnectionRunner(t, database, db.RunnerConfig{})
	const sql = `SELECT current_user || ':' || $1`
	for i := range 3 {
		for _, role := range []string{db.RoleAnon, db.RoleAuthenticated} {
			got, err := scalar(t, runner, role, db.PipelineOptions{ReadOnly: i%2 == 0}, sql, fmt.Sprint(i))
			require.NoError(t, err)
			// A statement prepared as one role is never executed as another.
			require.Equal(t, fmt.Sprintf("%s:%d", role, i), got)
		}
	}
	prepared := preparedRequests(t, runner)
	require.Len(t, prepared, 2, "one statement per role, prepared on first use and reused after: %v", prepared)
	for _, statement := range prepared {
		require.True(t, strings.HasSuffix(statement, " AS "+sql), statement)
	}
}

func TestRunInRoleCachesOnlyWhatWasPrepared(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := oneConnectionRunner(t, database, db.RunnerConfig{})

	// PREPARE fails (the table does not exist yet): nothing may be remembered, or the next
	// request would execute a statement that was never prepared.
	const sql = `SELECT count(*)::text FROM public.later`
	_, err := scalar(t, runner, db.RoleServiceRole, db.PipelineOptions{}, sql)
	require.Equal(t, "42P01", sqlState(t, err))
	require.Empty(t, preparedRequests(t, runner))
	_, err = database.Pool.Exec(t.Context(), `CREATE TABLE public.later (n int); GRANT SELECT ON public.later TO service_role`)
	require.NoError(t, err)
	got, err := scalar(t, runner, db.RoleServiceRole, db.PipelineOptions{}, sql)
	require.NoError(t, err)
	require.Equal(t, "0", got)

	// The execution fails after PREPARE succeeded: the statement stays prepared and usable,
	// in an explicit transaction as in an implicit one.
	const divide = `SELECT (10 / $1::int)::text`
	_, err = scalar(t, runner, db.RoleAnon, db.PipelineOptions{}, divide, "0")
	require.Equal(t, "22012", sqlState(t, err))
	got, err = scalar(t, runner, db.RoleAnon, db.PipelineOptions{Confirm: true}, divide, "5")
	require.NoError(t, err)
	require.Equal(t, "2", got)
	require.Len(t, preparedRequests(t, runner), 2)
}

func TestRunInRoleBoundsAndForgetsPreparedStatements(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := oneConnectionRunner(t, database, db.RunnerConfig{})
	for i := range db.StatementCacheSize + 10 {
		opts := db.PipelineOptions{ReadOnly: i%3 == 0, Confirm: i%2 == 0}
		got, err := scalar(t, runner, db.RoleAnon, opts, fmt.Sprintf(`SELECT '%d:' || $1`, i), "x")
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%d:x", i), got)
	}
	prepared := preparedRequests(t, runner)
	require.Len(t, prepared, db.StatementCacheSize, "the least recently used are deallocated")
	for _, statement := range prepared {
		require.NotContains(t, statement, `SELECT '0:'`, "the oldest went first")
	}

	runner.ForgetPreparedStatements()
	got, err := scalar(t, runner, db.RoleAnon, db.PipelineOptions{ReadOnly: true, Confirm: true}, `SELECT 'new:' || $1`, "y")
	require.NoError(t, err)
	require.Equal(t, "new:y", got)
	prepared = preparedRequests(t, runner)
	require.Len(t, prepared, 1, "everything prepared before the reset is gone: %v", prepared)
	for _, statement := range prepared {
		require.Contains(t, statement, `SELECT 'new:' || $1`)
	}
}

func TestRunInRoleUnpreparedPreparesNothing(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := oneConnectionRunner(t, database, db.RunnerConfig{Unprepared: true})
	for _, opts := range []db.PipelineOptions{{}, {ReadOnly: true}, {Confirm: true}} {
		got, err := scalar(t, runner, db.RoleAnon, opts, `SELECT current_user || ':' || $1`, "x")
		require.NoError(t, err)
		require.Equal(t, "anon:x", got)
	}
	// What a pooler in transaction mode needs: nothing left on the server connection.
	got, err := scalar(t, runner, db.RoleAnon, db.PipelineOptions{}, `SELECT count(*)::text FROM pg_prepared_statements`)
	require.NoError(t, err)
	require.Equal(t, "0", got)
}

func TestRunInRoleRecoversWhenItsStatementsAreDeallocated(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(t.Context(), `
		CREATE FUNCTION public.forget_all() RETURNS text LANGUAGE plpgsql AS $$BEGIN EXECUTE 'DEALLOCATE ALL'; RETURN 'gone'; END$$;
		GRANT EXECUTE ON FUNCTION public.forget_all() TO service_role;`)
	require.NoError(t, err)
	runner := oneConnectionRunner(t, database, db.RunnerConfig{})
	const sql = `SELECT 'still ' || $1`
	got, err := scalar(t, runner, db.RoleAnon, db.PipelineOptions{}, sql, "here")
	require.NoError(t, err)
	require.Equal(t, "still here", got)

	// SQL run in a request drops every prepared statement of the connection behind
	// RunInRole's back.
	got, err = scalar(t, runner, db.RoleServiceRole, db.PipelineOptions{}, `SELECT public.forget_all()`)
	require.NoError(t, err)
	require.Equal(t, "gone", got)

	// The request that finds out fails; the connection is replaced, so the next one works.
	_, err = scalar(t, runner, db.RoleAnon, db.PipelineOptions{}, sql, "here")
	require.Equal(t, "26000", sqlState(t, err))
	for range 3 {
		got, err = scalar(t, runner, db.RoleAnon, db.PipelineOptions{ReadOnly: true}, sql, "back")
		require.NoError(t, err)
		require.Equal(t, "still back", got)
	}
}
