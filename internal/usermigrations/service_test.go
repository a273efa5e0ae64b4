package usermigrations

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestUpAppliesPendingInOrder: every pending file runs in version order; the history keeps
// what ran, its checksum, who and how long; each apply is audited in its own transaction.
func TestUpAppliesPendingInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("2_posts.up.sql", "create table posts (id int primary key, author int references authors);")
	e.write("2_posts.down.sql", "drop table posts;")
	e.write("1_authors.sql", "create table authors (id int primary key);")

	res, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)
	require.False(t, res.DryRun)
	require.Len(t, res.Steps, 2)
	require.Equal(t, "1_authors", res.Steps[0].ID())
	require.Equal(t, "2_posts", res.Steps[1].ID())
	require.Equal(t, []string{"authors", "posts"}, e.tables())

	applied, err := e.svc.History(e.ctx())
	require.NoError(t, err)
	require.Len(t, applied, 2)
	a := applied[1]
	require.Equal(t, "2", a.Version)
	require.Equal(t, "posts", a.Name)
	require.Equal(t, "create table posts (id int primary key, author int references authors);", a.UpSQL)
	require.Equal(t, "drop table posts;", *a.DownSQL)
	require.Equal(t, checksum(a.UpSQL), a.Checksum)
	require.Equal(t, "cli:dev@box", a.AppliedBy)
	require.WithinDuration(t, time.Now(), a.AppliedAt, time.Minute)
	require.Positive(t, a.Duration)
	require.False(t, a.Marked)
	require.Nil(t, applied[0].DownSQL, "a single-file migration has no down SQL")

	entries := e.audit("migration.")
	require.Len(t, entries, 2)
	require.Equal(t, ActionApply, entries[1].Action)
	require.Equal(t, "2", entries[1].ResourceID)
	require.Equal(t, "success", entries[1].Outcome)
	require.Equal(t, "posts", entries[1].Details["name"])
	require.Equal(t, "dev", entries[1].Details["os_user"])
	require.Equal(t, filepath.Join(e.dir, "2_posts.up.sql"), entries[1].Details["source"])

	// The history row and its audit entry were written by one transaction, with the change.
	var sameTx bool
	require.NoError(t, e.db.Pool.QueryRow(e.ctx(), `SELECT
  (SELECT xmin::text FROM goforward.migrations WHERE version = '2') =
  (SELECT xmin::text FROM goforward.audit_log WHERE action = 'migration.apply' AND resource_id = '2')`).Scan(&sameTx))
	require.True(t, sameTx)
	require.NoError(t, e.db.Pool.QueryRow(e.ctx(), `SELECT
  (SELECT xmin::text FROM goforward.migrations WHERE version = '1') <>
  (SELECT xmin::text FROM goforward.migrations WHERE version = '2')`).Scan(&sameTx))
	require.True(t, sameTx, "each migration in a transaction of its own")

	res, err = e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Steps, "nothing left to apply")
}

// TestUpFailureRollsBackAndNamesTheStatement: a failing migration leaves nothing of itself,
// the ones before it stay applied, and the error names the file, the statement and the line.
func TestUpFailureRollsBackAndNamesTheStatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_ok.up.sql", "create table ok (id int);")
	e.write("2_bad.up.sql", "-- a migration that fails half-way\ncreate table half (id int);\n\ninsert into half\n  values (1),\n  ('not a number');\ncreate table never (id int);\n")
	e.write("3_later.up.sql", "create table later (id int);")

	res, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	var fe *FailedError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "2", fe.Version)
	require.Equal(t, filepath.Join(e.dir, "2_bad.up.sql"), fe.Source)
	require.Equal(t, 2, fe.Statement)
	require.Equal(t, 6, fe.Line, "the line of the bad value")
	require.Contains(t, fe.SQL, "insert into half")
	require.ErrorContains(t, err, "applying migration 2_bad failed, and everything it did was rolled back: "+
		filepath.Join(e.dir, "2_bad.up.sql")+", statement 2 (line 6): ERROR: invalid input syntax for type integer")
	require.Len(t, res.Steps, 1, "the migration before it is applied")

	require.Equal(t, []string{"ok"}, e.tables(), "no trace of the failed migration, and the run stopped")
	require.Equal(t, []string{"1"}, e.historyVersions())
	entries := e.audit("migration.")
	require.Len(t, entries, 2)
	require.Equal(t, "error", entries[1].Outcome)
	require.Equal(t, "2", entries[1].ResourceID)
	require.EqualValues(t, 6, entries[1].Details["line"])

	// A failure without a position (a constraint checked at run time) still names its statement.
	require.NoError(t, os.Remove(filepath.Join(e.dir, "2_bad.up.sql")))
	e.write("2_bad.up.sql", "create table u (id int unique);\ninsert into u values (1);\ninsert into u values (1);")
	_, err = e.svc.Up(e.ctx(), cli, UpOptions{})
	require.ErrorAs(t, err, &fe)
	require.Equal(t, 3, fe.Statement)
	require.Equal(t, 3, fe.Line)
	require.Equal(t, []string{"ok"}, e.tables())
}

// TestUpRefusesAChangedMigration: an applied file that changed stops every run, with a
// message that says which file and what to do.
func TestUpRefusesAChangedMigration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_a.up.sql", "create table a (id int);")
	_, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)

	e.write("1_a.up.sql", "create table a (id bigint);")
	e.write("2_b.up.sql", "create table b (id int);")
	_, err = e.svc.Up(e.ctx(), cli, UpOptions{})
	require.ErrorIs(t, err, ErrChecksum)
	require.ErrorContains(t, err, "1_a ("+filepath.Join(e.dir, "1_a.up.sql")+": checksum ")
	require.ErrorContains(t, err, "changed after it was applied, so nothing was run. Restore the file as it was applied and put the change in a new migration (goforward migrate new NAME)")
	require.Equal(t, []string{"a"}, e.tables(), "b was not applied")

	st, err := e.svc.Status(e.ctx())
	require.NoError(t, err)
	require.Equal(t, StateChanged, st[0].State)
	require.Equal(t, StatePending, st[1].State)
}

// TestUpToAndDryRun: --to stops at a version; a dry run returns the SQL and runs nothing.
func TestUpToAndDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_a.up.sql", "create table a (id int);")
	e.write("2_b.up.sql", "-- comment\ncreate table b (id int);\ncreate index on b (id)")
	e.write("3_c.up.sql", "create table c (id int);")

	res, err := e.svc.Up(e.ctx(), cli, UpOptions{DryRun: true})
	require.NoError(t, err)
	require.True(t, res.DryRun)
	require.Len(t, res.Steps, 3)
	require.Equal(t, "create table b (id int);\n\ncreate index on b (id);", res.Steps[1].SQL)
	require.Empty(t, e.tables(), "a dry run runs nothing")
	require.Empty(t, e.historyVersions())
	require.Empty(t, e.audit("migration."))

	_, err = e.svc.Up(e.ctx(), cli, UpOptions{To: "7"})
	require.ErrorIs(t, err, ErrNotFound)

	res, err = e.svc.Up(e.ctx(), cli, UpOptions{To: "2"})
	require.NoError(t, err)
	require.Len(t, res.Steps, 2)
	require.Equal(t, []string{"a", "b"}, e.tables())
	require.Equal(t, []string{"1", "2"}, e.historyVersions())
}

// TestDown rolls back the latest migrations; one without down SQL is refused, and says so,
// before anything is rolled back.
func TestDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_a.sql", "create table a (id int);")
	e.write("2_b.up.sql", "create table b (id int);")
	e.write("2_b.down.sql", "drop table b;")
	e.write("3_c.up.sql", "create table c (id int);")
	e.write("3_c.down.sql", "drop table c;")
	_, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)

	res, err := e.svc.Down(e.ctx(), cli, DownOptions{DryRun: true, Count: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"drop table c;", "drop table b;"}, []string{res.Steps[0].SQL, res.Steps[1].SQL})
	require.Equal(t, []string{"a", "b", "c"}, e.tables())

	_, err = e.svc.Down(e.ctx(), cli, DownOptions{Count: 3})
	require.ErrorIs(t, err, ErrIrreversible)
	require.EqualError(t, err, "migration cannot be rolled back: 1_a has no down file (1_a.down.sql) and no down SQL was recorded when it was applied; write its down file to roll it back")
	require.Equal(t, []string{"a", "b", "c"}, e.tables(), "nothing was rolled back")

	res, err = e.svc.Down(e.ctx(), cli, DownOptions{})
	require.NoError(t, err)
	require.Len(t, res.Steps, 1)
	require.Equal(t, "3_c", res.Steps[0].ID())
	require.Equal(t, []string{"a", "b"}, e.tables())
	require.Equal(t, []string{"1", "2"}, e.historyVersions())
	entries := e.audit("migration.rollback")
	require.Len(t, entries, 1)
	require.Equal(t, "3", entries[0].ResourceID)
	require.Equal(t, "success", entries[0].Outcome)

	// Without its files, a migration rolls back with the down SQL recorded when it was applied.
	require.NoError(t, os.Remove(filepath.Join(e.dir, "2_b.up.sql")))
	require.NoError(t, os.Remove(filepath.Join(e.dir, "2_b.down.sql")))
	st, err := e.svc.Status(e.ctx())
	require.NoError(t, err)
	require.Equal(t, StateMissing, st[1].State)
	require.True(t, st[1].Reversible)
	res, err = e.svc.Down(e.ctx(), cli, DownOptions{})
	require.NoError(t, err)
	require.Equal(t, "the down SQL recorded when it was applied", res.Steps[0].Source)
	require.Equal(t, []string{"a"}, e.tables())
}

// TestDownFailureRollsBack: a down file that fails leaves the migration applied.
func TestDownFailureRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_a.up.sql", "create table a (id int);\ncreate table a2 (id int);")
	e.write("1_a.down.sql", "drop table a2;\ndrop table nope;")
	_, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)
	_, err = e.svc.Down(e.ctx(), cli, DownOptions{})
	var fe *FailedError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, Down, fe.Direction)
	require.Equal(t, 2, fe.Line)
	require.ErrorContains(t, err, "rolling back migration 1_a failed")
	require.Equal(t, []string{"a", "a2"}, e.tables())
	require.Equal(t, []string{"1"}, e.historyVersions())
}

// TestRedo: the latest migration is rolled back and its edited file applied again, in one
// transaction.
func TestRedo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.Redo(e.ctx(), cli, false)
	require.ErrorIs(t, err, ErrConflict)

	e.write("1_a.up.sql", "create table a (id int);")
	e.write("1_a.down.sql", "drop table a;")
	_, err = e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)

	e.write("1_a.up.sql", "create table a (id int, name text);")
	res, err := e.svc.Redo(e.ctx(), cli, false)
	require.NoError(t, err)
	require.Len(t, res.Steps, 2)
	require.Equal(t, Down, res.Steps[0].Direction)
	require.Equal(t, Up, res.Steps[1].Direction)
	var cols int
	require.NoError(t, e.db.Pool.QueryRow(e.ctx(), `SELECT count(*) FROM information_schema.columns WHERE table_name = 'a'`).Scan(&cols))
	require.Equal(t, 2, cols)
	st, err := e.svc.Status(e.ctx())
	require.NoError(t, err)
	require.Equal(t, StateApplied, st[0].State, "the new checksum is recorded")

	// When applying again fails, the rollback is undone too.
	e.write("1_a.up.sql", "create table a (id int, name nope);")
	_, err = e.svc.Redo(e.ctx(), cli, false)
	var fe *FailedError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, Up, fe.Direction)
	require.NoError(t, e.db.Pool.QueryRow(e.ctx(), `SELECT count(*) FROM information_schema.columns WHERE table_name = 'a'`).Scan(&cols))
	require.Equal(t, 2, cols)
	require.Equal(t, []string{"1"}, e.historyVersions())
}

// TestConcurrentUpAppliesEachOnce: two services (two processes' worth of pools) running Up at
// once apply every migration exactly once; the one that waited finds nothing to do.
func TestConcurrentUpAppliesEachOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.db.Pool.Exec(e.ctx(), `CREATE TABLE public.runs (version text)`)
	require.NoError(t, err)
	for _, v := range []string{"1", "2", "3", "4", "5"} {
		e.write(v+"_m.up.sql", "insert into runs values ('"+v+"');\ncreate table t"+v+" (id int);\nselect pg_sleep(0.05);")
	}
	services := []*Service{e.svc, e.service(e.db.NewPool(t))}
	results := make(chan Result, len(services))
	errs := make(chan error, len(services))
	for _, svc := range services {
		go func() {
			res, err := svc.Up(e.ctx(), cli, UpOptions{})
			results <- res
			errs <- err
		}()
	}
	total := 0
	for range services {
		require.NoError(t, <-errs)
		total += len((<-results).Steps)
	}
	require.Equal(t, 5, total, "between them, each migration applied once")
	var runs []string
	rows, err := e.db.Pool.Query(e.ctx(), `SELECT version FROM runs ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		runs = append(runs, v)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, runs)
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, e.historyVersions())
}

// TestMigrationSessionSettingsDoNotLeak: a migration that changes its session (search_path,
// role) does not leave the pool's connections changed.
func TestMigrationSessionSettingsDoNotLeak(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("1_a.up.sql", "set search_path = nowhere;\nset role anon;\nselect 1;")
	_, err := e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)
	for range 8 {
		var path, role string
		require.NoError(t, e.db.Pool.QueryRow(e.ctx(), `SELECT current_setting('search_path'), current_user`).Scan(&path, &role))
		require.NotEqual(t, "nowhere", path)
		require.NotEqual(t, "anon", role)
	}
}

// TestCreate: the API's create writes files and applies them, records them as applied, or
// only writes them; refused SQL leaves no file behind.
func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	down := "drop table saved;"
	st, err := e.svc.Create(e.ctx(), cli, NewMigration{Name: "Saved Table", Up: "create table saved (id int);", Down: &down, Apply: true})
	require.NoError(t, err)
	require.Equal(t, "saved_table", st.Name)
	require.Equal(t, StateApplied, st.State)
	require.True(t, st.Reversible)
	require.Equal(t, []string{"saved"}, e.tables())
	body, err := os.ReadFile(st.UpFile)
	require.NoError(t, err)
	require.Equal(t, "create table saved (id int);", string(body))
	body, err = os.ReadFile(st.DownFile)
	require.NoError(t, err)
	require.Equal(t, down, string(body))

	// DDL that already ran (through /pg): recorded as applied, not run again.
	_, err = e.db.Pool.Exec(e.ctx(), `create table from_dashboard (id int)`)
	require.NoError(t, err)
	st, err = e.svc.Create(e.ctx(), cli, NewMigration{Name: "from_dashboard", Up: "create table from_dashboard (id int);", MarkApplied: true})
	require.NoError(t, err)
	require.Equal(t, StateApplied, st.State)
	require.True(t, st.Marked)
	require.False(t, st.Reversible)
	require.Empty(t, st.DownFile)

	st, err = e.svc.Create(e.ctx(), cli, NewMigration{Name: "later", Up: "create table later (id int);"})
	require.NoError(t, err)
	require.Equal(t, StatePending, st.State)
	require.NotContains(t, e.tables(), "later")

	entries := e.audit("migration.")
	require.Equal(t, []string{ActionApply, ActionMarkApplied, ActionCreate},
		[]string{entries[0].Action, entries[1].Action, entries[2].Action})

	_, err = e.svc.Create(e.ctx(), cli, NewMigration{Name: "broken", Up: "create table saved (id int);", Apply: true})
	var fe *FailedError
	require.ErrorAs(t, err, &fe)
	files, _, err := ReadDir(e.dir)
	require.NoError(t, err)
	require.Len(t, files, 3, "the refused migration's files are gone")

	for _, bad := range []NewMigration{
		{Name: "../x", Up: "select 1"},
		{Name: "x", Up: "-- nothing"},
		{Name: "x", Up: "select 1", Apply: true, MarkApplied: true},
		{Name: "x", Up: "select 1; commit; select 2"},
	} {
		_, err := e.svc.Create(e.ctx(), cli, bad)
		require.ErrorIs(t, err, ErrInvalid, "%+v", bad)
	}
}

// TestNewFiles: `migrate new` writes an up and a down file that sort after every migration.
func TestNewFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.svc.now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	f, err := e.svc.NewFiles("add posts")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(e.dir, "20250102030405_add_posts.up.sql"), f.UpPath)
	require.Equal(t, filepath.Join(e.dir, "20250102030405_add_posts.down.sql"), f.DownPath)
	f, err = e.svc.NewFiles("add posts")
	require.NoError(t, err)
	require.Equal(t, "20250102030406", f.Version)
	files, _, err := ReadDir(e.dir)
	require.NoError(t, err)
	require.Len(t, files, 2)
	require.False(t, files[0].Reversible(), "the down file holds only a comment until it is written")

	// Applying the empty migration works; rolling it back says the down file is empty.
	_, err = e.svc.Up(e.ctx(), cli, UpOptions{})
	require.NoError(t, err)
	_, err = e.svc.Down(e.ctx(), cli, DownOptions{})
	require.ErrorIs(t, err, ErrIrreversible)
	require.ErrorContains(t, err, "the down file of 20250102030406_add_posts ("+filepath.Join(e.dir, "20250102030406_add_posts.down.sql")+") holds no statement")
}
