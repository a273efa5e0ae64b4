package rest_test

import (
	"testing"

	"github.com/goforward/goforward/internal/rest"
)

func withAggregates(c *rest.Config) { c.AggregatesEnabled = true }

// TestAggregates: with rest.aggregates_enabled, select= takes PostgREST's aggregates, grouped
// by the other selected columns, at the top level, in embeds, on RPC results and hoisted out
// of to-one spreads.
func TestAggregates(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, withAggregates, `CREATE FUNCTION ratings() RETURNS TABLE (author int, rating numeric) LANGUAGE sql STABLE
		AS 'SELECT author_id, rating FROM posts';`)
	run(t, e, []scenario{
		{name: "count()", call: call{path: "/posts?select=count()"}, status: 200, body: `[{"count":4}]`},
		{name: "alias and cast", call: call{path: "/posts?select=n:count()::text"}, status: 200, body: `[{"n":"4"}]`},
		{name: "every function", call: call{path: "/posts?select=rating.sum(),rating.avg()::float8,rating.max(),rating.min(),rating.count()"}, status: 200,
			body: `[{"sum":12.6,"avg":4.2,"max":4.9,"min":3.2,"count":3}]`},
		{name: "grouped by the other columns", call: call{path: "/posts?select=author_id,total:rating.sum(),count()&order=author_id"}, status: 200,
			body: `[{"author_id":1,"total":9.4,"count":2},{"author_id":2,"total":3.2,"count":1},{"author_id":3,"total":null,"count":1}]`},
		{name: "grouped by an alias and a cast column", call: call{path: "/posts?select=a:author_id::text,id.count()&author_id=eq.1"}, status: 200,
			body: `[{"a":"1","count":2}]`},
		{name: "filters apply before grouping", call: call{path: "/posts?select=published,count()&rating=gt.4&order=published"}, status: 200,
			body: `[{"published":true,"count":2}]`},
		{name: "in an embed", call: call{path: "/authors?select=name,posts!author_id(id.sum(),c:count())&order=id"}, status: 200,
			body: `[{"name":"Ada","posts":[{"sum":3,"c":2}]},{"name":"Grace","posts":[{"sum":3,"c":1}]},{"name":"Linus","posts":[{"sum":4,"c":1}]}]`},
		{name: "ordering by a column that is not grouped is PostgreSQL's error", call: call{path: "/posts?select=authors!author_id(name),count()&order=author_id"},
			status: 400, code: "42803"},
		{name: "grouped by a to-one embed", call: call{path: "/posts?select=count(),authors!author_id(name)&author_id=lt.3"}, status: 200,
			body: `[{"count":2,"authors":{"name":"Ada"}},{"count":1,"authors":{"name":"Grace"}}]`},
		{name: "hoisted out of a spread", call: call{path: "/posts?select=published,...authors!author_id(n:count(),born.max())&author_id=lt.3&order=published"}, status: 200,
			body: `[{"published":false,"n":1,"max":"1906-12-09"},{"published":true,"n":2,"max":"1815-12-10"}]`},
		{name: "grouped by a spread's columns", call: call{path: "/posts?select=c:count(),...authors!author_id(name)&author_id=lt.3&order=authors(name)"}, status: 200,
			body: `[{"c":2,"name":"Ada"},{"c":1,"name":"Grace"}]`},
		{name: "star is grouped column by column", call: call{path: "/labels?select=*,count()&id=eq.1"}, status: 200,
			body: `[{"id":1,"label":"classic","count":1}]`},
		{name: "on an RPC's rows", call: call{path: "/rpc/ratings?select=author,rating.max()&author=lt.3&order=author"}, status: 200,
			body: `[{"author":1,"max":4.9},{"author":2,"max":3.2}]`},
		{name: "unknown column", call: call{path: "/posts?select=nope.sum()"}, status: 400, code: "42703"},
		{name: "unknown cast", call: call{path: "/posts?select=count()::nope"}, status: 400, code: "42704"},
	})
}

func TestAggregatesDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run(t, e, []scenario{
		{name: "count()", call: call{path: "/posts?select=count()"}, status: 400, code: "PGRST123"},
		{name: "in an embed", call: call{path: "/authors?select=posts!author_id(id.sum())"}, status: 400, code: "PGRST123"},
		{name: "in a spread", call: call{path: "/posts?select=...authors!author_id(id.max())"}, status: 400, code: "PGRST123"},
	})
}
