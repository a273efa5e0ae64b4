package rest_test

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/rest"
)

var update = flag.Bool("update", false, "rewrite the golden files of the SQL builder")

// goldenComputedRelationships are computed relationships of the golden files' schema.
const goldenComputedRelationships = `
CREATE FUNCTION post_comments(posts) RETURNS SETOF comments LANGUAGE sql STABLE
	AS $$SELECT * FROM comments WHERE post_id = $1.id$$;
CREATE FUNCTION writer(posts) RETURNS SETOF authors ROWS 1 LANGUAGE sql STABLE
	AS $$SELECT * FROM authors WHERE id = $1.author_id$$;
`

// fixtureSchema loads the schema cache of fixture (with its computed fields) once per test.
func fixtureSchema(t testing.TB) *meta.Schema {
	t.Helper()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(context.Background(), fixture+computedFields+goldenComputedRelationships)
	require.NoError(t, err)
	s, err := meta.NewInspector(database.Pool, meta.Config{Schemas: []string{"public", "other"}}, nil).Reload(context.Background())
	require.NoError(t, err)
	return s
}

// buildRequest runs Parse, Plan and Build on one HTTP request.
func buildRequest(s *meta.Schema, method, target, body string, header map[string]string) (rest.Statement, error) {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	req, err := rest.Parse(r)
	if err != nil {
		return rest.Statement{}, err
	}
	q, err := rest.Plan(&req, s, rest.PlanOptions{MaxRows: 100, AggregatesEnabled: true})
	if err != nil {
		return rest.Statement{}, err
	}
	return rest.Build(q, rest.BuildOptions{MaxRows: 100}), nil
}

// TestBuildGolden pins the SQL the builder emits for representative requests. Run with
// -update after an intended change and review the diff.
func TestBuildGolden(t *testing.T) {
	t.Parallel()
	s := fixtureSchema(t)
	cases := []struct {
		name, method, target, body string
		header                     map[string]string
	}{
		{name: "read_by_primary_key", method: "GET", target: "/rest/v1/authors?select=id,name&id=eq.1"},
		{name: "read_filters_order_limit", method: "GET", target: "/rest/v1/posts?select=id,title&published=is.true&title=ilike.*e*&order=rating.desc.nullslast,id&limit=10&offset=5"},
		{name: "read_logic_tree", method: "GET", target: "/rest/v1/posts?or=(id.eq.1,and(rating.gt.4,tags.cs.{math}))&not.and=(id.in.(7,8),body.is.null)"},
		{name: "read_json_and_cast", method: "GET", target: "/rest/v1/authors?select=lang:meta->>lang,first_tag:meta->tags->0,born::text&meta->level=gt.2"},
		{name: "read_fts", method: "GET", target: "/rest/v1/posts?select=id&search=fts(english).engine&body=wfts.program"},
		{name: "read_count_exact", method: "GET", target: "/rest/v1/posts?select=id&published=is.true", header: map[string]string{"Prefer": "count=exact"}},
		{name: "read_count_planned", method: "GET", target: "/rest/v1/posts?select=id&rating=gt.3", header: map[string]string{"Prefer": "count=planned"}},
		{name: "read_singular", method: "GET", target: "/rest/v1/authors?id=eq.1", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
		{name: "read_csv", method: "GET", target: "/rest/v1/authors?select=id,name", header: map[string]string{"Accept": "text/csv"}},
		{name: "embed_many_to_one", method: "GET", target: "/rest/v1/posts?select=id,authors!author_id(name)&order=authors(name)"},
		{name: "embed_one_to_many_inner", method: "GET", target: "/rest/v1/authors?select=name,posts!author_id!inner(title)&posts.published=is.true&posts.order=id&posts.limit=2"},
		{name: "embed_many_to_many", method: "GET", target: "/rest/v1/posts?select=id,labels(label)"},
		{name: "embed_spread_and_null_filter", method: "GET", target: "/rest/v1/posts?select=id,...authors!author_id(author:name),reviewer:authors!posts_reviewer_fk()&reviewer=is.null"},
		{name: "embed_spread_to_many", method: "GET", target: "/rest/v1/authors?select=id,...posts!author_id!inner(title,comments(text))&posts.order=id"},
		{name: "embed_computed_relationships", method: "GET", target: "/rest/v1/posts?select=id,post_comments!inner(text),writer(name)&post_comments.order=id"},
		{name: "embed_count_column", method: "GET", target: "/rest/v1/authors?select=name,posts!author_id(count)"},
		{name: "read_aggregates", method: "GET", target: "/rest/v1/posts?select=*,rating.sum()::text,n:count(),a:authors!author_id(name),...authors!posts_reviewer_fk(reviewer:name,born.max())&published=is.true"},
		{name: "embed_aggregate", method: "GET", target: "/rest/v1/authors?select=name,posts!author_id(published,rating.avg())"},
		{name: "read_computed_fields", method: "GET", target: "/rest/v1/posts?select=id,title,authors!author_id(label:display_name)&authors.post_count=gt.1&order=id"},
		{name: "read_computed_filter_order", method: "GET", target: "/rest/v1/authors?select=n:post_count::text&or=(display_name.like.A*,post_count.eq.1)&order=display_name.desc"},
		{name: "insert_representation", method: "POST", target: "/rest/v1/labels?select=id", body: `{"id":1,"label":"x"}`, header: map[string]string{"Prefer": "return=representation"}},
		{name: "insert_missing_default", method: "POST", target: `/rest/v1/counters?columns="name","value"`, body: `[{"name":"a"}]`, header: map[string]string{"Prefer": "missing=default"}},
		{name: "upsert_merge", method: "POST", target: "/rest/v1/labels?on_conflict=id", body: `[{"id":1,"label":"x"}]`, header: map[string]string{"Prefer": "resolution=merge-duplicates"}},
		{name: "insert_headers_only", method: "POST", target: "/rest/v1/labels", body: `{"id":1,"label":"x"}`, header: map[string]string{"Prefer": "return=headers-only"}},
		{name: "update", method: "PATCH", target: "/rest/v1/posts?id=eq.1", body: `{"title":"t","published":true}`},
		{name: "delete_representation", method: "DELETE", target: "/rest/v1/comments?post_id=eq.1&select=text", header: map[string]string{"Prefer": "return=representation"}},
		{name: "put", method: "PUT", target: "/rest/v1/labels?id=eq.1", body: `{"id":1,"label":"x"}`},
		{name: "rpc_scalar_get", method: "GET", target: "/rest/v1/rpc/add?a=1&b=2"},
		{name: "rpc_set_post_with_filters", method: "POST", target: "/rest/v1/rpc/posts_by?select=id,title&published=is.true&order=id", body: `{"author":1}`},
		{name: "rpc_variadic", method: "POST", target: "/rest/v1/rpc/total", body: `{"nums":[1,2]}`},
		{name: "rpc_single_object", method: "POST", target: "/rest/v1/rpc/echo", body: `{"anything":1}`, header: map[string]string{"Prefer": "params=single-object"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stmt, err := buildRequest(s, c.method, c.target, c.body, c.header)
			require.NoError(t, err)
			args, err := json.Marshal(stmt.Args)
			require.NoError(t, err)
			got := stmt.SQL + "\n-- args: " + string(args) + "\n"
			if stmt.Explain != nil {
				explainArgs, err := json.Marshal(stmt.Explain.Args)
				require.NoError(t, err)
				got += stmt.Explain.SQL + "\n-- args: " + string(explainArgs) + "\n"
			}
			path := filepath.Join("testdata", "golden", c.name+".sql")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./internal/rest -run TestBuildGolden -update")
			require.Equal(t, string(want), got)
		})
	}
}
