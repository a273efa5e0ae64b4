package pgmeta_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndexChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.posts (id int, title text, body text)`)
	table := h.oid(t, "'public.posts'::regclass")
	idx := h.sendOK(t, "POST", "/pg/indexes", map[string]any{
		"table_id": table, "name": "posts_title", "columns": []string{"title", "id"}, "is_unique": true,
		"index_predicate": "body IS NOT NULL", "comment": "titles",
	})
	assert.Equal(t, "CREATE UNIQUE INDEX posts_title ON public.posts USING btree (title, id) WHERE (body IS NOT NULL)", idx["index_definition"])
	assert.Equal(t, "titles", idx["comment"])
	assert.Equal(t, true, idx["is_unique"])
	unnamed := h.sendOK(t, "POST", "/pg/indexes", map[string]any{"schema": "public", "table": "posts", "columns": []string{"body"}, "access_method": "hash"})
	assert.Equal(t, "hash", unnamed["access_method"])

	id := int64(idx["id"].(float64))
	renamed := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/indexes/%d", id), map[string]any{"name": "by_title"})
	assert.Contains(t, renamed["index_definition"], "CREATE UNIQUE INDEX by_title ON")
	h.sendOK(t, "DELETE", fmt.Sprintf("/pg/indexes/%d", id), nil)
	assert.Equal(t, 404, h.send(t, "GET", fmt.Sprintf("/pg/indexes/%d", id), nil).Status)
	assert.Equal(t, 400, h.send(t, "POST", "/pg/indexes", map[string]any{"table_id": table, "columns": []string{}}).Status)
}

func TestRelationshipChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.authors (id bigint PRIMARY KEY);
CREATE TABLE public.posts (id int PRIMARY KEY, title text);
CREATE TABLE public.tags (id uuid PRIMARY KEY);
CREATE TABLE public.profiles (id int PRIMARY KEY)`)

	o2m := h.send(t, "POST", "/pg/relationships", map[string]any{
		"relationship_type": "one_to_many", "source_table": "posts", "target_table": "authors", "on_delete": "cascade",
		"on_update": "set null",
	})
	require.Equal(t, 200, o2m.Status, "%s", o2m.Body)
	var rels []object
	o2m.JSON(t, &rels)
	assert.Equal(t, []object{{
		"foreign_key_name": "posts_authors_id_fkey", "schema": "public", "relation": "posts", "columns": []any{"authors_id"},
		"is_one_to_one": false, "referenced_schema": "public", "referenced_relation": "authors", "referenced_columns": []any{"id"},
	}}, rels)
	var typ, action string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.posts'::regclass AND attname = 'authors_id'`).Scan(&typ))
	assert.Equal(t, "bigint", typ, "the new column takes the referenced column's type")
	var onUpdate string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT confdeltype::text, confupdtype::text FROM pg_constraint WHERE conname = 'posts_authors_id_fkey'`).Scan(&action, &onUpdate))
	assert.Equal(t, "c", action, "ON DELETE CASCADE")
	assert.Equal(t, "n", onUpdate, "ON UPDATE SET NULL")

	o2o := h.send(t, "POST", "/pg/relationships", map[string]any{
		"relationship_type": "one_to_one", "source_table": "public.profiles", "source_column": "id", "target_table": "authors",
	})
	require.Equal(t, 200, o2o.Status, "%s", o2o.Body)
	o2o.JSON(t, &rels)
	require.Len(t, rels, 1)
	assert.Equal(t, true, rels[0]["is_one_to_one"])

	m2m := h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "many_to_many", "source_table": "posts", "target_table": "tags"})
	require.Equal(t, 200, m2m.Status, "%s", m2m.Body)
	m2m.JSON(t, &rels)
	require.Len(t, rels, 2)
	assert.Equal(t, "posts_tags", rels[0]["relation"])
	assert.Equal(t, []any{"posts_id"}, rels[0]["columns"])
	assert.Equal(t, "posts", rels[0]["referenced_relation"])
	assert.Equal(t, []any{"tags_id"}, rels[1]["columns"])
	assert.Equal(t, "tags", rels[1]["referenced_relation"])
	var pk string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'public.posts_tags'::regclass AND contype = 'p'`).Scan(&pk))
	assert.Equal(t, "PRIMARY KEY (posts_id, tags_id)", pk)
	e := h.lastAudit(t, "meta.relationship.create")
	assert.Contains(t, e.Details["sql"], `CREATE TABLE "public"."posts_tags"`)

	// junction_table names a table as source_table and target_table do: "schema.table", or a
	// bare name beside the source.
	h.exec(t, `CREATE SCHEMA app; CREATE TABLE app.books (id int PRIMARY KEY); CREATE TABLE app.genres (id int PRIMARY KEY)`)
	res := h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "many_to_many", "source_table": "posts", "target_table": "tags",
		"junction_table": "app.post_tags"})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	res.JSON(t, &rels)
	require.Len(t, rels, 2)
	assert.Equal(t, "app", rels[0]["schema"])
	assert.Equal(t, "post_tags", rels[0]["relation"])
	res = h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "many_to_many", "source_table": "app.books", "target_table": "app.genres",
		"junction_table": "book_genres"})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var regs []*string
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT ARRAY[to_regclass('app.post_tags')::text, to_regclass('app.book_genres')::text,
to_regclass('public."app.post_tags"')::text, to_regclass('public.book_genres')::text]`).Scan(&regs))
	require.Len(t, regs, 4)
	assert.NotNil(t, regs[0], "app.post_tags is made in schema app")
	assert.NotNil(t, regs[1], "a bare junction name goes beside its source")
	assert.Nil(t, regs[2], `no table named "app.post_tags" in public`)
	assert.Nil(t, regs[3])

	// The junction table fails when it exists: nothing is half made.
	res = h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "many_to_many", "source_table": "posts", "target_table": "tags"})
	assert.Equal(t, 400, res.Status)
	res = h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "one_to_many", "source_table": "posts", "target_table": "posts_tags"})
	assert.Equal(t, 400, res.Status, "a composite primary key must be named")
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "public.posts_tags has a primary key of 2 columns: name the column to reference", body["error"])
	res = h.send(t, "POST", "/pg/relationships", map[string]any{"relationship_type": "two_to_many", "source_table": "posts", "target_table": "tags"})
	assert.Equal(t, 400, res.Status)

	// One transaction: the foreign key is added, then its UNIQUE fails on duplicates, and
	// neither is left behind.
	h.exec(t, `INSERT INTO public.authors VALUES (1); CREATE TABLE public.bios (id int PRIMARY KEY, author bigint);
INSERT INTO public.bios VALUES (1, 1), (2, 1)`)
	res = h.send(t, "POST", "/pg/relationships", map[string]any{
		"relationship_type": "one_to_one", "source_table": "bios", "source_column": "author", "target_table": "authors",
	})
	require.Equal(t, 400, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "23505")
	var keys int
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.bios'::regclass AND contype <> 'p'`).Scan(&keys))
	assert.Equal(t, 0, keys, "no foreign key or unique constraint is left")
}
