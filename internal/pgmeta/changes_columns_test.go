package pgmeta_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestColumnChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.items (id int)`)
	table := h.oid(t, "'public.items'::regclass")

	c := h.sendOK(t, "POST", "/pg/columns", map[string]any{
		"table_id": table, "name": "title", "type": "text", "default_value": "untitled",
		"is_nullable": false, "is_unique": true, "comment": "What it is", "check": "length(title) < 100",
	})
	assert.Equal(t, fmt.Sprintf("%d.2", table), c["id"])
	assert.Equal(t, "'untitled'::text", c["default_value"])
	assert.Equal(t, false, c["is_nullable"])
	assert.Equal(t, true, c["is_unique"])
	assert.Equal(t, "What it is", c["comment"])
	assert.Equal(t, "length(title) < 100", c["check"])
	e := h.lastAudit(t, "meta.column.create")
	assert.Equal(t, `ALTER TABLE "public"."items" ADD COLUMN "title" text DEFAULT 'untitled' NOT NULL UNIQUE CHECK (length(title) < 100);`+"\n"+
		`COMMENT ON COLUMN "public"."items"."title" IS 'What it is'`, e.Details["sql"])

	idc := h.sendOK(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": "seq", "type": "bigint", "is_identity": true, "identity_generation": "ALWAYS"})
	assert.Equal(t, true, idc["is_identity"])
	assert.Equal(t, "ALWAYS", idc["identity_generation"])
	expr := h.sendOK(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": "at", "type": "timestamp with time zone", "default_value": "now()", "default_value_format": "expression"})
	assert.Equal(t, "now()", expr["default_value"])
	arr := h.sendOK(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": "tags", "type": "text[]"})
	assert.Equal(t, true, arr["is_array"])
	num := h.sendOK(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": "price", "type": "numeric(10,2)", "default_value": 1.5})
	assert.Equal(t, "1.5", num["default_value"])

	h.exec(t, `INSERT INTO public.items (id, title) VALUES (1, 'a'), (2, 'b')`)
	path := fmt.Sprintf("/pg/columns/%d.1", table)
	u := h.sendOK(t, "PATCH", path, map[string]any{
		"type": "text", "is_nullable": false, "default_value": 0, "is_unique": true, "comment": "key", "check": "id <> ''", "name": "key",
	})
	assert.Equal(t, "key", u["name"])
	assert.Equal(t, "text", u["data_type"])
	assert.Equal(t, false, u["is_nullable"])
	assert.Equal(t, "'0'::text", u["default_value"])
	assert.Equal(t, true, u["is_unique"])
	assert.Equal(t, "key", u["comment"])
	assert.Equal(t, "key <> ''::text", u["check"])
	var values []string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT array_agg(key ORDER BY key) FROM public.items`).Scan(&values))
	assert.Equal(t, []string{"1", "2"}, values, "the type change converts the values")

	u = h.sendOK(t, "PATCH", path, map[string]any{"drop_default": true, "is_unique": false, "check": nil, "is_nullable": true})
	assert.Nil(t, u["default_value"])
	assert.Equal(t, false, u["is_unique"])
	assert.Nil(t, u["check"])
	assert.Equal(t, true, u["is_nullable"])

	// A check about another column is refused, and nothing of the update stays.
	res := h.send(t, "PATCH", path, map[string]any{"comment": "changed", "check": "title <> ''"})
	assert.Equal(t, 400, res.Status)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "error creating column constraint: check condition must refer to this column only", body["error"])
	assert.Equal(t, "error", h.lastAudit(t, "meta.column.update").Outcome)
	var comment *string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT col_description($1, 1)`, table).Scan(&comment))
	assert.Equal(t, "key", *comment)

	seq := fmt.Sprintf("/pg/columns/%d.3", table)
	assert.Equal(t, "BY DEFAULT", h.sendOK(t, "PATCH", seq, map[string]any{"identity_generation": "BY DEFAULT"})["identity_generation"])
	assert.Equal(t, false, h.sendOK(t, "PATCH", seq, map[string]any{"is_identity": false})["is_identity"])

	gone := h.sendOK(t, "DELETE", seq, nil)
	assert.Equal(t, "seq", gone["name"])
	res = h.send(t, "GET", seq, nil)
	assert.Equal(t, 404, res.Status)

	res = h.send(t, "POST", "/pg/columns", map[string]any{"table_id": 999999999, "name": "x", "type": "int"})
	assert.Equal(t, 404, res.Status)
	res = h.send(t, "POST", "/pg/columns", map[string]any{"table_id": table, "name": "x", "type": "int); DROP TABLE public.items; --"})
	assert.Equal(t, 400, res.Status)
}

// TestOneStatementPerChange: an expression a caller supplies is written into the DDL as it
// is, but each statement goes alone through the extended protocol, so a second statement
// hidden in it is refused and cannot commit anything.
func TestOneStatementPerChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.items (id int); CREATE TABLE public.victim (id int)`)
	table := h.oid(t, "'public.items'::regclass")
	res := h.send(t, "POST", "/pg/columns", map[string]any{
		"table_id": table, "name": "x", "type": "int",
		"default_value": "1; COMMIT; DROP TABLE public.victim", "default_value_format": "expression",
	})
	assert.Equal(t, 400, res.Status, "%s", res.Body)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "cannot insert multiple commands into a prepared statement", body["error"])
	var victim, column bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT to_regclass('public.victim') IS NOT NULL,
  EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'public.items'::regclass AND attname = 'x')`).Scan(&victim, &column))
	assert.True(t, victim)
	assert.False(t, column)
}
