package pgmeta_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newFixture(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	sql, err := os.ReadFile("testdata/fixture.sql")
	require.NoError(t, err)
	h.exec(t, string(sql))
	return h
}

// oid returns the oid of a relation, type or other catalog object through a reg* cast.
func (h *harness) oid(t *testing.T, expr string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), "SELECT ("+expr+")::oid::int8").Scan(&id))
	return id
}

func TestTables(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	authors := h.oid(t, "'public.authors'::regclass")
	posts := h.oid(t, "'public.posts'::regclass")

	var tables []object
	h.getJSON(t, "/pg/tables?included_schemas=public", &tables)
	names := []string{}
	for _, tb := range tables {
		names = append(names, tb["name"].(string))
	}
	assert.Equal(t, []string{"authors", "post_tags", "posts", "profiles", "tags"}, names)

	a := find(t, tables, object{"name": "authors"})
	assert.EqualValues(t, authors, a["id"])
	assert.Equal(t, "public", a["schema"])
	assert.Equal(t, false, a["rls_enabled"])
	assert.Equal(t, "DEFAULT", a["replica_identity"])
	assert.Equal(t, "People who write", a["comment"])
	assert.Equal(t, []any{object{"schema": "public", "table_name": "authors", "name": "id", "table_id": float64(authors)}}, a["primary_keys"])
	require.Len(t, a["columns"], 7)
	// The foreign keys from and to the table, in postgres-meta's old relationship shape.
	rels := a["relationships"].([]any)
	assert.Len(t, rels, 2)
	rel := find(t, toObjects(rels), object{"source_table_name": "posts"})
	assert.Equal(t, object{
		"id": rel["id"], "constraint_name": "posts_author_id_fkey",
		"source_schema": "public", "source_table_name": "posts", "source_column_name": "author_id",
		"target_table_schema": "public", "target_table_name": "authors", "target_column_name": "id",
	}, rel)

	p := find(t, tables, object{"name": "posts"})
	assert.Equal(t, true, p["rls_enabled"])
	assert.Nil(t, p["comment"])

	// The body keeps postgres-meta's key order.
	res := h.get(t, fmt.Sprintf("/pg/tables/%d", posts))
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, []string{"id", "schema", "name", "rls_enabled", "rls_forced", "replica_identity", "bytes", "size",
		"live_rows_estimate", "dead_rows_estimate", "comment", "columns", "primary_keys", "relationships"}, keys(t, res.Body))

	// include_columns=false leaves the key out, as postgres-meta does.
	var bare []object
	h.getJSON(t, "/pg/tables?included_schemas=app&include_columns=false", &bare)
	require.Len(t, bare, 1)
	assert.NotContains(t, bare[0], "columns")
	assert.Equal(t, "items", bare[0]["name"])
}

func toObjects(items []any) []object {
	out := make([]object, len(items))
	for i, it := range items {
		out[i] = it.(object)
	}
	return out
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	cases := []struct {
		name string
		path string
		want []string // names, in order
	}{
		{"included schemas", "/pg/tables?included_schemas=app", []string{"items"}},
		{"two included schemas", "/pg/tables?included_schemas=app,public&include_columns=false&limit=2", []string{"items", "authors"}},
		{"excluded schemas", "/pg/tables?excluded_schemas=public,auth,storage,realtime,goforward,extensions", []string{"items"}},
		{"limit and offset", "/pg/tables?included_schemas=public&limit=2&offset=1", []string{"post_tags", "posts"}},
		{"limit 0 is no limit", "/pg/tables?included_schemas=app&limit=0", []string{"items"}},
		{"views", "/pg/views?included_schemas=public", []string{"post_titles"}},
		{"materialized views", "/pg/materialized-views?included_schemas=public", []string{"author_counts"}},
		{"functions", "/pg/functions?included_schemas=public", []string{"add", "titles_of", "touch"}},
		{"triggers", "/pg/triggers?included_schemas=public", []string{"posts_touch"}},
		{"policies", "/pg/policies?included_schemas=public", []string{"posts_read", "posts_write"}},
		{"types", "/pg/types?included_schemas=public", []string{"mood", "point2"}},
		{"schemas", "/pg/schemas?included_schemas=app", []string{"app"}},
		{"publications", "/pg/publications", []string{"pub_posts", "supabase_realtime"}},
		{"system schemas are left out", "/pg/tables?excluded_schemas=public,app,auth,storage,realtime,goforward,extensions&include_columns=false", []string{}},
		{"unless asked for", "/pg/tables?included_schemas=pg_catalog&include_columns=false&limit=1", []string{"pg_aggregate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var items []object
			h.getJSON(t, tc.path, &items)
			names := []string{}
			for _, it := range items {
				names = append(names, it["name"].(string))
			}
			assert.Equal(t, tc.want, names)
		})
	}
}
