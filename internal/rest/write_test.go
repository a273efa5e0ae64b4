package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInsert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rep := map[string]string{"Prefer": "return=representation"}
	run(t, e, []scenario{
		{name: "minimal by default", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 10, "label": "ten"}},
			status: 201, raw: "-", headers: map[string]string{"Content-Range": "*/*"}},
		{name: "representation", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 11, "label": "eleven"}, header: rep},
			status: 201, body: `[{"id":11,"label":"eleven"}]`, headers: map[string]string{"Preference-Applied": "return=representation"}},
		{name: "representation with select and embed", call: call{method: "POST", path: "/comments?select=text,posts(title)",
			body: map[string]any{"post_id": 2, "text": "Inserted"}, header: rep},
			status: 201, body: `[{"text":"Inserted","posts":{"title":"Bernoulli numbers"}}]`},
		{name: "singular representation", call: call{method: "POST", path: "/labels?select=label", body: map[string]any{"id": 12, "label": "twelve"},
			header: map[string]string{"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}},
			status: 201, body: `{"label":"twelve"}`},
		{name: "bulk with columns", call: call{method: "POST", path: `/labels?columns="id","label"`,
			body:   []map[string]any{{"id": 13, "label": "a", "ignored": 1}, {"id": 14, "label": "b"}},
			header: map[string]string{"Prefer": "return=representation,count=exact"}},
			status: 201, body: `[{"id":13,"label":"a"},{"id":14,"label":"b"}]`, headers: map[string]string{"Content-Range": "*/2"}},
		{name: "headers only gives a location", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 15, "label": "x y"},
			header: map[string]string{"Prefer": "return=headers-only"}},
			status: 201, headers: map[string]string{"Location": "/labels?id=eq.15"}},
		{name: "missing keys become null", call: call{method: "POST", path: "/counters?select=name,value,note", body: []map[string]any{{"name": "n1", "value": 1}, {"name": "n2", "value": 2, "note": "set"}}, header: rep},
			status: 201, body: `[{"name":"n1","value":1,"note":null},{"name":"n2","value":2,"note":"set"}]`},
		{name: "missing=default uses column defaults", call: call{method: "POST", path: `/counters?columns="name","value","note"&select=name,value,note`,
			body:   []map[string]any{{"name": "d1"}, {"name": "d2", "value": 7, "note": nil}},
			header: map[string]string{"Prefer": "return=representation, missing=default"}},
			status: 201, body: `[{"name":"d1","value":0,"note":"fresh"},{"name":"d2","value":7,"note":null}]`,
			headers: map[string]string{"Preference-Applied": "missing=default, return=representation"}},
		{name: "empty object inserts defaults", call: call{method: "POST", path: "/comments", body: map[string]any{}},
			status: 400, code: "23502"},
		{name: "unknown column in body", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 16, "nope": 1}},
			status: 400, code: "PGRST204"},
		{name: "unknown column in columns", call: call{method: "POST", path: "/labels?columns=id,nope", body: map[string]any{"id": 16}},
			status: 400, code: "PGRST204"},
		{name: "invalid json", call: call{method: "POST", path: "/labels", body: `{"id": `}, status: 400, code: "PGRST102"},
		{name: "empty body", call: call{method: "POST", path: "/labels", body: ` `}, status: 400, code: "PGRST102"},
		{name: "unique violation", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 1, "label": "dup"}},
			status: 409, code: "23505"},
		{name: "foreign key violation", call: call{method: "POST", path: "/comments", body: map[string]any{"post_id": 99, "text": "orphan"}},
			status: 409, code: "23503"},
		{name: "not null violation", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 17}},
			status: 400, code: "23502"},
		{name: "bad value", call: call{method: "POST", path: "/labels", body: map[string]any{"id": "x", "label": "y"}},
			status: 400, code: "22P02"},
		{name: "other schema by content profile", call: call{method: "POST", path: "/things", body: map[string]any{"id": 2, "name": "posted"},
			header: map[string]string{"Prefer": "return=representation", "Content-Profile": "other"}},
			status: 201, body: `[{"id":2,"name":"posted"}]`},
		{name: "accept profile does not choose a write's schema", call: call{method: "POST", path: "/things", body: map[string]any{"id": 3, "name": "lost"},
			header: map[string]string{"Accept-Profile": "other"}},
			status: 404, code: "PGRST205"},
		{name: "unknown content profile", call: call{method: "POST", path: "/things", body: map[string]any{"id": 4, "name": "lost"},
			header: map[string]string{"Content-Profile": "secret"}},
			status: 406, code: "PGRST106"},
		{name: "resolution without a conflict target is a plain insert", call: call{method: "POST", path: "/numbers_table", body: map[string]any{"n": 1},
			header: map[string]string{"Prefer": "resolution=merge-duplicates, return=minimal"}},
			status: 201, headers: map[string]string{"Preference-Applied": "return=minimal"}},
		{name: "tx=rollback", call: call{method: "POST", path: "/labels", body: map[string]any{"id": 18, "label": "gone"},
			header: map[string]string{"Prefer": "return=representation, tx=rollback"}},
			status: 201, body: `[{"id":18,"label":"gone"}]`},
	})
	t.Run("row posted to another schema is there", func(t *testing.T) {
		r := e.do(t, call{path: "/things?id=eq.2", header: map[string]string{"Accept-Profile": "other"}})
		require.Equal(t, jsonText(t, `[{"id":2,"name":"posted"}]`), jsonOf(t, r))
	})
	t.Run("rolled back row is absent", func(t *testing.T) {
		r := e.do(t, call{path: "/labels?id=eq.18"})
		require.Equal(t, `[]`, string(r.Body))
	})
}

// TestInvalidBody checks PGRST102's whole body against PostgREST's: a fixed message and no
// parser details.
func TestInvalidBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		call    call
		message string
	}{
		{call{method: "POST", path: "/labels", body: `{"id": `}, "Empty or invalid json"},
		{call{method: "POST", path: "/labels", body: `{"id": 1} trailing`}, "Empty or invalid json"},
		{call{method: "PATCH", path: "/labels?id=eq.1", body: `{"label": tru}`}, "Empty or invalid json"},
		{call{method: "POST", path: "/rpc/add", body: `{"a": }`}, "Empty or invalid json"},
		{call{method: "POST", path: "/labels", body: `[{"id": 1}, 2]`}, "All object keys must match"},
	} {
		r := e.do(t, c.call)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.JSONEq(t, `{"code":"PGRST102","details":null,"hint":null,"message":"`+c.message+`"}`, string(r.Body))
	}
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, call{method: "POST", path: "/labels", body: []map[string]any{{"id": 1, "label": "CLASSIC"}, {"id": 20, "label": "new"}},
		header: map[string]string{"Prefer": "return=representation, resolution=merge-duplicates"}})
	require.Equal(t, http.StatusCreated, r.Status, "an upsert that inserts a row is 201: %s", r.Body)
	require.Equal(t, jsonText(t, `[{"id":1,"label":"CLASSIC"},{"id":20,"label":"new"}]`), jsonOf(t, r))
	require.Equal(t, "resolution=merge-duplicates, return=representation", r.Header.Get("Preference-Applied"))

	r = e.do(t, call{method: "POST", path: "/labels", body: []map[string]any{{"id": 1, "label": "Classic"}, {"id": 20, "label": "newer"}},
		header: map[string]string{"Prefer": "return=representation, resolution=merge-duplicates"}})
	require.Equal(t, http.StatusOK, r.Status, "an upsert that only updates is 200: %s", r.Body)
	require.Equal(t, jsonText(t, `[{"id":1,"label":"Classic"},{"id":20,"label":"newer"}]`), jsonOf(t, r))

	r = e.do(t, call{method: "POST", path: "/labels", body: []map[string]any{},
		header: map[string]string{"Prefer": "resolution=merge-duplicates"}})
	require.Equal(t, http.StatusOK, r.Status, "an upsert of nothing inserts nothing: %s", r.Body)

	r = e.do(t, call{method: "POST", path: "/labels", body: []map[string]any{{"id": 2, "label": "ignored"}, {"id": 21, "label": "added"}},
		header: map[string]string{"Prefer": "return=representation, resolution=ignore-duplicates"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, jsonText(t, `[{"id":21,"label":"added"}]`), jsonOf(t, r))

	// on_conflict names a unique column other than the primary key.
	r = e.do(t, call{method: "POST", path: "/counters?on_conflict=name", body: map[string]any{"name": "c", "value": 1}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = e.do(t, call{method: "POST", path: "/counters?on_conflict=name&select=name,value", body: map[string]any{"name": "c", "value": 5},
		header: map[string]string{"Prefer": "return=representation, resolution=merge-duplicates"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, jsonText(t, `[{"name":"c","value":5}]`), jsonOf(t, r))

	r = e.do(t, call{path: "/labels?select=id,label&id=in.(1,2,20,21)&order=id"})
	require.Equal(t, jsonText(t, `[{"id":1,"label":"Classic"},{"id":2,"label":"draft"},{"id":20,"label":"newer"},{"id":21,"label":"added"}]`), jsonOf(t, r))
}

func TestUpdateAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	run(t, e, []scenario{
		{name: "patch minimal", call: call{method: "PATCH", path: "/labels?id=eq.1", body: map[string]any{"label": "one"}},
			status: 204, headers: map[string]string{"Content-Range": "0-0/*"}},
		{name: "patch representation with count", call: call{method: "PATCH", path: "/posts?select=id,published&author_id=eq.1&order=id",
			body: map[string]any{"published": false}, header: map[string]string{"Prefer": "return=representation, count=exact"}},
			status: 200, body: `[{"id":1,"published":false},{"id":2,"published":false}]`, headers: map[string]string{"Content-Range": "0-1/2"}},
		{name: "patch matching nothing", call: call{method: "PATCH", path: "/labels?id=eq.999", body: map[string]any{"label": "x"},
			header: map[string]string{"Prefer": "return=representation"}}, status: 200, body: `[]`},
		{name: "patch without filters is refused", call: call{method: "PATCH", path: "/labels", body: map[string]any{"label": "all"}},
			status: 400, code: "21000"},
		{name: "patch unknown column", call: call{method: "PATCH", path: "/labels?id=eq.1", body: map[string]any{"nope": 1}},
			status: 400, code: "PGRST204"},
		{name: "delete without filters is refused", call: call{method: "DELETE", path: "/labels"}, status: 400, code: "21000"},
		{name: "delete representation", call: call{method: "DELETE", path: "/comments?select=text&text=eq.Needs work",
			header: map[string]string{"Prefer": "return=representation, count=exact"}}, status: 200, body: `[{"text":"Needs work"}]`,
			headers: map[string]string{"Content-Range": "*/1", "Preference-Applied": "return=representation, count=exact"}},
		{name: "delete minimal", call: call{method: "DELETE", path: "/post_labels?post_id=eq.2"}, status: 204,
			headers: map[string]string{"Content-Range": "*/*"}},
		{name: "singular patch of many rows is refused and undone", call: call{method: "PATCH", path: "/authors?id=in.(2,3)",
			body: map[string]any{"email": "same@example.com"}, header: map[string]string{"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}},
			status: 406, code: "PGRST116"},
		{name: "max-affected exceeded is refused and undone", call: call{method: "PATCH", path: "/posts?id=gt.0", body: map[string]any{"body": "x"},
			header: map[string]string{"Prefer": "handling=strict, max-affected=1"}}, status: 400, code: "PGRST124"},
		{name: "max-affected respected", call: call{method: "PATCH", path: "/labels?id=eq.3", body: map[string]any{"label": "hot"},
			header: map[string]string{"Prefer": "handling=strict, max-affected=1, return=minimal, tx=commit"}}, status: 204,
			headers: map[string]string{"Preference-Applied": "return=minimal, tx=commit, handling=strict, max-affected=1"}},
	})
	t.Run("effects", func(t *testing.T) {
		r := e.do(t, call{path: "/authors?select=email&id=in.(2,3)&order=id"})
		require.Equal(t, jsonText(t, `[{"email":"grace@example.com"},{"email":null}]`), jsonOf(t, r), "the singular patch was rolled back")
		r = e.do(t, call{path: "/posts?select=id&body=eq.x"})
		require.Equal(t, jsonText(t, `[]`), jsonOf(t, r), "max-affected rolled the update back")
	})
}

func TestPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rep := map[string]string{"Prefer": "return=representation"}
	run(t, e, []scenario{
		{name: "insert through put", call: call{method: "PUT", path: "/labels?id=eq.30", body: map[string]any{"id": 30, "label": "thirty"}, header: rep},
			status: 201, body: `[{"id":30,"label":"thirty"}]`, headers: map[string]string{"Content-Range": "", "Preference-Applied": "return=representation"}},
		{name: "replace through put", call: call{method: "PUT", path: "/labels?id=eq.2", body: map[string]any{"id": 2, "label": "final"}},
			status: 204, headers: map[string]string{"Content-Range": ""}},
		{name: "replace through put with representation", call: call{method: "PUT", path: "/labels?id=eq.3", body: map[string]any{"id": 3, "label": "third"}, header: rep},
			status: 200, body: `[{"id":3,"label":"third"}]`, headers: map[string]string{"Content-Range": ""}},
		{name: "put needs primary key filters", call: call{method: "PUT", path: "/labels?label=eq.x", body: map[string]any{"id": 2, "label": "x"}},
			status: 405, code: "PGRST105"},
		{name: "put refuses other operators", call: call{method: "PUT", path: "/labels?id=gt.2", body: map[string]any{"id": 3, "label": "x"}},
			status: 405, code: "PGRST105"},
		{name: "put with limit", call: call{method: "PUT", path: "/labels?id=eq.2&limit=1", body: map[string]any{"id": 2, "label": "x"}},
			status: 400, code: "PGRST114"},
		{name: "put with a mismatched key", call: call{method: "PUT", path: "/labels?id=eq.2", body: map[string]any{"id": 3, "label": "x"}},
			status: 400, code: "PGRST115"},
	})
	r := e.do(t, call{path: "/labels?id=in.(2,3,30)&order=id"})
	require.Equal(t, jsonText(t, `[{"id":2,"label":"final"},{"id":3,"label":"third"},{"id":30,"label":"thirty"}]`), jsonOf(t, r))
}
