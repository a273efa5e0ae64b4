package tablesecurity_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/tablesecurity"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a database with a customers table and the two pools a request uses.
type fixture struct {
	db     *pgtest.Database
	svc    *tablesecurity.Service
	runner *db.RoleRunner
}

const customersSQL = `
create table public.customers (
  id bigint generated always as identity primary key,
  owner_id uuid not null default auth.uid(),
  name text not null,
  email text,
  card text,
  status text not null default 'active'
);
insert into public.customers (owner_id, name, email, card) values
  ('11111111-1111-1111-1111-111111111111', 'Ann', 'ann@example.com', '4111111111111111'),
  ('22222222-2222-2222-2222-222222222222', 'Bob', 'bob@example.org', '5500000000000004');
`

const (
	ann = "11111111-1111-1111-1111-111111111111"
	bob = "22222222-2222-2222-2222-222222222222"
)

func newFixture(t *testing.T, setup string) *fixture {
	t.Helper()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(t.Context(), setup)
	require.NoError(t, err)
	return &fixture{
		db:     database,
		svc:    tablesecurity.NewService(database.Pool, nil),
		runner: db.NewRoleRunner(database.RequestPool(t), db.RunnerConfig{}),
	}
}

var adminActor = audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: "00000000-0000-0000-0000-0000000000aa"}}

// put applies cfg (any value encoding to the config JSON) and returns the result.
func (f *fixture) put(t *testing.T, table string, cfg any) *tablesecurity.Result {
	t.Helper()
	res, err := f.tryPut(t, table, cfg, false)
	require.NoError(t, err)
	return res
}

func (f *fixture) tryPut(t *testing.T, table string, cfg any, dryRun bool) (*tablesecurity.Result, error) {
	t.Helper()
	body, ok := cfg.([]byte)
	if !ok {
		var err error
		body, err = json.Marshal(cfg)
		require.NoError(t, err)
	}
	return f.svc.Put(t.Context(), "public", table, body, tablesecurity.Change{DryRun: dryRun, Audit: adminActor})
}

// caller is who runs SQL as an API role.
type caller struct {
	role   string
	sub    string
	claims map[string]any
	ip     string
}

var (
	anonCaller = caller{role: "anon"}
	annCaller  = caller{role: "authenticated", sub: ann}
	bobCaller  = caller{role: "authenticated", sub: bob}
)

func (c caller) scope(t *testing.T) db.RequestScope {
	claims := map[string]any{"role": c.role}
	if c.sub != "" {
		claims["sub"] = c.sub
	}
	for k, v := range c.claims {
		claims[k] = v
	}
	data, err := json.Marshal(claims)
	require.NoError(t, err)
	s := db.RequestScope{Role: c.role, Claims: data}
	if c.ip != "" {
		s.ClientIP = netip.MustParseAddr(c.ip)
	}
	return s
}

// query runs sql as c and returns its rows as maps, or the error.
func (f *fixture) query(t *testing.T, c caller, sql string, args ...any) ([]map[string]any, error) {
	t.Helper()
	var out []map[string]any
	err := f.runner.InRole(context.WithoutCancel(t.Context()), c.scope(t), func(tx pgx.Tx) error {
		rows, err := tx.Query(t.Context(), sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToMap)
		return err
	})
	return out, err
}

func (f *fixture) mustQuery(t *testing.T, c caller, sql string, args ...any) []map[string]any {
	t.Helper()
	rows, err := f.query(t, c, sql, args...)
	require.NoError(t, err, sql)
	return rows
}

// exec runs sql as c.
func (f *fixture) exec(t *testing.T, c caller, sql string, args ...any) error {
	t.Helper()
	return f.runner.InRole(context.WithoutCancel(t.Context()), c.scope(t), func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), sql, args...)
		return err
	})
}

// owner runs sql as the table owner.
func (f *fixture) owner(t *testing.T, sql string, args ...any) []map[string]any {
	t.Helper()
	rows, err := f.db.Pool.Query(t.Context(), sql, args...)
	require.NoError(t, err, sql)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err, sql)
	return out
}

func names(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["name"].(string))
	}
	return out
}
