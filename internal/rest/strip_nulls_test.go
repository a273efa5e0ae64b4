package rest_test

import (
	"testing"
)

func TestStripNulls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `UPDATE authors SET meta = '{"lang": "fi", "nick": null, "langs": ["fi", null]}' WHERE id = 3`)
	const (
		array        = "application/vnd.pgrst.array+json;nulls=stripped"
		object       = "application/vnd.pgrst.object+json;nulls=stripped"
		arrayType    = "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8"
		objectType   = "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"
		jsonType     = "application/json; charset=utf-8"
		embedColumns = "/posts?select=id,body,rating,author:authors!author_id(name,email,born),reviewer:authors!posts_reviewer_fk(name),comments(text)"
	)
	accept := func(v string) map[string]string { return map[string]string{"Accept": v} }
	run(t, e, []scenario{
		{name: "array", call: call{path: "/authors?select=id,email,born&id=lt.10&order=id", header: accept(array)}, status: 200,
			body:    `[{"id":1,"email":"ada@example.com","born":"1815-12-10"},{"id":2,"email":"grace@example.com","born":"1906-12-09"},{"id":3}]`,
			headers: map[string]string{"Content-Type": arrayType}},
		{name: "array with a space before the parameter", call: call{path: "/authors?select=id,email&id=eq.3", header: accept("application/vnd.pgrst.array+json; nulls=stripped")},
			status: 200, body: `[{"id":3}]`, headers: map[string]string{"Content-Type": arrayType}},
		{name: "object", call: call{path: "/authors?select=id,email,born&id=eq.3", header: accept(object)}, status: 200,
			body: `{"id":3}`, headers: map[string]string{"Content-Type": objectType}},
		{name: "object of many rows", call: call{path: "/authors?select=id", header: accept(object)}, status: 406, code: "PGRST116"},
		{name: "nested embeds lose their null keys too", call: call{path: embedColumns + "&id=eq.4", header: accept(array)}, status: 200,
			body: `[{"id":4,"author":{"name":"Linus"},"comments":[]}]`, headers: map[string]string{"Content-Type": arrayType}},
		{name: "nested arrays of objects", call: call{path: "/authors?select=id,posts!author_id(id,body)&id=eq.3", header: accept(object)}, status: 200,
			body: `{"id":3,"posts":[{"id":4}]}`},
		{name: "json columns are stripped inside, null array elements stay", call: call{path: "/authors?select=id,meta&id=eq.3", header: accept(object)}, status: 200,
			body: `{"id":3,"meta":{"lang":"fi","langs":["fi",null]}}`},
		{name: "plain json keeps nulls", call: call{path: embedColumns + "&id=eq.4", header: accept("application/json")}, status: 200,
			body:    `[{"id":4,"body":null,"rating":null,"author":{"name":"Linus","email":null,"born":null},"reviewer":null,"comments":[]}]`,
			headers: map[string]string{"Content-Type": jsonType}},
		{name: "the parameter on plain json is ignored", call: call{path: "/authors?select=id,email&id=eq.3", header: accept("application/json;nulls=stripped")}, status: 200,
			body: `[{"id":3,"email":null}]`, headers: map[string]string{"Content-Type": jsonType}},
		{name: "vendor array without the parameter keeps nulls", call: call{path: "/authors?select=id,email&id=eq.3", header: accept("application/vnd.pgrst.array+json")},
			status: 200, body: `[{"id":3,"email":null}]`},
		{name: "rpc rows", call: call{path: "/rpc/posts_by?author=3&select=id,body,rating", header: accept(array)}, status: 200,
			body: `[{"id":4}]`, headers: map[string]string{"Content-Type": arrayType}},
		{name: "write representation", call: call{method: "POST", path: "/authors?select=id,name,email", body: map[string]any{"id": 40, "name": "Edsger"},
			header: map[string]string{"Accept": array, "Prefer": "return=representation"}}, status: 201,
			body: `[{"id":40,"name":"Edsger"}]`, headers: map[string]string{"Content-Type": arrayType}},
	})
}
