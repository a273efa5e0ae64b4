package db_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrateCreatesTheInternalSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	pool := database.Pool

	require.ErrorIs(t, db.SchemaCurrent(ctx, pool, migrations.FS), db.ErrSchemaNotCurrent)

	res, err := db.Migrate(ctx, pool, migrations.FS, nil)
	require.NoError(t, err)
	all, err := db.LoadMigrations(migrations.FS)
	require.NoError(t, err)
	require.Len(t, res.Applied, len(all))
	require.Equal(t, all[len(all)-1].Version, res.Current)
	require.NoError(t, db.SchemaCurrent(ctx, pool, migrations.FS))

	var bypass bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role'`).Scan(&bypass))
	require.True(t, bypass, "service_role bypasses RLS as on Supabase")
	for _, role := range []string{"anon", "authenticated"} {
		require.NoError(t, pool.QueryRow(ctx, `SELECT rolbypassrls FROM pg_roles WHERE rolname = $1`, role).Scan(&bypass))
		require.False(t, bypass, role)
	}
	var canLogin bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT rolcanlogin FROM pg_roles WHERE rolname = 'authenticator'`).Scan(&canLogin))
	require.True(t, canLogin)
	for _, role := range []string{"anon", "authenticated", "service_role"} {
		var member bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT pg_has_role('authenticator', $1, 'MEMBER')`, role).Scan(&member))
		require.True(t, member, "authenticator can switch into %s", role)
	}
	var schemas int
	require.NoError(t, pool.QueryRow(ctx,
		`SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth','storage','goforward')`).Scan(&schemas))
	require.Equal(t, 3, schemas)
	var publication bool
	require.NoError(t, pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime')`).Scan(&publication))
	require.True(t, publication)

	// New tables in public are usable by the API roles, so RLS (not grants) decides.
	_, err = pool.Exec(ctx, `CREATE TABLE public.notes (id serial PRIMARY KEY, body text)`)
	require.NoError(t, err)
	for _, role := range []string{"anon", "authenticated", "service_role"} {
		var ok bool
		require.NoError(t, pool.QueryRow(ctx,
			`SELECT has_table_privilege($1, 'public.notes', 'SELECT, INSERT, UPDATE, DELETE')
			    AND has_sequence_privilege($1, 'public.notes_id_seq', 'USAGE')`, role).Scan(&ok))
		require.True(t, ok, "%s gets default privileges on new public tables", role)
	}
	var authenticatorCanRead bool
	require.NoError(t, pool.QueryRow(ctx,
		`SELECT has_table_privilege('authenticator', 'public.notes', 'SELECT')`).Scan(&authenticatorCanRead))
	require.False(t, authenticatorCanRead, "authenticator has no privileges of its own (NOINHERIT)")
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewDatabase(t) // already migrated from the template
	res, err := db.Migrate(ctx, database.Pool, migrations.FS, nil)
	require.NoError(t, err)
	require.Empty(t, res.Applied)
	require.NotEmpty(t, res.Current)
}

// TestConcurrentRunnersApplyOnce starts several runners at once, each on its own pool as
// separate nodes would, and checks that each migration ran exactly once.
func TestConcurrentRunnersApplyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	fsys := fstest.MapFS{
		"0001_counter.sql": {Data: []byte(`
			CREATE TABLE public.runs (n int);
			SELECT pg_sleep(0.2); -- widen the window in which a second runner could slip in
			INSERT INTO public.runs VALUES (1);`)},
		"0002_more.sql": {Data: []byte(`INSERT INTO public.runs VALUES (2);`)},
	}
	const runners = 4
	pools := make([]*pgxpool.Pool, runners)
	for i := range pools {
		pools[i] = database.NewPool(t)
	}
	var wg sync.WaitGroup
	errs := make([]error, runners)
	applied := make([][]string, runners)
	for i := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := db.Migrate(ctx, pools[i], fsys, nil)
			errs[i], applied[i] = err, res.Applied
		}()
	}
	wg.Wait()
	total := 0
	for i := range runners {
		require.NoError(t, errs[i])
		total += len(applied[i])
	}
	require.Equal(t, 2, total, "each migration is applied by exactly one runner")
	var rows, recorded int
	require.NoError(t, database.Pool.QueryRow(ctx, `SELECT count(*) FROM public.runs`).Scan(&rows))
	require.Equal(t, 2, rows)
	require.NoError(t, database.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.schema_migrations`).Scan(&recorded))
	require.Equal(t, 2, recorded)
}

// TestConcurrentRunnersRealSchema runs the real internal schema from several runners at once
// on an empty database: roles, publication and all must come out exactly once, with no error.
func TestConcurrentRunnersRealSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	const runners = 3
	var wg sync.WaitGroup
	errs := make([]error, runners)
	for i := range runners {
		pool := database.NewPool(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.Migrate(ctx, pool, migrations.FS, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, db.SchemaCurrent(ctx, database.Pool, migrations.FS))
}

func TestFailingMigrationLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	fsys := fstest.MapFS{
		"0001_ok.sql":     {Data: []byte(`CREATE TABLE public.first (n int);`)},
		"0002_broken.sql": {Data: []byte(`CREATE TABLE public.second (n int); SELECT 1/0;`)},
	}
	_, err := db.Migrate(ctx, database.Pool, fsys, nil)
	require.ErrorContains(t, err, "0002_broken")
	var exists bool
	require.NoError(t, database.Pool.QueryRow(ctx, `SELECT to_regclass('public.first') IS NOT NULL`).Scan(&exists))
	require.False(t, exists, "the whole run is one transaction")
	require.NoError(t, database.Pool.QueryRow(ctx, `SELECT to_regclass('goforward.schema_migrations') IS NOT NULL`).Scan(&exists))
	require.False(t, exists)
}

func TestMigrateRefusesAnEditedMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := pgtest.NewEmptyDatabase(t)
	_, err := db.Migrate(ctx, database.Pool, fstest.MapFS{"0001_a.sql": {Data: []byte(`SELECT 1;`)}}, nil)
	require.NoError(t, err)
	_, err = db.Migrate(ctx, database.Pool, fstest.MapFS{"0001_a.sql": {Data: []byte(`SELECT 2;`)}}, nil)
	require.ErrorContains(t, err, "was changed after it was applied")
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"init.sql": {Data: []byte(`SELECT 1`)}},
		"short number":   {"1_init.sql": {Data: []byte(`SELECT 1`)}},
		"shared version": {"0001_a.sql": {Data: []byte(`SELECT 1`)}, "0001_b.sql": {Data: []byte(`SELECT 1`)}},
	} {
		_, err := db.LoadMigrations(fsys)
		require.Error(t, err, name)
	}
	ms, err := db.LoadMigrations(fstest.MapFS{
		"0002_b.sql": {Data: []byte(`SELECT 2`)},
		"0001_a.sql": {Data: []byte(`SELECT 1`)},
		"README.md":  {Data: []byte(`not sql`)},
	})
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "0001", ms[0].Version)
	require.True(t, strings.HasPrefix(ms[1].SQL, "SELECT 2"))
}
