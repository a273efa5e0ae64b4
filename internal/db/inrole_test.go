package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
)

const (
	userA = "6f1c1c8e-0d6b-4f38-9a55-0a1a1a1a1a1a"
	userB = "0b7e8f7a-5c1e-4e5e-8f0e-0b0b0b0b0b0b"
)

func userScope(sub string) db.RequestScope {
	claims, _ := json.Marshal(map[string]any{"sub": sub, "role": "authenticated", "email": sub[:4] + "@example.com"})
	return db.RequestScope{Role: db.RoleAuthenticated, Claims: claims, Method: "GET", Path: "/rest/v1/items"}
}

// ownedItems creates a table guarded by the canonical owner policy and fills it with rows of
// two users.
func ownedItems(t *testing.T, database *pgtest.Database) {
	t.Helper()
	_, err := database.Pool.Exec(context.Background(), `
		CREATE TABLE public.items (id serial PRIMARY KEY, user_id uuid NOT NULL, body text);
		ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
		CREATE POLICY own_items ON public.items FOR ALL TO authenticated
			USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
		INSERT INTO public.items (user_id, body) VALUES
			('`+userA+`', 'a1'), ('`+userA+`', 'a2'), ('`+userB+`', 'b1');`)
	require.NoError(t, err)
}

func bodies(ctx context.Context, t *testing.T, runner *db.RoleRunner, scope db.RequestScope) []string {
	t.Helper()
	var out []string
	err := runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT body FROM public.items ORDER BY body`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	require.NoError(t, err)
	return out
}

func TestInRoleAppliesRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})

	require.Equal(t, []string{"a1", "a2"}, bodies(ctx, t, runner, userScope(userA)))
	require.Equal(t, []string{"b1"}, bodies(ctx, t, runner, userScope(userB)))
	require.Empty(t, bodies(ctx, t, runner, db.RequestScope{Role: db.RoleAnon}))
	require.Equal(t, []string{"a1", "a2", "b1"}, bodies(ctx, t, runner, db.RequestScope{Role: db.RoleServiceRole}))

	// Writes are guarded too: B cannot insert a row owned by A.
	err := runner.InRole(ctx, userScope(userB), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.items (user_id, body) VALUES ($1, 'forged')`, userA)
		return err
	})
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%v", err)
	require.Equal(t, "42501", pgErr.Code, "row-level security violation")
}

func TestInRolePublishesTheRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})

	scope := userScope(userA)
	scope.Method = "PATCH"
	scope.Path = "/rest/v1/items"
	scope.Headers = http.Header{
		"Authorization": {"Bearer secret-token"},
		"Apikey":        {"secret-key"},
		"Cookie":        {"session=secret"},
		"X-Client-Info": {"supabase-js/2.109.0"},
	}
	var uid, role, email, method, path, user string
	var headers map[string]string
	err := runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT auth.uid()::text, auth.role(), auth.jwt()->>'email',
			current_setting('request.method'), current_setting('request.path'),
			current_setting('request.headers')::jsonb, current_user`).
			Scan(&uid, &role, &email, &method, &path, &headers, &user)
	})
	require.NoError(t, err)
	require.Equal(t, userA, uid)
	require.Equal(t, "authenticated", role)
	require.Equal(t, "6f1c@example.com", email)
	require.Equal(t, "PATCH", method)
	require.Equal(t, "/rest/v1/items", path)
	require.Equal(t, "authenticated", user)
	require.Equal(t, map[string]string{"x-client-info": "supabase-js/2.109.0"}, headers,
		"credentials never reach SQL")

	// Nothing leaks to the next user of the connection: outside InRole the session is the
	// authenticator again, with no claims.
	pool := runner.Pool()
	var after, claims string
	require.NoError(t, pool.QueryRow(ctx,
		`SELECT current_user, coalesce(current_setting('request.jwt.claims', true), '')`).Scan(&after, &claims))
	require.Equal(t, "authenticator", after)
	require.Empty(t, claims)
}

func TestInRoleRefusesOtherRoles(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.Pool, db.RunnerConfig{})
	called := false
	for _, role := range []string{"postgres", "authenticator", "", "anon; DROP TABLE x"} {
		err := runner.InRole(context.Background(), db.RequestScope{Role: role}, func(pgx.Tx) error {
			called = true
			return nil
		})
		require.ErrorIs(t, err, db.ErrRoleNotAllowed, role)
	}
	require.False(t, called)
}

// TestAuthenticatorIsPowerlessAfterResetRole: SQL that escapes the API role inside a request
// lands on the authenticator, which can read nothing.
func TestAuthenticatorIsPowerlessAfterResetRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	err := runner.InRole(ctx, db.RequestScope{Role: db.RoleServiceRole}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `RESET ROLE`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT * FROM public.items`)
		return err
	})
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%v", err)
	require.Equal(t, "42501", pgErr.Code)
}

func TestInRoleStatementTimeoutPerRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{Timeouts: db.StatementTimeouts{Anon: 50 * time.Millisecond}})

	err := runner.InRole(ctx, db.RequestScope{Role: db.RoleAnon}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT pg_sleep(5)`)
		return err
	})
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%v", err)
	require.Equal(t, "57014", pgErr.Code, "query_canceled by statement_timeout")

	var timeout string
	err = runner.InRole(ctx, db.RequestScope{Role: db.RoleServiceRole}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SHOW statement_timeout`).Scan(&timeout)
	})
	require.NoError(t, err)
	require.Equal(t, "0", timeout, "service_role has no limit by default")
}

func TestInRoleRollsBackOnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t)
	ownedItems(t, database)
	runner := db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{})
	boom := errors.New("boom")
	err := runner.InRole(ctx, userScope(userA), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM public.items`); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []string{"a1", "a2"}, bodies(ctx, t, runner, userScope(userA)))
}
