package pgmeta_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestItemShapes reads one item of every resource that has a single-item route and checks its
// fields against what the fixture created, and its keys against postgres-meta's order.
func TestItemShapes(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	authors := h.oid(t, "'public.authors'::regclass")
	posts := h.oid(t, "'public.posts'::regclass")
	cases := []struct {
		name string
		path string
		keys []string
		want object // fields that must have these values
	}{
		{
			name: "column", path: fmt.Sprintf("/pg/columns/%d.4", authors),
			keys: []string{"table_id", "schema", "table", "id", "ordinal_position", "name", "default_value", "data_type", "format",
				"is_identity", "identity_generation", "is_generated", "is_nullable", "is_updatable", "is_unique", "enums", "check", "comment",
				"is_rich_text", "is_file_reference", "is_json", "is_array", "array_element_type"},
			want: object{"table_id": authors, "schema": "public", "table": "authors", "id": fmt.Sprintf("%d.4", authors),
				"ordinal_position": 4, "name": "mood", "data_type": "USER-DEFINED", "format": "mood", "enums": []string{"sad", "ok", "happy"},
				"is_nullable": true, "is_json": false, "is_array": false},
		},
		{
			name: "identity column", path: fmt.Sprintf("/pg/columns/%d.1", authors),
			want: object{"name": "id", "is_identity": true, "identity_generation": "ALWAYS", "is_nullable": false, "data_type": "bigint", "format": "int8"},
		},
		{
			name: "unique column", path: fmt.Sprintf("/pg/columns/%d.3", authors),
			want: object{"name": "email", "is_unique": true, "comment": nil},
		},
		{
			name: "array column", path: fmt.Sprintf("/pg/columns/%d.5", authors),
			want: object{"name": "tags", "data_type": "ARRAY", "format": "_text", "is_array": true, "array_element_type": "text", "default_value": "'{}'::text[]"},
		},
		{
			name: "json column", path: fmt.Sprintf("/pg/columns/%d.6", authors),
			want: object{"name": "profile", "data_type": "jsonb", "is_json": true, "is_rich_text": false, "is_file_reference": false},
		},
		{
			name: "check and comment", path: fmt.Sprintf("/pg/columns/%d.2", authors),
			want: object{"name": "name", "comment": "Display name", "check": nil},
		},
		{
			name: "column check", path: fmt.Sprintf("/pg/columns/%d.7", authors),
			want: object{"name": "age", "check": "age > 0"},
		},
		{
			name: "view", path: fmt.Sprintf("/pg/views/%d", h.oid(t, "'public.post_titles'::regclass")),
			keys: []string{"id", "schema", "name", "is_updatable", "comment", "columns"},
			want: object{"schema": "public", "name": "post_titles", "is_updatable": true, "comment": nil},
		},
		{
			name: "materialized view", path: fmt.Sprintf("/pg/materialized-views/%d", h.oid(t, "'public.author_counts'::regclass")),
			keys: []string{"id", "schema", "name", "is_populated", "comment", "columns"},
			want: object{"name": "author_counts", "is_populated": true},
		},
		{
			name: "schema", path: fmt.Sprintf("/pg/schemas/%d", h.oid(t, "'app'::regnamespace")),
			keys: []string{"id", "name", "owner"},
			want: object{"name": "app", "owner": "postgres"},
		},
		{
			name: "extension", path: "/pg/extensions/plpgsql",
			keys: []string{"name", "schema", "default_version", "installed_version", "comment"},
			want: object{"name": "plpgsql", "schema": "pg_catalog", "installed_version": "1.0"},
		},
		{
			name: "function", path: fmt.Sprintf("/pg/functions/%d", h.oid(t, "'public.add'::regproc")),
			keys: []string{"id", "schema", "name", "language", "definition", "complete_statement", "args", "argument_types",
				"identity_argument_types", "return_type_id", "return_type", "return_type_relation_id", "is_set_returning_function",
				"prorows", "behavior", "security_definer", "config_params"},
			want: object{"name": "add", "language": "sql", "definition": "SELECT a + b", "behavior": "IMMUTABLE",
				"argument_types": "a integer, b integer DEFAULT 1", "identity_argument_types": "a integer, b integer",
				"return_type": "integer", "return_type_id": 23, "return_type_relation_id": nil, "is_set_returning_function": false,
				"prorows": nil, "security_definer": false, "config_params": nil,
				"args": []object{
					{"mode": "in", "name": "a", "type_id": 23, "has_default": false},
					{"mode": "in", "name": "b", "type_id": 23, "has_default": true},
				}},
		},
		{
			name: "set-returning function", path: fmt.Sprintf("/pg/functions/%d", h.oid(t, "'public.titles_of'::regproc")),
			want: object{"return_type": "SETOF posts", "return_type_relation_id": posts, "is_set_returning_function": true,
				"prorows": 1000, "behavior": "STABLE", "config_params": object{"search_path": "public"}},
		},
		{
			name: "trigger", path: fmt.Sprintf("/pg/triggers/%d", h.oid(t, "(SELECT oid FROM pg_trigger WHERE tgname = 'posts_touch')")),
			keys: []string{"id", "table_id", "enabled_mode", "name", "table", "schema", "condition", "orientation", "activation",
				"events", "function_schema", "function_name", "function_args"},
			want: object{"table_id": posts, "enabled_mode": "ORIGIN", "name": "posts_touch", "table": "posts", "schema": "public",
				"condition": "(new.title IS NOT NULL)", "orientation": "ROW", "activation": "BEFORE", "events": []string{"INSERT", "UPDATE"},
				"function_schema": "public", "function_name": "touch", "function_args": []string{"a", "b"}},
		},
		{
			name: "policy", path: fmt.Sprintf("/pg/policies/%d", h.oid(t, "(SELECT oid FROM pg_policy WHERE polname = 'posts_write')")),
			keys: []string{"id", "schema", "table", "table_id", "name", "action", "roles", "command", "definition", "check"},
			want: object{"table": "posts", "table_id": posts, "name": "posts_write", "action": "RESTRICTIVE", "roles": []string{"public"},
				"command": "INSERT", "definition": nil, "check": "(title <> ''::text)"},
		},
		{
			name: "publication", path: fmt.Sprintf("/pg/publications/%d", h.oid(t, "(SELECT oid FROM pg_publication WHERE pubname = 'pub_posts')")),
			keys: []string{"id", "name", "owner", "publish_insert", "publish_update", "publish_delete", "publish_truncate", "tables"},
			want: object{"name": "pub_posts", "owner": "postgres", "publish_insert": true, "publish_truncate": true,
				"tables": []object{{"id": authors, "name": "authors", "schema": "public"}, {"id": posts, "name": "posts", "schema": "public"}}},
		},
		{
			name: "role", path: fmt.Sprintf("/pg/roles/%d", h.oid(t, "'service_role'::regrole")),
			keys: []string{"id", "name", "is_superuser", "can_create_db", "can_create_role", "inherit_role", "can_login",
				"is_replication_role", "can_bypass_rls", "active_connections", "connection_limit", "password", "valid_until", "config"},
			want: object{"name": "service_role", "is_superuser": false, "can_login": false, "can_bypass_rls": true, "password": "********", "valid_until": nil},
		},
		{
			name: "index", path: fmt.Sprintf("/pg/indexes/%d", h.oid(t, "'public.posts_title_idx'::regclass")),
			keys: []string{"id", "table_id", "schema", "number_of_attributes", "number_of_key_attributes", "is_unique", "is_primary",
				"is_exclusion", "is_immediate", "is_clustered", "is_valid", "check_xmin", "is_ready", "is_live", "is_replica_identity",
				"key_attributes", "collation", "class", "options", "index_predicate", "comment", "index_definition", "access_method", "index_attributes"},
			want: object{"table_id": posts, "schema": "public", "is_unique": false, "is_primary": false, "key_attributes": []int{0},
				"index_predicate": "(body IS NOT NULL)", "access_method": "btree",
				"index_definition": "CREATE INDEX posts_title_idx ON public.posts USING btree (lower(title)) WHERE (body IS NOT NULL)",
				"index_attributes": []object{{"attribute_number": 0, "attribute_name": "lower", "data_type": "text"}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.get(t, tc.path)
			require.Equal(t, 200, res.Status, "%s", res.Body)
			if tc.keys != nil {
				assert.Equal(t, tc.keys, keys(t, res.Body))
			}
			var got object
			res.JSON(t, &got)
			for k, v := range tc.want {
				assert.True(t, jsonEqual(v, got[k]), "%s: want %v, got %v", k, v, got[k])
			}
		})
	}
}

// TestLists checks the lists that have no single-item route.
func TestLists(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	profiles := h.oid(t, "'public.profiles'::regclass")

	var types []object
	h.getJSON(t, "/pg/types?included_schemas=public", &types)
	assert.Equal(t, object{"id": types[0]["id"], "name": "mood", "schema": "public", "format": "mood",
		"enums": []any{"sad", "ok", "happy"}, "attributes": []any{}, "comment": nil, "type_relation_id": nil},
		find(t, types, object{"name": "mood"}))
	point := find(t, types, object{"name": "point2"})
	assert.Equal(t, []any{object{"name": "x", "type_id": float64(701)}, object{"name": "y", "type_id": float64(701)}}, point["attributes"])
	h.getJSON(t, "/pg/types?included_schemas=public&include_array_types=true", &types)
	find(t, types, object{"name": "_mood"})

	var privs []object
	h.getJSON(t, "/pg/table-privileges?included_schemas=public", &privs)
	a := find(t, privs, object{"name": "authors"})
	assert.Equal(t, "table", a["kind"])
	assert.Contains(t, a["privileges"], object{"grantor": "postgres", "grantee": "anon", "privilege_type": "SELECT", "is_grantable": false})
	assert.Equal(t, "materialized_view", find(t, privs, object{"name": "author_counts"})["kind"])

	var colPrivs []object
	h.getJSON(t, "/pg/column-privileges?included_schemas=public", &colPrivs)
	bio := find(t, colPrivs, object{"column_id": fmt.Sprintf("%d.2", profiles)})
	assert.Equal(t, "profiles", bio["relation_name"])
	assert.Equal(t, "bio", bio["column_name"])
	assert.Contains(t, bio["privileges"], object{"grantor": "postgres", "grantee": "authenticated", "privilege_type": "UPDATE", "is_grantable": false})

	var settings []object
	h.getJSON(t, "/pg/config?limit=500", &settings)
	wal := find(t, settings, object{"name": "wal_level"})
	assert.Equal(t, "logical", wal["setting"])
	assert.Equal(t, "Write-Ahead Log", wal["group"])

	var version object
	h.getJSON(t, "/pg/config/version", &version)
	assert.Contains(t, version["version"], "PostgreSQL")
	assert.GreaterOrEqual(t, version["version_number"], float64(150000))
	assert.Greater(t, version["max_connections"], float64(0))

	var roles []object
	h.getJSON(t, "/pg/roles", &roles)
	find(t, roles, object{"name": "authenticator"})
	for _, r := range roles {
		assert.NotRegexp(t, "^pg_", r["name"])
	}
	h.getJSON(t, "/pg/roles?include_default_roles=true", &roles)
	find(t, roles, object{"name": "pg_read_all_data"})

	var schemas []object
	h.getJSON(t, "/pg/schemas", &schemas)
	for _, s := range schemas {
		assert.NotContains(t, []string{"pg_catalog", "information_schema", "pg_toast"}, s["name"])
	}
	h.getJSON(t, "/pg/schemas?include_system_schemas=true", &schemas)
	find(t, schemas, object{"name": "pg_catalog"})

	var columns []object
	h.getJSON(t, fmt.Sprintf("/pg/columns/%d", profiles), &columns)
	require.Len(t, columns, 2)
	assert.Equal(t, "author_id", columns[0]["name"])
}

// TestErrors covers postgres-meta's error answers: 404 with "Cannot find …" for an unknown
// id, 400 for a malformed query parameter, each as {"error": "…"}.
func TestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		path   string
		status int
		error  string
	}{
		{"/pg/tables/999999999", 404, "Cannot find a table with ID 999999999"},
		{"/pg/tables/abc", 404, "Cannot find a table with ID abc"},
		{"/pg/columns/999999999.1", 404, "Cannot find a column with ID 999999999.1"},
		{"/pg/views/1", 404, "Cannot find a view with ID 1"},
		{"/pg/extensions/nosuch", 404, "Cannot find an extension named nosuch"},
		{"/pg/functions/1", 404, "Cannot find a function with ID 1"},
		{"/pg/roles/1", 404, "Cannot find a role with ID 1"},
		{"/pg/tables?limit=abc", 400, `querystring/limit must be a non-negative integer (got "abc")`},
		{"/pg/tables?offset=-1", 400, `querystring/offset must be a non-negative integer (got "-1")`},
		{"/pg/tables?include_columns=maybe", 400, `querystring/include_columns must be boolean (got "maybe")`},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res := h.get(t, tc.path)
			assert.Equal(t, tc.status, res.Status)
			var body object
			res.JSON(t, &body)
			assert.Equal(t, object{"error": tc.error}, body)
		})
	}
}

// TestColumnKinds: columns of the goforward.rich_text and goforward.file_reference domains
// (migration 0012) are reported as such, and POST /pg/columns creates them.
func TestColumnKinds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.docs (body goforward.rich_text, attachment goforward.file_reference, meta json, tags int[])`)
	table := h.oid(t, "'public.docs'::regclass")
	var cols []object
	h.getJSON(t, fmt.Sprintf("/pg/columns/%d", table), &cols)
	require.Len(t, cols, 4)
	kinds := func(c object) []any {
		return []any{c["is_rich_text"], c["is_file_reference"], c["is_json"], c["is_array"], c["array_element_type"]}
	}
	assert.Equal(t, []any{true, false, true, false, nil}, kinds(cols[0]))
	assert.Equal(t, "jsonb", cols[0]["format"])
	assert.Equal(t, []any{false, true, true, false, nil}, kinds(cols[1]))
	assert.Equal(t, []any{false, false, true, false, nil}, kinds(cols[2]))
	assert.Equal(t, []any{false, false, false, true, "integer"}, kinds(cols[3]))

	for _, typ := range []string{"goforward.rich_text", "goforward.file_reference"} {
		name := strings.TrimPrefix(typ, "goforward.") + "_col"
		created := h.sendOK(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": name, "type": typ, "is_nullable": false,
			"default_value": map[string]string{"goforward.rich_text": `{"html": "", "text": ""}`,
				"goforward.file_reference": `{"file_id": "none", "url": "", "filename": "", "size": 0, "mime_type": "application/octet-stream"}`}[typ]})
		assert.Equal(t, typ == "goforward.rich_text", created["is_rich_text"], typ)
		assert.Equal(t, typ == "goforward.file_reference", created["is_file_reference"], typ)
		assert.Equal(t, true, created["is_json"])
		assert.Equal(t, false, created["is_nullable"])
	}
}

// TestForeignTables: foreign tables in postgres-meta's shape, with their columns unless
// include_columns=false, filtered by schema, and a 404 for an id that is not one.
func TestForeignTables(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// postgres_fdw connects only when the table is read. A wrapper without a handler cannot
	// say whether its tables are updatable, and must not fail the lists.
	h.exec(t, `CREATE EXTENSION postgres_fdw;
CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'localhost', dbname 'elsewhere');
CREATE FOREIGN TABLE public.remote_people (id int NOT NULL, name text) SERVER elsewhere;
COMMENT ON FOREIGN TABLE public.remote_people IS 'Kept elsewhere';
CREATE FOREIGN DATA WRAPPER nowhere_fdw; CREATE SERVER nowhere FOREIGN DATA WRAPPER nowhere_fdw;
CREATE SCHEMA other; CREATE FOREIGN TABLE other.remote_other (id int) SERVER nowhere`)
	id := h.oid(t, "'public.remote_people'::regclass")

	res := h.get(t, fmt.Sprintf("/pg/foreign-tables/%d", id))
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, []string{"id", "schema", "name", "comment", "columns"}, keys(t, res.Body))
	var item object
	res.JSON(t, &item)
	assert.True(t, jsonEqual(object{"id": id, "schema": "public", "name": "remote_people", "comment": "Kept elsewhere"},
		object{"id": item["id"], "schema": item["schema"], "name": item["name"], "comment": item["comment"]}), "%v", item)
	columns := item["columns"].([]any)
	require.Len(t, columns, 2)
	assert.Equal(t, "id", columns[0].(object)["name"])
	assert.Equal(t, false, columns[0].(object)["is_nullable"])
	assert.Equal(t, "name", columns[1].(object)["name"])
	assert.Equal(t, true, columns[1].(object)["is_updatable"])

	var list []object
	h.getJSON(t, "/pg/foreign-tables?included_schemas=public", &list)
	require.Len(t, list, 1)
	assert.Equal(t, "remote_people", list[0]["name"])
	// Fresh slices: decoding into a used one would merge into its old objects.
	var bare []object
	h.getJSON(t, "/pg/foreign-tables?included_schemas=other&include_columns=false", &bare)
	require.Len(t, bare, 1)
	assert.Equal(t, "remote_other", bare[0]["name"])
	assert.NotContains(t, bare[0], "columns")
	var other []object
	h.getJSON(t, "/pg/foreign-tables?included_schemas=other", &other)
	require.Len(t, other, 1)
	assert.Equal(t, false, other[0]["columns"].([]any)[0].(object)["is_updatable"])
	var columnList []object
	h.getJSON(t, "/pg/columns?included_schemas=other", &columnList)
	assert.Len(t, columnList, 1)

	// A table's id names no foreign table.
	h.exec(t, "CREATE TABLE public.local_people (id int)")
	res = h.get(t, fmt.Sprintf("/pg/foreign-tables/%d", h.oid(t, "'public.local_people'::regclass")))
	assert.Equal(t, 404, res.Status, "%s", res.Body)
}
