package db_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

func pipelinedBodies(t *testing.T, runner *db.RoleRunner, scope db.RequestScope) []string {
	t.Helper()
	var out []string
	err := runner.RunInRole(t.Context(), scope, db.PipelineOptions{ReadOnly: true},
		[]db.Statement{{SQL: `SELECT body FROM public.items ORDER BY body`}},
		func(_ int, rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	require.NoError(t, err)
	return out
}

func sqlState(t *testing.T, err error) string {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%v", err)
	return pgErr.Code
}

func TestRunInRoleAppliesRowLevelSecurity(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})

	require.Equal(t, []string{"a1", "a2"}, pipelinedBodies(t, runner, userScope(userA)))
	require.Equal(t, []string{"b1"}, pipelinedBodies(t, runner, userScope(userB)))
	require.Empty(t, pipelinedBodies(t, runner, db.RequestScope{Role: db.RoleAnon}))
	require.Equal(t, []string{"a1", "a2", "b1"}, pipelinedBodies(t, runner, db.RequestScope{Role: db.RoleServiceRole}))

	// Nothing outlives the implicit transaction: the next user of the connection is the
	// authenticator again, with no claims and read-write.
	var user, claims, readOnly string
	require.NoError(t, runner.Pool().QueryRow(t.Context(),
		`SELECT current_user, coalesce(current_setting('request.jwt.claims', true), ''), current_setting('transaction_read_only')`).
		Scan(&user, &claims, &readOnly))
	require.Equal(t, "authenticator", user)
	require.Empty(t, claims)
	require.Equal(t, "off", readOnly)
}

func TestRunInRoleRejectsUnknownRoles(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	err := runner.RunInRole(t.Context(), db.RequestScope{Role: "postgres"}, db.PipelineOptions{},
		[]db.Statement{{SQL: `SELECT 1`}}, func(int, pgx.Rows) error { return nil })
	require.ErrorIs(t, err, db.ErrRoleNotAllowed)
}

func TestRunInRoleReadOnlyRefusesWrites(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	insert := db.Statement{SQL: `INSERT INTO public.items (user_id, body) VALUES ($1, 'x')`, Args: []any{userA}}
	for _, opts := range []db.PipelineOptions{{ReadOnly: true}, {ReadOnly: true, Confirm: true}} {
		err := runner.RunInRole(t.Context(), userScope(userA), opts, []db.Statement{insert}, func(int, pgx.Rows) error { return nil })
		require.Equal(t, "25006", sqlState(t, err), "%+v", opts)
	}
	require.Equal(t, []string{"a1", "a2"}, pipelinedBodies(t, runner, userScope(userA)))
}

func TestRunInRoleCommitsAndRollsBack(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	insert := func(body string) []db.Statement {
		return []db.Statement{{SQL: `INSERT INTO public.items (user_id, body) VALUES ($1, $2) RETURNING body`, Args: []any{userA, body}}}
	}
	var returned string
	readBody := func(_ int, rows pgx.Rows) error {
		var err error
		returned, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
		return err
	}

	// Implicit transaction: committed at the Sync.
	require.NoError(t, runner.RunInRole(t.Context(), userScope(userA), db.PipelineOptions{}, insert("a3"), readBody))
	require.Equal(t, "a3", returned)

	// Confirm: read refuses the result, so the insert is undone.
	refused := errors.New("refused")
	err := runner.RunInRole(t.Context(), userScope(userA), db.PipelineOptions{Confirm: true}, insert("a4"),
		func(i int, rows pgx.Rows) error {
			require.NoError(t, readBody(i, rows))
			return refused
		})
	require.ErrorIs(t, err, refused)

	// Confirm with an accepting read commits.
	require.NoError(t, runner.RunInRole(t.Context(), userScope(userA), db.PipelineOptions{Confirm: true}, insert("a5"), readBody))

	// Rollback: the result is seen, nothing stays.
	require.NoError(t, runner.RunInRole(t.Context(), userScope(userA), db.PipelineOptions{Rollback: true}, insert("a6"), readBody))
	require.Equal(t, "a6", returned)

	// A policy violation fails the statement and leaves nothing behind.
	err = runner.RunInRole(t.Context(), userScope(userB), db.PipelineOptions{},
		[]db.Statement{{SQL: `INSERT INTO public.items (user_id, body) VALUES ($1, 'forged')`, Args: []any{userA}}},
		func(int, pgx.Rows) error { return nil })
	require.Equal(t, "42501", sqlState(t, err))

	require.Equal(t, []string{"a1", "a2", "a3", "a5"}, pipelinedBodies(t, runner, userScope(userA)))
}

func TestRunInRoleRunsStatementsInOrderAndStopsAtTheFirstError(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	var seen []int
	err := runner.RunInRole(t.Context(), db.RequestScope{Role: db.RoleAnon}, db.PipelineOptions{ReadOnly: true},
		[]db.Statement{
			{SQL: `SELECT $1::int`, Args: []any{1}},
			{SQL: `SELECT 1/0`},
			{SQL: `SELECT 3`},
		},
		func(i int, rows pgx.Rows) error {
			seen = append(seen, i)
			for rows.Next() {
			}
			return nil
		})
	require.Equal(t, "22012", sqlState(t, err))
	require.Equal(t, 0, seen[0])
	require.NotContains(t, seen, 2, "nothing runs after the failed statement")

	// The connection is clean afterwards.
	var n int
	require.NoError(t, runner.Pool().QueryRow(t.Context(), `SELECT 7`).Scan(&n))
	require.Equal(t, 7, n)
}

func TestRunInRoleAppliesTheStatementTimeout(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{Timeouts: db.StatementTimeouts{Anon: 50 * time.Millisecond}})
	err := runner.RunInRole(t.Context(), db.RequestScope{Role: db.RoleAnon}, db.PipelineOptions{ReadOnly: true},
		[]db.Statement{{SQL: `SELECT pg_sleep(5)`}},
		func(_ int, rows pgx.Rows) error {
			for rows.Next() {
			}
			return rows.Err()
		})
	require.Equal(t, "57014", sqlState(t, err))
}

func TestRunInRoleParsesAsTheCallersRole(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(t.Context(), `
		CREATE SCHEMA api; CREATE TABLE api.t (n int); INSERT INTO api.t VALUES (1), (2);
		GRANT USAGE ON SCHEMA api TO anon; GRANT SELECT ON api.t TO anon;
		CREATE SCHEMA closed; CREATE TABLE closed.t (n int); GRANT SELECT ON closed.t TO anon;`)
	require.NoError(t, err)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	count := func(table string) (int64, error) {
		var n int64
		err := runner.RunInRole(t.Context(), db.RequestScope{Role: db.RoleAnon}, db.PipelineOptions{ReadOnly: true},
			[]db.Statement{{SQL: `SELECT count(*) FROM ` + table + ` WHERE n >= $1`, Args: []any{"1"}}},
			func(_ int, rows pgx.Rows) error {
				var err error
				n, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
				return err
			})
		return n, err
	}
	// The authenticator itself has no USAGE on api: the statement is parsed after the switch.
	n, err := count("api.t")
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "the untyped argument is read as an integer")
	_, err = count("closed.t")
	require.Equal(t, "42501", sqlState(t, err))
}

func TestRunInRolePreparesTheSettingsOncePerConnection(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	// Asked from inside the batch, so it is the same connection that just ran the settings.
	preparedSettings := func(opts db.PipelineOptions) []string {
		var names []string
		err := runner.RunInRole(t.Context(), db.RequestScope{Role: db.RoleAnon}, opts,
			[]db.Statement{{SQL: `SELECT name FROM pg_prepared_statements WHERE statement LIKE '%request.jwt.claims%' ORDER BY name`}},
			func(_ int, rows pgx.Rows) error {
				var err error
				names, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
		require.NoError(t, err)
		return names
	}
	for range 3 {
		require.Contains(t, preparedSettings(db.PipelineOptions{}), "goforward_apply_settings")
		require.Contains(t, preparedSettings(db.PipelineOptions{ReadOnly: true}), "goforward_apply_settings_ro")
	}
}
