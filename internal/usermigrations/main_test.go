package usermigrations

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a migrations directory and a database of one test's own.
type env struct {
	t   *testing.T
	db  *pgtest.Database
	dir string
	svc *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: pgtest.NewDatabase(t), dir: filepath.Join(t.TempDir(), "migrations")}
	e.svc = e.service(e.db.Pool)
	return e
}

// service is another service on the same directory, over pool.
func (e *env) service(pool *pgxpool.Pool) *Service {
	return New(pool, Config{Dir: e.dir, Internal: migrations.FS})
}

// write puts a file into the migrations directory.
func (e *env) write(name, body string) {
	e.t.Helper()
	require.NoError(e.t, os.MkdirAll(e.dir, 0o755))
	require.NoError(e.t, os.WriteFile(filepath.Join(e.dir, name), []byte(body), 0o644))
}

// cli is the caller of the tests: the command line, as internal/cli describes it.
var cli = audit.Entry{Actor: audit.Actor{Type: audit.ActorCLI}, Details: map[string]any{"os_user": "dev", "host": "box"}}

func (e *env) ctx() context.Context { return e.t.Context() }

// tables lists the tables of the public schema.
func (e *env) tables() []string {
	e.t.Helper()
	rows, err := e.db.Pool.Query(e.ctx(), `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	require.NoError(e.t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(e.t, err)
	return names
}

// historyVersions lists the applied versions, in the order they were applied.
func (e *env) historyVersions() []string {
	e.t.Helper()
	applied, err := e.svc.History(e.ctx())
	require.NoError(e.t, err)
	out := []string{}
	for _, a := range applied {
		out = append(out, a.Version)
	}
	return out
}

// auditRow is what the tests read back of an audit entry.
type auditRow struct {
	Action, ResourceID, Outcome string
	Details                     map[string]any
}

func (e *env) audit(prefix string) []auditRow {
	e.t.Helper()
	rows, err := e.db.Pool.Query(e.ctx(), `SELECT action, resource_id, outcome, details FROM goforward.audit_log
WHERE action LIKE $1 || '%' ORDER BY id`, prefix)
	require.NoError(e.t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		err := r.Scan(&a.Action, &a.ResourceID, &a.Outcome, &a.Details)
		return a, err
	})
	require.NoError(e.t, err)
	return out
}
