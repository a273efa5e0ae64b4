package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Requests run as prepared statements. PostgreSQL re-plans them after DDL but keeps the
// parameter types it inferred when preparing, so a reload of the schema cache must drop them:
// after value became text, an old statement would still read the filter value as an integer.
func TestSchemaReloadDropsPreparedStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `INSERT INTO counters (name, value) VALUES ('one', 1), ('two', 2);`)
	// Enough requests to prepare the statement on every connection of the request pool.
	for range 20 {
		r := e.do(t, call{path: "/counters?select=name&value=eq.1"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, jsonText(t, `[{"name":"one"}]`), jsonOf(t, r))
	}
	_, err := e.DB.Pool.Exec(context.Background(),
		`ALTER TABLE counters ALTER COLUMN value DROP DEFAULT, ALTER COLUMN value TYPE text USING 'v' || value`)
	require.NoError(t, err)
	require.NoError(t, e.svc.ReloadSchema(context.Background()))
	for range 20 {
		r := e.do(t, call{path: "/counters?select=name&value=eq.v2"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, jsonText(t, `[{"name":"two"}]`), jsonOf(t, r))
	}
}

// A filtered page keeps one generic plan instead of being planned on every request: the limit
// is written into the statement, so the generic plan is costed for it (with LIMIT $n PostgreSQL
// assumed a tenth of the rows, never chose the generic plan and planned each execution anew).
func TestFilteredPageUsesAGenericPlan(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE TABLE pages (id int PRIMARY KEY, label text NOT NULL);
INSERT INTO pages SELECT i, 'page ' || i FROM generate_series(1, 5000) AS i;
ANALYZE pages;
GRANT SELECT ON pages TO anon;
CREATE FUNCTION page_plans() RETURNS TABLE (generic bigint, custom bigint) LANGUAGE sql AS
	$$SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%"public"."pages"%'$$;
GRANT EXECUTE ON FUNCTION page_plans() TO anon;`)
	for i := range 80 {
		r := e.do(t, call{path: fmt.Sprintf("/pages?select=id,label&id=gte.%d&order=id&limit=10", 100+i*50)})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	// Prepared statements belong to a connection: ask until a connection that ran the page
	// often enough for PostgreSQL to consider its generic plan (after five executions) answers.
	for range 100 {
		r := e.do(t, call{method: http.MethodPost, path: "/rpc/page_plans", body: map[string]any{}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var plans []struct{ Generic, Custom int64 }
		require.NoError(t, json.Unmarshal(r.Body, &plans))
		for _, p := range plans {
			if p.Generic+p.Custom >= 8 {
				require.Positive(t, p.Generic, "executions planned one by one: %+v", plans)
				return
			}
		}
	}
	t.Fatal("no connection ran the page eight times")
}
