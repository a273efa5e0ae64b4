package pgmeta_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRelationships(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	var rels []object
	h.getJSON(t, "/pg/relationships?included_schemas=public,app", &rels)
	rel := func(fk, schema, relation string, cols []string, oneToOne bool, refSchema, refRelation string, refCols []string) object {
		return object{"foreign_key_name": fk, "schema": schema, "relation": relation, "columns": cols, "is_one_to_one": oneToOne,
			"referenced_schema": refSchema, "referenced_relation": refRelation, "referenced_columns": refCols}
	}
	want := []object{
		// app.items → posts, and through the view that shows posts.id
		rel("items_post_id_fkey", "app", "items", []string{"post_id"}, false, "public", "post_titles", []string{"id"}),
		rel("items_post_id_fkey", "app", "items", []string{"post_id"}, false, "public", "posts", []string{"id"}),
		// the materialized view shows posts.author_id, so it reaches authors
		rel("posts_author_id_fkey", "public", "author_counts", []string{"author_id"}, false, "public", "authors", []string{"id"}),
		rel("post_tags_post_id_fkey", "public", "post_tags", []string{"post_id"}, false, "public", "post_titles", []string{"id"}),
		rel("post_tags_post_id_fkey", "public", "post_tags", []string{"post_id"}, false, "public", "posts", []string{"id"}),
		rel("post_tags_tag_id_fkey", "public", "post_tags", []string{"tag_id"}, false, "public", "tags", []string{"id"}),
		// the view shows posts.author_id, so it reaches authors too
		rel("posts_author_id_fkey", "public", "post_titles", []string{"author_id"}, false, "public", "authors", []string{"id"}),
		rel("posts_author_id_fkey", "public", "posts", []string{"author_id"}, false, "public", "authors", []string{"id"}),
		rel("profiles_author_id_fkey", "public", "profiles", []string{"author_id"}, true, "public", "authors", []string{"id"}),
	}
	assert.True(t, jsonEqual(want, rels), "got %v", rels)

	h.getJSON(t, "/pg/relationships?included_schemas=app", &rels)
	assert.True(t, jsonEqual([]object{want[1]}, rels), "got %v", rels)
}

// TestViewOneToOne: a view showing the referencing side of a one-to-one key has the
// relationship in the key's direction only, never reversed.
func TestViewOneToOne(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	h.exec(t, `CREATE VIEW public.bios AS SELECT author_id, bio FROM public.profiles`)
	var rels []object
	h.getJSON(t, "/pg/relationships?included_schemas=public", &rels)
	var views []object
	for _, r := range rels {
		if r["relation"] == "bios" || r["referenced_relation"] == "bios" {
			views = append(views, r)
		}
	}
	assert.True(t, jsonEqual([]object{{
		"foreign_key_name": "profiles_author_id_fkey", "schema": "public", "relation": "bios", "columns": []string{"author_id"},
		"is_one_to_one": true, "referenced_schema": "public", "referenced_relation": "authors", "referenced_columns": []string{"id"},
	}}, views), "got %v", views)
}
