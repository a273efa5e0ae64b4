package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
)

// project is a project directory with its own data directory; `goforward migrate` runs in it,
// so the migrations directory is found as a user's would be.
type project struct {
	t       *testing.T
	dir     string
	dataDir string
	env     []string
}

func newProject(t *testing.T) *project {
	t.Helper()
	dataDir := tempDataDir(t)
	dir := filepath.Join(filepath.Dir(dataDir), "app")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return &project{t: t, dir: dir, dataDir: dataDir}
}

// command is `goforward ARGS --data-dir …` started in the project directory.
func (p *project) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, binary, append(args, "--data-dir", p.dataDir)...)
	cmd.Dir, cmd.Env = p.dir, cleanEnv(p.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func (p *project) run(args ...string) (string, string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd, stdout, stderr := p.command(ctx, args...)
	code := 0
	if err := cmd.Run(); err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(p.t, ok, "run %v: %v", args, err)
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func (p *project) ok(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.run(args...)
	require.Equal(p.t, 0, code, "goforward %v failed:\nstdout: %s\nstderr: %s", args, out, errOut)
	return out
}

func (p *project) fails(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.run(args...)
	require.Equal(p.t, 1, code, "goforward %v should fail:\nstdout: %s\nstderr: %s", args, out, errOut)
	return errOut
}

func (p *project) json(out any, args ...string) {
	p.t.Helper()
	stdout := p.ok(append(args, "--json")...)
	require.NoError(p.t, json.Unmarshal([]byte(stdout), out), stdout)
}

// write puts a file into the project, relative to its directory.
func (p *project) write(rel, body string) {
	p.t.Helper()
	path := filepath.Join(p.dir, rel)
	require.NoError(p.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(p.t, os.WriteFile(path, []byte(body), 0o644))
}

type migrationStatus struct {
	Version   string `json:"version"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	UpFile    string `json:"up_file"`
	DownFile  string `json:"down_file"`
	AppliedBy string `json:"applied_by"`
	Marked    bool   `json:"marked"`
}

func (p *project) status() []migrationStatus {
	p.t.Helper()
	var st struct {
		Dir        string            `json:"dir"`
		Migrations []migrationStatus `json:"migrations"`
	}
	p.json(&st, "migrate", "status")
	return st.Migrations
}

func states(list []migrationStatus) []string {
	out := []string{}
	for _, m := range list {
		out = append(out, m.Name+":"+m.Status)
	}
	return out
}

// TestMigrateCLIWithoutServer: in a Supabase project (./supabase/migrations exists) with no
// server running, `migrate` starts the cluster itself for each command: new, up (dry run
// first), status, down, a failing migration, a changed one.
func TestMigrateCLIWithoutServer(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	require.NoError(t, os.MkdirAll(filepath.Join(p.dir, "supabase", "migrations"), 0o755))

	out := p.ok("migrate", "status")
	require.Contains(t, out, "No migrations in supabase/migrations yet. Create one with: goforward migrate new NAME")

	// Supabase CLI's single-file migration, up-only.
	p.write("supabase/migrations/20200101000000_init.sql", "create table authors (id int primary key);\n")
	out = p.ok("migrate", "new", "create posts")
	require.Regexp(t, `Created supabase/migrations/\d{14}_create_posts\.up\.sql\nCreated supabase/migrations/\d{14}_create_posts\.down\.sql\n`, out)
	list := p.status()
	require.Equal(t, []string{"init:pending", "create_posts:pending"}, states(list))
	postsUp, postsDown := list[1].UpFile, list[1].DownFile
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, postsUp), []byte("create table posts (\n  id int primary key,\n  author int references authors\n);\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, postsDown), []byte("drop table posts;\n"), 0o644))

	out = p.ok("migrate", "up", "--dry-run")
	require.Contains(t, out, "-- 20200101000000_init: would apply supabase/migrations/20200101000000_init.sql (1 statement)\ncreate table authors (id int primary key);")
	require.Contains(t, out, "Dry run: 2 migrations would be applied; nothing was run.")
	require.Equal(t, []string{"init:pending", "create_posts:pending"}, states(p.status()))

	out = p.ok("migrate", "up")
	require.Contains(t, out, "Applied 20200101000000_init (1 statement, ")
	require.Contains(t, out, "2 migrations applied.")
	list = p.status()
	require.Equal(t, []string{"init:applied", "create_posts:applied"}, states(list))
	require.True(t, strings.HasPrefix(list[0].AppliedBy, "cli:"), list[0].AppliedBy)
	out = p.ok("migrate", "up")
	require.Contains(t, out, "Nothing to apply: the database is up to date")

	out = p.ok("migrate", "status")
	require.Contains(t, out, "Migrations in supabase/migrations: 2 applied, 0 pending")
	require.Regexp(t, `20200101000000\s+init\s+applied\s+.*no down SQL`, out)

	// A failing migration: rolled back whole, and the error says where.
	p.write("supabase/migrations/20990101000000_bad.up.sql", "create table half (id int);\n\ninsert into half values\n  ('x');\n")
	errOut := p.fails("migrate", "up")
	require.Contains(t, errOut, "Error: applying migration 20990101000000_bad failed, and everything it did was rolled back: supabase/migrations/20990101000000_bad.up.sql, statement 2 (line 4): ERROR: invalid input syntax for type integer")
	require.NoError(t, os.Remove(filepath.Join(p.dir, "supabase/migrations/20990101000000_bad.up.sql")))

	out = p.ok("migrate", "down")
	require.Contains(t, out, "Rolled back "+strings.TrimSuffix(filepath.Base(postsUp), ".up.sql")+" (1 statement, ")
	errOut = p.fails("migrate", "down")
	require.Contains(t, errOut, "20200101000000_init has no down file (20200101000000_init.down.sql) and no down SQL was recorded when it was applied; write its down file to roll it back")
	require.Equal(t, []string{"init:applied", "create_posts:pending"}, states(p.status()))

	// An applied file edited afterwards stops `up`.
	p.write("supabase/migrations/20200101000000_init.sql", "create table authors (id bigint primary key);\n")
	errOut = p.fails("migrate", "up")
	require.Contains(t, errOut, "20200101000000_init (supabase/migrations/20200101000000_init.sql: checksum ")
	require.Contains(t, errOut, "changed after it was applied, so nothing was run")

	// What the commands did is in the database and the audit log, for the server to find.
	srv := startServer(t, p.dataDir, nil)
	srv.waitReady(60 * time.Second)
	conn := ownerConn(t, p.dataDir)
	rows, err := conn.Query(t.Context(), `SELECT action || ':' || outcome || ':' || resource_id FROM goforward.audit_log
WHERE actor_type = 'cli' AND action LIKE 'migration.%' ORDER BY id`)
	require.NoError(t, err)
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	version := list[1].Version
	require.Equal(t, []string{
		"migration.apply:success:20200101000000", "migration.apply:success:" + version,
		"migration.apply:error:20990101000000", "migration.rollback:success:" + version,
	}, actions)
}

// TestMigrateCLIWhileServing: with serve running, two `migrate up` processes started together
// apply every migration once; `migrate diff` captures changes made in the live database, and
// the history with the new file applied to a fresh database reproduces them; the admin API
// lists what the command line did.
func TestMigrateCLIWhileServing(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	srv := startServer(t, p.dataDir, []string{"GOFORWARD_MIGRATIONS_DIR=" + filepath.Join(p.dir, "migrations")})
	srv.waitReady(60 * time.Second)
	st := statusJSON(t, p.dataDir)
	conn := ownerConn(t, p.dataDir)

	p.write("migrations/1_runs.up.sql", "create table runs (version int);\ninsert into runs values (1);\n")
	p.write("migrations/1_runs.down.sql", "drop table runs;\n")
	for _, v := range []string{"2", "3", "4", "5", "6"} {
		p.write("migrations/"+v+"_step.up.sql", "insert into runs values ("+v+");\ncreate table t"+v+" (id int);\nselect pg_sleep(0.1);\n")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	type proc struct {
		cmd            *exec.Cmd
		stdout, stderr *bytes.Buffer
	}
	var procs []proc
	for range 2 {
		cmd, stdout, stderr := p.command(ctx, "migrate", "up", "--json")
		require.NoError(t, cmd.Start())
		procs = append(procs, proc{cmd, stdout, stderr})
	}
	applied := 0
	for _, pr := range procs {
		require.NoError(t, pr.cmd.Wait(), "stderr: %s", pr.stderr)
		var res struct {
			Steps []struct {
				Version string `json:"version"`
			} `json:"steps"`
		}
		require.NoError(t, json.Unmarshal(pr.stdout.Bytes(), &res), pr.stdout.String())
		applied += len(res.Steps)
	}
	require.Equal(t, 6, applied, "between them, each migration applied once")
	rows, err := conn.Query(ctx, `SELECT version FROM runs ORDER BY version`)
	require.NoError(t, err)
	runs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.Equal(t, []int32{1, 2, 3, 4, 5, 6}, runs)

	// Changes made in the live database, outside any migration (the dashboard, psql).
	_, err = conn.Exec(ctx, `
create table posts (id bigint generated by default as identity primary key, title text not null, body text);
alter table posts enable row level security;
create policy "anyone reads" on posts for select to anon, authenticated using (true);
create index posts_title_idx on posts (title);
alter table runs add column note text default 'none';
create function public.post_titles() returns setof text language sql stable as $$ select title from public.posts $$;
drop table t6;`)
	require.NoError(t, err)

	out := p.ok("migrate", "diff", "dashboard changes", "--dry-run")
	require.Contains(t, out, "CREATE TABLE public.posts (")
	require.Len(t, p.status(), 6, "a dry run writes nothing")
	var diff struct {
		Empty      bool             `json:"empty"`
		Statements int              `json:"statements"`
		Migration  *migrationStatus `json:"migration"`
	}
	p.json(&diff, "migrate", "diff", "dashboard changes")
	require.False(t, diff.Empty)
	require.Positive(t, diff.Statements)
	require.Equal(t, "dashboard_changes", diff.Migration.Name)
	require.Equal(t, "applied", diff.Migration.Status)
	require.True(t, diff.Migration.Marked)
	out = p.ok("migrate", "diff", "again")
	require.Contains(t, out, "No difference between the migration history and the live schema (schemas public): nothing written.")

	// A fresh database, given the project's migrations, has the live schema.
	fresh := pgtest.NewDatabase(t)
	freshProject := *p
	freshProject.env = []string{"DATABASE_URL=" + fresh.URL}
	freshProject.ok("migrate", "up")
	freshConn, err := pgx.Connect(ctx, fresh.URL)
	require.NoError(t, err)
	defer freshConn.Close(context.Background())
	live := publicSchema(t, conn)
	require.Contains(t, live, `pol posts."anyone reads" SELECT {anon,authenticated} true`)
	require.Contains(t, live, "col runs.note text YES 'none'::text")
	require.NotContains(t, live, "col t6.")
	require.Equal(t, live, publicSchema(t, freshConn))

	// The admin API sees the command line's migrations.
	status, body := httpCall(t, "GET", srv.url()+"/admin/v1/migrations", map[string]string{"Authorization": "Bearer " + st["service_role_key"].(string)}, nil)
	require.Equal(t, 200, status, "body: %v", body)
	require.Len(t, body["migrations"], 7)
}

// publicSchema describes the public schema's columns, indexes, policies and functions, one
// line each, sorted.
func publicSchema(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var out string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'pol ' || tablename || '.' || quote_ident(policyname) || ' ' || cmd || ' ' || roles::text || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies WHERE schemaname = 'public'
  UNION ALL SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'rls ' || relname || ' ' || relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
) s(x)`).Scan(&out))
	return out
}
