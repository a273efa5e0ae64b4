package pgmeta_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSchemaAndExtensionChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sc := h.sendOK(t, "POST", "/pg/schemas", map[string]any{"name": "billing"})
	assert.Equal(t, object{"id": sc["id"], "name": "billing", "owner": "postgres"}, sc)
	id := int64(sc["id"].(float64))
	renamed := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/schemas/%d", id), map[string]any{"name": "invoices", "owner": "service_role"})
	assert.Equal(t, "invoices", renamed["name"])
	assert.Equal(t, "service_role", renamed["owner"])
	h.exec(t, `CREATE TABLE invoices.lines (id int)`)
	res := h.send(t, "DELETE", fmt.Sprintf("/pg/schemas/%d", id), nil)
	assert.Equal(t, 400, res.Status, "RESTRICT refuses a schema that holds objects")
	gone := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/schemas/%d?cascade=true", id), nil)
	assert.Equal(t, "invoices", gone["name"])
	assert.Equal(t, `DROP SCHEMA "invoices" CASCADE`, h.lastAudit(t, "meta.schema.delete").Details["sql"])

	h.exec(t, `CREATE SCHEMA extensions`)
	ext := h.sendOK(t, "POST", "/pg/extensions", map[string]any{"name": "citext", "schema": "extensions"})
	assert.Equal(t, "citext", ext["name"])
	assert.Equal(t, "extensions", ext["schema"])
	assert.NotNil(t, ext["installed_version"])
	moved := h.sendOK(t, "PATCH", "/pg/extensions/citext", map[string]any{"schema": "public"})
	assert.Equal(t, "public", moved["schema"])
	dropped := h.sendOK(t, "DELETE", "/pg/extensions/citext", nil)
	assert.Equal(t, "public", dropped["schema"])
	var installed bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citext')`).Scan(&installed))
	assert.False(t, installed)
	// Still available, so known, but not installed: PostgreSQL's refusal, as postgres-meta.
	res = h.send(t, "DELETE", "/pg/extensions/citext", nil)
	assert.Equal(t, 400, res.Status)
	res = h.send(t, "DELETE", "/pg/extensions/nosuch", nil)
	assert.Equal(t, 404, res.Status)
}

func TestPolicyChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.posts (id int, owner uuid); ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY`)
	table := h.oid(t, "'public.posts'::regclass")
	pol := h.sendOK(t, "POST", "/pg/policies", map[string]any{
		"name": "own rows", "table_id": table, "command": "UPDATE", "roles": []string{"authenticated"},
		"definition": "owner = auth.uid()", "check": "owner = auth.uid()",
	})
	assert.Equal(t, "own rows", pol["name"])
	assert.Equal(t, "UPDATE", pol["command"])
	assert.Equal(t, []any{"authenticated"}, pol["roles"])
	assert.Equal(t, "(owner = auth.uid())", pol["definition"])
	assert.Equal(t, `CREATE POLICY "own rows" ON "public"."posts" AS PERMISSIVE FOR UPDATE TO "authenticated" USING (owner = auth.uid()) WITH CHECK (owner = auth.uid())`,
		h.lastAudit(t, "meta.policy.create").Details["sql"])

	everyone := h.sendOK(t, "POST", "/pg/policies", map[string]any{"name": "read", "table": "posts", "schema": "public", "command": "SELECT", "definition": "true"})
	assert.Equal(t, []any{"public"}, everyone["roles"], "roles default to PUBLIC")

	id := int64(pol["id"].(float64))
	upd := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/policies/%d", id), map[string]any{"name": "mine", "roles": []string{"anon", "authenticated"}, "definition": "true"})
	assert.Equal(t, "mine", upd["name"])
	assert.Equal(t, []any{"anon", "authenticated"}, upd["roles"])
	assert.Equal(t, "true", upd["definition"])

	res := h.send(t, "POST", "/pg/policies", map[string]any{"name": "bad", "table_id": table, "definition": "nosuch_column = 1"})
	assert.Equal(t, 400, res.Status)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, `column "nosuch_column" does not exist`, body["error"])

	gone := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/policies/%d", id), nil)
	assert.Equal(t, "mine", gone["name"])
	var left int
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_policy WHERE polrelid = $1`, table).Scan(&left))
	assert.Equal(t, 1, left)
}

func TestTriggerAndFunctionChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.posts (id int, title text, updated_at timestamptz)`)
	table := h.oid(t, "'public.posts'::regclass")

	fn := h.sendOK(t, "POST", "/pg/functions", map[string]any{
		"name": "stamp", "return_type": "trigger", "language": "plpgsql",
		"definition": "BEGIN NEW.updated_at := now(); RETURN NEW; END",
	})
	assert.Equal(t, "stamp", fn["name"])
	assert.Equal(t, "trigger", fn["return_type"])
	assert.Equal(t, "VOLATILE", fn["behavior"])

	add := h.sendOK(t, "POST", "/pg/functions", map[string]any{
		"name": "add", "args": []string{"a int", "b int DEFAULT 1"}, "return_type": "int", "behavior": "IMMUTABLE",
		"definition": "SELECT a + b", "config_params": map[string]string{"search_path": "public"},
	})
	assert.Equal(t, "a integer, b integer DEFAULT 1", add["argument_types"])
	assert.Equal(t, object{"search_path": "public"}, add["config_params"])
	addID := int64(add["id"].(float64))
	// Another overload of the same name is found as the new one.
	add2 := h.sendOK(t, "POST", "/pg/functions", map[string]any{"name": "add", "args": []string{"a text"}, "return_type": "text", "definition": "SELECT a"})
	assert.Equal(t, "a text", add2["argument_types"])

	upd := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/functions/%d", addID), map[string]any{"definition": "SELECT a + b + 0", "name": "plus"})
	assert.Equal(t, "plus", upd["name"])
	assert.Equal(t, "SELECT a + b + 0", upd["definition"])
	assert.Equal(t, "IMMUTABLE", upd["behavior"], "what the update does not name is kept")
	assert.Equal(t, object{"search_path": "public"}, upd["config_params"])
	var sum int
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT public.plus(2)`).Scan(&sum))
	assert.Equal(t, 3, sum)

	tr := h.sendOK(t, "POST", "/pg/triggers", map[string]any{
		"name": "stamp_posts", "table_id": table, "function_name": "stamp", "activation": "BEFORE",
		"events": []string{"INSERT", "UPDATE OF title"}, "orientation": "ROW", "condition": "NEW.title IS NOT NULL",
	})
	assert.Equal(t, "stamp_posts", tr["name"])
	assert.Equal(t, []any{"INSERT", "UPDATE"}, tr["events"])
	assert.Equal(t, "ROW", tr["orientation"])
	h.exec(t, `INSERT INTO public.posts (id, title) VALUES (1, 'x')`)
	var stamped bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT updated_at IS NOT NULL FROM public.posts`).Scan(&stamped))
	assert.True(t, stamped)

	trID := int64(tr["id"].(float64))
	dis := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/triggers/%d", trID), map[string]any{"enabled_mode": "DISABLED", "name": "stamper"})
	assert.Equal(t, "DISABLED", dis["enabled_mode"])
	assert.Equal(t, "stamper", dis["name"])

	res := h.send(t, "DELETE", fmt.Sprintf("/pg/functions/%d", int64(fn["id"].(float64))), nil)
	assert.Equal(t, 400, res.Status, "the trigger depends on it")
	h.sendOK(t, "DELETE", fmt.Sprintf("/pg/triggers/%d", trID), nil)
	gone := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/functions/%d", int64(fn["id"].(float64))), nil)
	assert.Equal(t, "stamp", gone["name"])

	res = h.send(t, "POST", "/pg/triggers", map[string]any{"name": "x", "table_id": table, "function_name": "stamp", "activation": "SOMETIMES", "events": []string{"INSERT"}})
	assert.Equal(t, 400, res.Status)
	res = h.send(t, "POST", "/pg/triggers", map[string]any{"name": "x", "table_id": table, "function_name": "stamp", "activation": "AFTER", "events": []string{"SELECT"}})
	assert.Equal(t, 400, res.Status)
}
