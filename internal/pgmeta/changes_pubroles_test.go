package pgmeta_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublicationChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.posts (id int PRIMARY KEY); CREATE TABLE public.comments (id int PRIMARY KEY); CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY)`)

	// Realtime on for a table, the way Studio does it: the tables of supabase_realtime.
	rt := h.oid(t, "(SELECT oid FROM pg_publication WHERE pubname = 'supabase_realtime')")
	on := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/publications/%d", rt), map[string]any{"tables": []string{"public.posts", "app.items"}})
	assert.Equal(t, []any{
		object{"id": float64(h.oid(t, "'app.items'::regclass")), "name": "items", "schema": "app"},
		object{"id": float64(h.oid(t, "'public.posts'::regclass")), "name": "posts", "schema": "public"},
	}, on["tables"])
	assert.Equal(t, true, on["publish_insert"], "what the update does not name is kept")
	off := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/publications/%d", rt), map[string]any{"tables": []string{"app.items"}})
	assert.Len(t, off["tables"], 1)
	none := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/publications/%d", rt), map[string]any{"tables": []string{}})
	assert.Equal(t, []any{}, none["tables"])

	pub := h.sendOK(t, "POST", "/pg/publications", map[string]any{"name": "feed", "publish_insert": true, "tables": []string{"posts"}})
	assert.Equal(t, true, pub["publish_insert"])
	assert.Equal(t, false, pub["publish_delete"])
	assert.Len(t, pub["tables"], 1)
	id := int64(pub["id"].(float64))
	all := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/publications/%d", id), map[string]any{"tables": nil, "publish_delete": true, "name": "everything"})
	assert.Nil(t, all["tables"], "FOR ALL TABLES")
	assert.Equal(t, "everything", all["name"])
	assert.Equal(t, true, all["publish_insert"])
	assert.Equal(t, true, all["publish_delete"])
	newID := int64(all["id"].(float64))
	back := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/publications/%d", newID), map[string]any{"tables": []string{"comments"}})
	assert.Len(t, back["tables"], 1)
	gone := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/publications/%d", int64(back["id"].(float64))), nil)
	assert.Equal(t, "everything", gone["name"])
	res := h.send(t, "GET", fmt.Sprintf("/pg/publications/%d", int64(back["id"].(float64))), nil)
	assert.Equal(t, 404, res.Status)
}

func TestRoleChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	name := "gf_test_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		_, _ = h.DB.Pool.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %s, %s_renamed`, name, name))
	})
	role := h.sendOK(t, "POST", "/pg/roles", map[string]any{
		"name": name, "password": "s3cret'pw", "can_login": true, "connection_limit": 5,
		"member_of": []string{"authenticated"}, "config": map[string]string{"statement_timeout": "5s"},
	})
	assert.Equal(t, name, role["name"])
	assert.Equal(t, true, role["can_login"])
	assert.Equal(t, true, role["inherit_role"])
	assert.Equal(t, float64(5), role["connection_limit"])
	assert.Equal(t, "********", role["password"])
	assert.Equal(t, object{"statement_timeout": "5s"}, role["config"])
	var member bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT pg_has_role($1, 'authenticated', 'MEMBER')`, name).Scan(&member))
	assert.True(t, member)

	e := h.lastAudit(t, "meta.role.create")
	assert.Equal(t, "info", e.Severity)
	assert.NotContains(t, e.Details["sql"], "s3cret", "the password is never in the audit log")
	assert.Contains(t, e.Details["sql"], "PASSWORD '********'")

	id := int64(role["id"].(float64))
	upd := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/roles/%d", id), map[string]any{
		"can_bypass_rls": true, "password": "n3w",
		"config": []map[string]any{{"op": "remove", "path": "statement_timeout"}, {"op": "add", "path": "search_path", "value": "public"}},
		"name":   name + "_renamed",
	})
	assert.Equal(t, name+"_renamed", upd["name"])
	assert.Equal(t, true, upd["can_bypass_rls"])
	assert.Equal(t, object{"search_path": "public"}, upd["config"])
	e = h.lastAudit(t, "meta.role.update")
	assert.Equal(t, "critical", e.Severity, "granting BYPASSRLS is critical")
	assert.NotContains(t, e.Details["sql"], "n3w")

	res := h.send(t, "POST", "/pg/roles", map[string]any{"name": name + "_renamed"})
	assert.Equal(t, 400, res.Status)
	gone := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/roles/%d", id), nil)
	assert.Equal(t, name+"_renamed", gone["name"])
	res = h.send(t, "DELETE", fmt.Sprintf("/pg/roles/%d", id), nil)
	assert.Equal(t, 404, res.Status)
}
