package rest_test

import (
	"testing"
)

// TestCountAsColumn: "count" where a relation has no such column counts its rows, as in
// PostgREST (PostgreSQL reads t.count as count(t)), with aggregates disabled too: Supabase's
// docs show select('name, posts(count)').
func TestCountAsColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE TABLE tallies (id int PRIMARY KEY, count int); INSERT INTO tallies VALUES (1, 7);`)
	run(t, e, []scenario{
		{name: "to-many embed", call: call{path: "/authors?select=name,posts!author_id(count)&order=id"}, status: 200,
			body: `[{"name":"Ada","posts":[{"count":2}]},{"name":"Grace","posts":[{"count":1}]},{"name":"Linus","posts":[{"count":1}]}]`},
		{name: "filtered embed with an alias and a cast", call: call{path: "/posts?select=id,comments(n:count::text)&comments.text=neq.Visionary&id=lt.3&order=id"}, status: 200,
			body: `[{"id":1,"comments":[{"n":"1"}]},{"id":2,"comments":[{"n":"0"}]}]`},
		{name: "top level", call: call{path: "/posts?select=count&published=is.true"}, status: 200, body: `[{"count":3}]`},
		{name: "a real column of that name wins", call: call{path: "/tallies?select=count"}, status: 200, body: `[{"count":7}]`},
		{name: "other names are columns", call: call{path: "/authors?select=name,posts!author_id(sum)"}, status: 400, code: "42703"},
		{name: "aggregate syntax stays refused", call: call{path: "/authors?select=name,posts!author_id(count())"}, status: 400, code: "PGRST123"},
	})
}
