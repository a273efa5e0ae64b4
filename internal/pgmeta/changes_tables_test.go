package pgmeta_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/servicetest"
)

// send calls the meta API with the service-role key.
func (h *harness) send(t *testing.T, method, path string, body any) servicetest.Response {
	t.Helper()
	return h.Do(t, servicetest.Request{Method: method, Path: path, Body: body, Key: h.ServiceRoleKey()})
}

// sendOK sends and expects 200, decoding the answer.
func (h *harness) sendOK(t *testing.T, method, path string, body any) object {
	t.Helper()
	res := h.send(t, method, path, body)
	require.Equal(t, 200, res.Status, "%s %s: %s", method, path, res.Body)
	var out object
	res.JSON(t, &out)
	return out
}

// auditEntry is the newest audit row of an action.
type auditEntry struct {
	ActorType, Outcome, Severity, ResourceID string
	Details                                  map[string]any
}

func (h *harness) lastAudit(t *testing.T, action string) auditEntry {
	t.Helper()
	var e auditEntry
	err := h.DB.Pool.QueryRow(t.Context(), `SELECT actor_type, outcome, severity, resource_id, details
FROM goforward.audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`, action).Scan(&e.ActorType, &e.Outcome, &e.Severity, &e.ResourceID, &e.Details)
	require.NoError(t, err, "no audit entry %s", action)
	return e
}

func TestTableChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	// Listen for the schema cache's reload request, as REST's cache does.
	listener, err := pgx.Connect(t.Context(), h.DB.URL)
	require.NoError(t, err)
	defer listener.Close(t.Context())
	_, err = listener.Exec(t.Context(), "LISTEN pgrst")
	require.NoError(t, err)

	created := h.sendOK(t, "POST", "/pg/tables", map[string]any{"name": "notes", "comment": "It's mine"})
	assert.Equal(t, "public", created["schema"])
	assert.Equal(t, "notes", created["name"])
	assert.Equal(t, "It's mine", created["comment"])
	assert.Equal(t, []any{}, created["columns"])
	id := int64(created["id"].(float64))
	assert.Equal(t, id, h.oid(t, "'public.notes'::regclass"))

	e := h.lastAudit(t, "meta.table.create")
	assert.Equal(t, "service_role", e.ActorType)
	assert.Equal(t, "success", e.Outcome)
	assert.Equal(t, "public.notes", e.ResourceID)
	assert.Equal(t, "POST /pg/tables", e.Details["route"])
	assert.Equal(t, `CREATE TABLE "public"."notes" ();`+"\n"+`COMMENT ON TABLE "public"."notes" IS 'It''s mine'`, e.Details["sql"])

	ctx, cancel := contextWithTimeout(t, 10*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(ctx)
	require.NoError(t, err)
	assert.Equal(t, "reload schema", n.Payload)

	h.exec(t, `ALTER TABLE public.notes ADD COLUMN id int NOT NULL, ADD COLUMN body text`)
	updated := h.sendOK(t, "PATCH", fmt.Sprintf("/pg/tables/%d", id), map[string]any{
		"rls_enabled": true, "rls_forced": true, "replica_identity": "FULL",
		"primary_keys": []any{map[string]any{"name": "id"}}, "comment": "notes", "name": "memos", "schema": "public",
	})
	assert.Equal(t, "memos", updated["name"])
	assert.Equal(t, true, updated["rls_enabled"])
	assert.Equal(t, true, updated["rls_forced"])
	assert.Equal(t, "FULL", updated["replica_identity"])
	assert.Equal(t, "notes", updated["comment"])
	assert.Equal(t, []any{object{"schema": "public", "table_name": "memos", "name": "id", "table_id": float64(id)}}, updated["primary_keys"])

	deleted := h.sendOK(t, "DELETE", fmt.Sprintf("/pg/tables/%d", id), nil)
	assert.Equal(t, "memos", deleted["name"])
	var exists bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT to_regclass('public.memos') IS NOT NULL`).Scan(&exists))
	assert.False(t, exists)
	assert.Equal(t, "public.memos", h.lastAudit(t, "meta.table.delete").ResourceID)
}

// TestChangeErrors: PostgreSQL's refusal is a 400 carrying its message, nothing of the change
// stays, and the failure is audited; an unknown id is a 404.
func TestChangeErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.taken (id int); CREATE TABLE public.other (id int)`)

	res := h.send(t, "POST", "/pg/tables", map[string]any{"name": "taken"})
	assert.Equal(t, 400, res.Status)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, `relation "taken" already exists`, body["error"])
	e := h.lastAudit(t, "meta.table.create")
	assert.Equal(t, "error", e.Outcome)
	assert.Contains(t, e.Details["error"], "already exists")

	// The second statement fails: the first is rolled back with it.
	res = h.send(t, "POST", "/pg/tables", map[string]any{"name": "half", "schema": "nosuch"})
	assert.Equal(t, 400, res.Status)
	res.JSON(t, &body)
	assert.Equal(t, `schema "nosuch" does not exist`, body["error"])

	id := h.oid(t, "'public.taken'::regclass")
	res = h.send(t, "PATCH", fmt.Sprintf("/pg/tables/%d", id), map[string]any{"rls_enabled": true, "name": "other"})
	assert.Equal(t, 400, res.Status)
	res.JSON(t, &body)
	assert.Equal(t, `relation "other" already exists`, body["error"])
	var rls bool
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT relrowsecurity FROM pg_class WHERE oid = $1`, id).Scan(&rls))
	assert.False(t, rls, "nothing of a refused change stays")

	for _, tc := range []struct{ method, path string }{
		{"PATCH", "/pg/tables/999999999"}, {"DELETE", "/pg/tables/999999999"},
	} {
		res = h.send(t, tc.method, tc.path, map[string]any{})
		assert.Equal(t, 404, res.Status, "%s %s", tc.method, tc.path)
		res.JSON(t, &body)
		assert.Equal(t, "Cannot find a table with ID 999999999", body["error"])
	}

	res = h.send(t, "PATCH", fmt.Sprintf("/pg/tables/%d", id), map[string]any{"replica_identity": "SOMETIMES"})
	assert.Equal(t, 400, res.Status)
	res.JSON(t, &body)
	assert.Equal(t, `replica_identity must be one of DEFAULT, INDEX, FULL, NOTHING (got "SOMETIMES")`, body["error"])
}

// TestWriteAuthorization: changes take can_manage_database (system admins, the service-role
// key); every other admin gets 403, and the refusal is audited.
func TestWriteAuthorization(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		level  access.Level
		status int
	}{
		{access.SystemAdmin, 200},
		{access.SuperAdmin, 403},
		{access.RegularAdmin, 403},
		{access.Moderator, 403},
	}
	for i, tc := range cases {
		token := h.adminToken(t, tc.level)
		res := h.Do(t, servicetest.Request{Method: "POST", Path: "/pg/tables", Key: "-", Token: token,
			Body: map[string]any{"name": fmt.Sprintf("t%d", i)}})
		assert.Equal(t, tc.status, res.Status, "%s: %s", tc.level, res.Body)
		if tc.status == 403 {
			var body object
			res.JSON(t, &body)
			assert.Equal(t, fmt.Sprintf("This action needs the can_manage_database capability, which your admin level (%s) does not have", tc.level), body["error"])
			e := h.lastAudit(t, "meta.access_denied")
			assert.Equal(t, "denied", e.Outcome)
			assert.Equal(t, "POST /pg/tables", e.ResourceID)
		}
	}
	var made int
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_class WHERE relname ~ '^t[0-9]$' AND relnamespace = 'public'::regnamespace`).Scan(&made))
	assert.Equal(t, 1, made, "only the system admin's table exists")
}
