package rest_test

import (
	"net/http"
	"testing"
)

func TestReadColumnsAndShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run(t, e, []scenario{
		{name: "star", call: call{path: "/labels?order=id"}, status: 200,
			body:    `[{"id":1,"label":"classic"},{"id":2,"label":"draft"},{"id":3,"label":"popular"}]`,
			headers: map[string]string{"Content-Range": "0-2/*", "Content-Type": "application/json; charset=utf-8"}},
		{name: "columns and alias", call: call{path: "/authors?select=id,full_name:name&id=eq.1"}, status: 200,
			body: `[{"id":1,"full_name":"Ada"}]`},
		{name: "quoted alias and column", call: call{path: `/authors?select="the name":name&id=eq.2`}, status: 200,
			body: `[{"the name":"Grace"}]`},
		{name: "cast", call: call{path: "/posts?select=id,rating::text&id=eq.1"}, status: 200,
			body: `[{"id":1,"rating":"4.5"}]`},
		{name: "cast with SQL spelling", call: call{path: "/posts?select=id::bigint,rating::integer&id=eq.2"}, status: 200,
			body: `[{"id":2,"rating":5}]`},
		{name: "unknown cast type", call: call{path: "/posts?select=id::nonsense"}, status: 400, code: "42704"},
		{name: "json arrow", call: call{path: "/authors?select=id,meta->lang,meta->tags->0&id=eq.1"}, status: 200,
			body: `[{"id":1,"lang":"en","0":"math"}]`},
		{name: "json text arrow with alias", call: call{path: "/authors?select=lang:meta->>lang&id=eq.3"}, status: 200,
			body: `[{"lang":"fi"}]`},
		{name: "empty select means all columns", call: call{path: "/labels?select=&id=eq.1"}, status: 200,
			body: `[{"id":1,"label":"classic"}]`},
		{name: "empty result", call: call{path: "/labels?id=eq.99"}, status: 200, body: `[]`,
			headers: map[string]string{"Content-Range": "*/*"}},
		{name: "apikey query parameter is ignored", call: call{path: "/labels?select=id&id=eq.1&apikey=whatever"}, status: 200,
			body: `[{"id":1}]`},
		{name: "unknown column", call: call{path: "/authors?select=nope"}, status: 400, code: "42703"},
		{name: "unknown table", call: call{path: "/authorz"}, status: 404, code: "PGRST205"},
		{name: "malformed select", call: call{path: "/authors?select=id,(name"}, status: 400, code: "PGRST100"},
		{name: "aggregates are disabled", call: call{path: "/posts?select=rating.sum()"}, status: 400, code: "PGRST123"},
		{name: "count() is disabled", call: call{path: "/posts?select=count()"}, status: 400, code: "PGRST123"},
		{name: "other schema by profile", call: call{path: "/things", header: map[string]string{"Accept-Profile": "other"}}, status: 200,
			body: `[{"id":1,"name":"elsewhere"}]`},
		{name: "unknown schema", call: call{path: "/things", header: map[string]string{"Accept-Profile": "secret"}}, status: 406,
			code: "PGRST106"},
		{name: "table of another schema without profile", call: call{path: "/things"}, status: 404, code: "PGRST205"},
		{name: "singular object", call: call{path: "/authors?select=name&id=eq.1", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
			status: 200, body: `{"name":"Ada"}`,
			headers: map[string]string{"Content-Type": "application/vnd.pgrst.object+json; charset=utf-8"}},
		{name: "singular with no rows", call: call{path: "/authors?id=eq.42", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
			status: 406, code: "PGRST116"},
		{name: "singular with many rows", call: call{path: "/authors", header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}},
			status: 406, code: "PGRST116"},
		{name: "csv", call: call{path: "/authors?select=id,name,email&order=id", header: map[string]string{"Accept": "text/csv"}},
			status: 200, raw: "id,name,email\n1,Ada,ada@example.com\n2,Grace,grace@example.com\n3,Linus,",
			headers: map[string]string{"Content-Type": "text/csv; charset=utf-8"}},
		{name: "csv quoting", call: call{path: "/posts?select=id,title&id=eq.1", header: map[string]string{"Accept": "text/csv"}},
			status: 200, raw: "id,title\n1,\"Notes on the Engine\""},
		{name: "unsupported media type", call: call{path: "/authors", header: map[string]string{"Accept": "application/xml"}},
			status: 406, code: "PGRST107"},
		{name: "unsupported method", call: call{method: http.MethodTrace, path: "/authors"}, status: 405, code: "PGRST117"},
		{name: "path too deep", call: call{path: "/authors/1"}, status: 404, code: "PGRST125"},
		{name: "rpc without a function name", call: call{path: "/rpc/"}, status: 404, code: "PGRST125"},
		{name: "head", call: call{method: http.MethodHead, path: "/authors", header: map[string]string{"Prefer": "count=exact"}},
			status: 200, headers: map[string]string{"Content-Range": "0-2/3"}},
	})
}

func TestReadFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := func(path string, want string) scenario {
		return scenario{name: path, call: call{path: "/posts?select=id&order=id&" + path}, status: 200, body: want}
	}
	run(t, e, []scenario{
		ids("id=eq.2", `[{"id":2}]`),
		ids("id=neq.2", `[{"id":1},{"id":3},{"id":4}]`),
		ids("id=gt.2", `[{"id":3},{"id":4}]`),
		ids("id=gte.2", `[{"id":2},{"id":3},{"id":4}]`),
		ids("id=lt.2", `[{"id":1}]`),
		ids("id=lte.2", `[{"id":1},{"id":2}]`),
		ids("title=like.*engine*", `[]`),
		ids("title=like.*Engine*", `[{"id":1}]`),
		ids("title=ilike.*ENGINE*", `[{"id":1}]`),
		ids("title=match.^[BC]", `[{"id":2},{"id":3}]`),
		ids("title=imatch.^k", `[{"id":4}]`),
		ids("body=is.null", `[{"id":4}]`),
		ids("body=not.is.null", `[{"id":1},{"id":2},{"id":3}]`),
		ids("published=is.true", `[{"id":1},{"id":2},{"id":4}]`),
		ids("published=is.false", `[{"id":3}]`),
		ids("published=is.unknown", `[]`),
		ids("reviewer_id=isdistinct.2", `[{"id":2},{"id":3},{"id":4}]`),
		ids("id=in.(1,3)", `[{"id":1},{"id":3}]`),
		ids("title=in.(\"Compilers\",\"Kernel release\")", `[{"id":3},{"id":4}]`),
		ids("id=not.in.(1,3)", `[{"id":2},{"id":4}]`),
		ids("id=in.()", `[]`),
		ids("tags=cs.{math}", `[{"id":1},{"id":2}]`),
		ids("tags=cd.{math,history,cs}", `[{"id":1},{"id":2},{"id":3},{"id":4}]`),
		ids("tags=ov.{cs,history}", `[{"id":1},{"id":3}]`),
		ids("during=sl.[10,30)", `[{"id":1},{"id":2}]`),
		ids("during=sr.[1,6)", `[{"id":3}]`),
		// nxl is &> (does not extend to the left of), nxr is &< (not to the right of).
		ids("during=nxl.[5,6)", `[{"id":2},{"id":3}]`),
		ids("during=nxr.[1,10)", `[{"id":1},{"id":2}]`),
		ids("during=adj.[10,12)", `[{"id":2}]`),
		ids("search=fts.engine", `[{"id":1},{"id":2}]`),
		ids("search=fts(english).engines", `[{"id":1},{"id":2}]`),
		ids("body=plfts.program engine", `[{"id":2}]`),
		ids("body=phfts(english).analytical engine", `[{"id":1}]`),
		ids("search=wfts.engine -bernoulli", `[{"id":1}]`),
		ids("id=eq(any).{1,4}", `[{"id":1},{"id":4}]`),
		ids("id=gt(all).{1,2}", `[{"id":3},{"id":4}]`),
		ids("title=like(any).{B*,K*}", `[{"id":2},{"id":4}]`),
		ids("title=ilike(all).{*e*,*n*}", `[{"id":1},{"id":2},{"id":4}]`),
		ids("or=(id.eq.1,id.eq.3)", `[{"id":1},{"id":3}]`),
		ids("and=(published.is.true,rating.gt.4.6)", `[{"id":2}]`),
		ids("or=(id.eq.4,and(published.is.true,rating.lt.4.6))", `[{"id":1},{"id":4}]`),
		ids("not.or=(id.eq.1,id.eq.2)", `[{"id":3},{"id":4}]`),
		ids("or=(title.eq.\"Notes on the Engine\",id.in.(3,4))", `[{"id":1},{"id":3},{"id":4}]`),
		ids("or=(id.not.eq.1,id.eq.1)&id=lt.3", `[{"id":1},{"id":2}]`),
		ids("id=gt.1&id=lt.4", `[{"id":2},{"id":3}]`),
		{name: "json path filter", call: call{path: "/authors?select=id&meta->>lang=eq.fi"}, status: 200, body: `[{"id":3}]`},
		{name: "json path filter on jsonb", call: call{path: "/authors?select=id&meta->level=gt.4"}, status: 200, body: `[{"id":2}]`},
		{name: "date filter", call: call{path: "/authors?select=id&born=lt.1900-01-01"}, status: 200, body: `[{"id":1}]`},
		{name: "unknown operator", call: call{path: "/posts?id=foo.1"}, status: 400, code: "PGRST100"},
		{name: "missing operator", call: call{path: "/posts?id=1"}, status: 400, code: "PGRST100"},
		{name: "bad is value", call: call{path: "/posts?id=is.maybe"}, status: 400, code: "PGRST100"},
		{name: "unbalanced or", call: call{path: "/posts?or=(id.eq.1"}, status: 400, code: "PGRST100"},
		{name: "unknown filter column", call: call{path: "/posts?nope=eq.1"}, status: 400, code: "42703"},
		{name: "invalid value for the type", call: call{path: "/posts?id=eq.abc"}, status: 400, code: "22P02"},
	})
}

func TestReadOrderLimitRangeCount(t *testing.T) {
	t.Parallel()
	// Fresh statistics make the planner's row estimates those of the real tables.
	e := newEnv(t, "ANALYZE posts; ANALYZE numbers_table;")
	run(t, e, []scenario{
		{name: "order desc", call: call{path: "/posts?select=id&order=id.desc"}, status: 200,
			body: `[{"id":4},{"id":3},{"id":2},{"id":1}]`},
		{name: "order nulls first", call: call{path: "/posts?select=id&order=rating.desc.nullsfirst"}, status: 200,
			body: `[{"id":4},{"id":2},{"id":1},{"id":3}]`},
		{name: "order nulls last", call: call{path: "/posts?select=id&order=rating.asc.nullslast"}, status: 200,
			body: `[{"id":3},{"id":1},{"id":2},{"id":4}]`},
		{name: "order by two columns", call: call{path: "/posts?select=id&order=published.desc,id.desc"}, status: 200,
			body: `[{"id":4},{"id":2},{"id":1},{"id":3}]`},
		{name: "order by json path", call: call{path: "/authors?select=id&order=meta->>lang.desc,id"}, status: 200,
			body: `[{"id":3},{"id":1},{"id":2}]`},
		{name: "order unknown column", call: call{path: "/posts?order=nope"}, status: 400, code: "42703"},
		{name: "order malformed", call: call{path: "/posts?order=id.sideways"}, status: 400, code: "PGRST100"},
		{name: "limit and offset", call: call{path: "/posts?select=id&order=id&limit=2&offset=1"}, status: 200,
			body: `[{"id":2},{"id":3}]`, headers: map[string]string{"Content-Range": "1-2/*"}},
		{name: "bad limit", call: call{path: "/posts?limit=-1"}, status: 400, code: "PGRST100"},
		{name: "count exact partial", call: call{path: "/posts?select=id&order=id&limit=2", header: map[string]string{"Prefer": "return=representation, count=exact"}},
			status: 206, body: `[{"id":1},{"id":2}]`,
			headers: map[string]string{"Content-Range": "0-1/4", "Preference-Applied": "count=exact"}},
		{name: "count exact whole", call: call{path: "/posts?select=id&published=is.true", header: map[string]string{"Prefer": "count=exact"}},
			status: 200, headers: map[string]string{"Content-Range": "0-2/3"}},
		{name: "count exact empty", call: call{path: "/posts?id=eq.99", header: map[string]string{"Prefer": "count=exact"}},
			status: 200, body: `[]`, headers: map[string]string{"Content-Range": "*/0"}},
		{name: "count planned", call: call{path: "/posts?select=id&limit=1", header: map[string]string{"Prefer": "count=planned"}},
			status: 206, headers: map[string]string{"Content-Range": "0-0/4", "Preference-Applied": "count=planned"}},
		{name: "count estimated below max rows is exact", call: call{path: "/posts?select=id&order=id&limit=1", header: map[string]string{"Prefer": "count=estimated"}},
			status: 206, body: `[{"id":1}]`, headers: map[string]string{"Content-Range": "0-0/4"}},
		{name: "count estimated beyond max rows is planned", call: call{path: "/numbers_table?select=n&order=n&limit=1", header: map[string]string{"Prefer": "count=estimated"}},
			status: 206, headers: map[string]string{"Content-Range": "0-0/150"}},
		{name: "range header", call: call{path: "/posts?select=id&order=id", header: map[string]string{"Range": "1-2", "Range-Unit": "items"}},
			status: 200, body: `[{"id":2},{"id":3}]`, headers: map[string]string{"Content-Range": "1-2/*"}},
		{name: "open range header", call: call{path: "/posts?select=id&order=id", header: map[string]string{"Range": "3-"}},
			status: 200, body: `[{"id":4}]`},
		{name: "offset beyond the total", call: call{path: "/posts?offset=10", header: map[string]string{"Prefer": "count=exact"}},
			status: 416, code: "PGRST103", headers: map[string]string{"Content-Range": "*/4", "Preference-Applied": "count=exact"}},
		{name: "range lower than upper", call: call{path: "/posts", header: map[string]string{"Range": "5-2"}},
			status: 416, code: "PGRST103"},
		{name: "max rows caps the response", call: call{path: "/numbers_table?select=n&order=n&limit=500", header: map[string]string{"Prefer": "count=exact"}},
			status: 206, headers: map[string]string{"Content-Range": "0-99/150"}},
		{name: "strict handling refuses unknown preferences", call: call{path: "/posts", header: map[string]string{"Prefer": "handling=strict, bogus"}},
			status: 400, code: "PGRST122"},
		{name: "lenient handling ignores unknown preferences", call: call{path: "/posts?select=id&id=eq.1", header: map[string]string{"Prefer": "bogus"}},
			status: 200, body: `[{"id":1}]`},
	})
}

func TestReadViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE VIEW published_posts AS SELECT id, title, author_id FROM posts WHERE published;
		CREATE MATERIALIZED VIEW post_counts AS SELECT author_id, count(*)::int AS posts FROM posts GROUP BY author_id;
		GRANT SELECT ON post_counts TO anon;`)
	run(t, e, []scenario{
		{name: "view", call: call{path: "/published_posts?select=id,title&order=id"}, status: 200,
			body: `[{"id":1,"title":"Notes on the Engine"},{"id":2,"title":"Bernoulli numbers"},{"id":4,"title":"Kernel release"}]`},
		{name: "view with filter and count", call: call{path: "/published_posts?select=id&author_id=eq.1&limit=1&order=id",
			header: map[string]string{"Prefer": "count=exact"}}, status: 206,
			body: `[{"id":1}]`, headers: map[string]string{"Content-Range": "0-0/2"}},
		{name: "materialized view", call: call{path: "/post_counts?select=author_id,posts&order=author_id"}, status: 200,
			body: `[{"author_id":1,"posts":2},{"author_id":2,"posts":1},{"author_id":3,"posts":1}]`},
		{name: "materialized view filtered", call: call{path: "/post_counts?posts=gt.1"}, status: 200,
			body: `[{"author_id":1,"posts":2}]`},
		{name: "unknown column of a view", call: call{path: "/published_posts?select=body"}, status: 400, code: "42703"},
	})
}
