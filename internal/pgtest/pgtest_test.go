package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func databaseExists(t *testing.T, database *pgtest.Database, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, database.Pool.QueryRow(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok))
	return ok
}

func TestNewDatabaseHoldsTheInternalSchema(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	require.NoError(t, db.SchemaCurrent(t.Context(), database.Pool, migrations.FS))

	var current string
	require.NoError(t, database.Pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&current))
	require.Equal(t, database.Name, current)

	conn, err := pgx.Connect(t.Context(), database.URL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&current))
	require.Equal(t, database.Name, current, "URL names the test's database")
}

func TestDatabasesAreIsolatedAndDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	observer := pgtest.NewEmptyDatabase(t)
	var names []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			database := pgtest.NewDatabase(t)
			names = append(names, database.Name)
			var tables int
			require.NoError(t, database.Pool.QueryRow(t.Context(),
				"SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'").Scan(&tables))
			require.Zero(t, tables, "no other test's table is visible")
			_, err := database.Pool.Exec(t.Context(), "CREATE TABLE only_here (x int)")
			require.NoError(t, err)
			require.True(t, databaseExists(t, observer, database.Name))
		})
	}
	require.Len(t, names, 2)
	require.NotEqual(t, names[0], names[1])
	for _, name := range names {
		require.False(t, databaseExists(t, observer, name), "%s is dropped when its test ends", name)
	}
}

func TestNewEmptyDatabaseHasNoInternalSchema(t *testing.T) {
	t.Parallel()
	database := pgtest.NewEmptyDatabase(t)
	require.ErrorIs(t, db.SchemaCurrent(t.Context(), database.Pool, migrations.FS), db.ErrSchemaNotCurrent)
	var schemas int
	require.NoError(t, database.Pool.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'goforward'").Scan(&schemas))
	require.Zero(t, schemas)
}

func TestRequestPoolConnectsAsAuthenticator(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	pool := database.RequestPool(t)
	var user string
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT current_user::text").Scan(&user))
	require.Equal(t, "authenticator", user)

	tx, err := pool.Begin(t.Context())
	require.NoError(t, err)
	defer tx.Rollback(context.Background())
	_, err = tx.Exec(t.Context(), "SET LOCAL ROLE anon")
	require.NoError(t, err, "authenticator switches into the API roles")

	again := database.PoolAs(t, "authenticator", pgtest.AuthenticatorPassword)
	require.NoError(t, again.Ping(t.Context()))
	wrong := database.PoolAs(t, "authenticator", "not-the-password")
	require.Error(t, wrong.Ping(t.Context()))
}

func TestPoolsStaySmall(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	require.EqualValues(t, 4, database.Pool.Config().MaxConns)
	require.EqualValues(t, 4, database.NewPool(t).Config().MaxConns)
	require.EqualValues(t, 4, database.RequestPool(t).Config().MaxConns)
}

func TestTemplatesAreFinishedAndClosedToConnections(t *testing.T) {
	t.Parallel()
	first := pgtest.NewDatabase(t)
	pgtest.NewDatabase(t)
	rows, err := first.Pool.Query(t.Context(),
		"SELECT datname, datallowconn FROM pg_database WHERE datname LIKE 'gftmpl\\_%'")
	require.NoError(t, err)
	type template struct {
		Name      string
		AllowConn bool
	}
	templates, err := pgx.CollectRows(rows, pgx.RowToStructByPos[template])
	require.NoError(t, err)
	require.NotEmpty(t, templates)
	for _, tmpl := range templates {
		require.Regexp(t, `^gftmpl_[0-9a-f]{12}$`, tmpl.Name, "no template is left half-built")
		require.False(t, tmpl.AllowConn, "nobody can connect and block CREATE DATABASE ... TEMPLATE")
	}
}

// TestPoolsKeepTheirConnectionWhenAContextEnds: test pools are configured as production's
// (db.KeepConnectionOnCancel): a statement whose context ends is cancelled on the server
// (SQLSTATE 57014) and its connection stays open and usable, instead of being closed.
func TestPoolsKeepTheirConnectionWhenAContextEnds(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	holder, err := database.Pool.Acquire(t.Context())
	require.NoError(t, err)
	defer holder.Release()
	_, err = holder.Exec(t.Context(), `SELECT pg_advisory_lock(4242)`)
	require.NoError(t, err)

	for _, pool := range map[string]*pgxpool.Pool{"Pool": database.Pool, "NewPool": database.NewPool(t)} {
		conn, err := pool.Acquire(t.Context())
		require.NoError(t, err)
		// Released however the checks end: the pool's Close at cleanup waits for it.
		defer conn.Release()
		var pid uint32
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := conn.Exec(ctx, `SELECT pg_advisory_lock_shared(4242)`)
			done <- err
		}()
		require.Eventually(t, func() bool {
			var waiting bool
			require.NoError(t, database.Pool.QueryRow(t.Context(),
				`SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock')`, pid).Scan(&waiting))
			return waiting
		}, 30*time.Second, 10*time.Millisecond)
		cancel()
		err = <-done
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, "the statement was cancelled on the server")
		require.Equal(t, "57014", pgErr.Code)
		require.False(t, conn.Conn().IsClosed(), "the connection is kept")
		var again uint32
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&again))
		require.Equal(t, pid, again)
	}
}
