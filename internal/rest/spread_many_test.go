package rest_test

import (
	"testing"

	"github.com/goforward/goforward/internal/rest"
)

// TestSpreadToMany: spreading a to-many relationship (PostgREST 13, which Supabase runs) puts
// each of its columns in the parent as an array of that column's values, in the embed's order;
// no matching rows give empty arrays.
func TestSpreadToMany(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *rest.Config) { c.AggregatesEnabled = true })
	run(t, e, []scenario{
		{name: "one-to-many", call: call{path: "/authors?select=id,...posts!author_id(post_id:id,title)&order=id&posts.order=id.desc"}, status: 200,
			body: `[{"id":1,"post_id":[2,1],"title":["Bernoulli numbers","Notes on the Engine"]},{"id":2,"post_id":[3],"title":["Compilers"]},
				{"id":3,"post_id":[4],"title":["Kernel release"]}]`},
		{name: "no rows are empty arrays", call: call{path: "/posts?select=id,...comments(text)&id=in.(2,3)&order=id"}, status: 200,
			body: `[{"id":2,"text":[]},{"id":3,"text":["Needs work"]}]`},
		{name: "many-to-many, filtered", call: call{path: "/posts?select=id,...labels(label)&labels.id=neq.3&id=lt.3&order=id&labels.order=id"}, status: 200,
			body: `[{"id":1,"label":["classic"]},{"id":2,"label":["classic"]}]`},
		{name: "inner drops parents without rows", call: call{path: "/posts?select=id,...comments!inner(text)&order=id&comments.order=text"}, status: 200,
			body: `[{"id":1,"text":["Brilliant","Visionary"]},{"id":3,"text":["Needs work"]}]`},
		{name: "a column named like the rows", call: call{path: "/posts?select=id,...comments(j:text)&id=eq.3"}, status: 200,
			body: `[{"id":3,"j":["Needs work"]}]`},
		{name: "to-one spread and embed inside", call: call{path: "/authors?select=name,...posts!author_id(title,...authors!posts_reviewer_fk(reviewer:name),comments(text))&id=eq.1&posts.order=id"},
			status: 200, body: `[{"name":"Ada","title":["Notes on the Engine","Bernoulli numbers"],"reviewer":["Grace",null],
				"comments":[[{"text":"Brilliant"},{"text":"Visionary"}],[]]}]`},
		{name: "single object", call: call{path: "/authors?select=author:id,...posts!author_id(id)&id=eq.3",
			header: map[string]string{"Accept": "application/vnd.pgrst.object+json"}}, status: 200, body: `{"author":3,"id":[4]}`},
		{name: "the embed's null filter", call: call{path: "/posts?select=id,...comments(text)&comments=not.is.null&order=id"}, status: 200,
			body: `[{"id":1,"text":["Brilliant","Visionary"]},{"id":3,"text":["Needs work"]}]`},
		{name: "grouped under an aggregating parent", call: call{path: "/posts?select=published,n:count(),...comments(text)&id=in.(2,4)"}, status: 200,
			body: `[{"published":true,"n":2,"text":[]}]`},
		{name: "no aggregates inside", call: call{path: "/authors?select=id,...posts!author_id(id.sum())"}, status: 400, code: "PGRST127"},
	})
}
