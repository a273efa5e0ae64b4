package admin

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
)

const securedTableSQL = `
CREATE TABLE public.customers (
	id int PRIMARY KEY,
	owner_id uuid NOT NULL,
	email text,
	note text
);
ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY hand_written ON public.customers FOR SELECT TO authenticated USING (note = 'shared');
`

func (e *testEnv) policies(t *testing.T) []string {
	t.Helper()
	rows, err := e.DB.Pool.Query(context.Background(),
		`SELECT polname::text FROM pg_policy WHERE polrelid = 'public.customers'::regclass ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestTableSecurityRoutesCompileReplaceAndRemoveExactlyTheirObjects(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	_, err := e.DB.Pool.Exec(ctx, securedTableSQL)
	require.NoError(t, err)
	token := e.signIn(t, e.admin(t, "super", access.SuperAdmin))
	path := "/tables/public.customers/security"
	var aclBefore string
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT (SELECT array_agg(a::text ORDER BY a::text)::text FROM unnest(relacl) a) FROM pg_class WHERE oid = 'public.customers'::regclass`).Scan(&aclBefore))

	status, body := e.call(t, token, "GET", path, nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, false, body["is_active"])

	// A config written against the original design, with its metadata fields and a key this
	// server does not know, loads.
	owned := map[string]any{
		"id": "ignored", "table_name": "customers", "schema_name": "public", "display_name": "Customers",
		"is_active": true, "created_at": "2024-01-01T00:00:00Z", "unknown_key": 1,
		"api_config":        map[string]any{"require_auth": true, "require_ownership": true, "ownership_column": "owner_id"},
		"field_permissions": map[string]any{"email": map[string]any{"field_name": "email", "is_masked": true}},
		"audit_config":      map[string]any{"enabled": true, "actions": []string{"insert", "delete"}},
	}
	status, body = e.call(t, token, "PUT", path+"?dry_run=true", owned)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, true, body["dry_run"])
	assert.Contains(t, body["sql"], `CREATE POLICY "gf_read_own" ON "public"."customers" AS PERMISSIVE FOR SELECT TO authenticated USING ("owner_id" = (SELECT auth.uid()))`)
	assert.NotEmpty(t, body["warnings"], "the unknown key is reported")
	assert.Equal(t, []string{"hand_written"}, e.policies(t), "a dry run changes nothing")

	listener, err := e.DB.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer listener.Release()
	_, err = listener.Exec(ctx, "LISTEN pgrst")
	require.NoError(t, err)

	status, body = e.call(t, token, "PUT", path, owned)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, []string{"gf_insert_own", "gf_read_own", "gf_update_own", "gf_delete_own", "hand_written"},
		sortedLike(e.policies(t), []string{"gf_insert_own", "gf_read_own", "gf_update_own", "gf_delete_own", "hand_written"}))
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := listener.Conn().WaitForNotification(waitCtx)
	require.NoError(t, err, "the schema cache is told to reload")
	assert.Equal(t, "reload schema", n.Payload)

	var sqlLogged int
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log
		WHERE action = 'table_security.update' AND resource_id = 'public.customers'
		AND details -> 'config' -> 'api_config' ->> 'ownership_column' = 'owner_id'
		AND jsonb_array_length(details -> 'sql') > 0`).Scan(&sqlLogged))
	assert.Equal(t, 1, sqlLogged, "the config and its SQL are in the audit log")

	status, body = e.call(t, token, "GET", path, nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, true, body["is_active"])
	assert.Equal(t, "owner_id", body["api_config"].(map[string]any)["ownership_column"])

	// A second, different config replaces the first: nothing of it is left.
	status, body = e.call(t, token, "PUT", path, map[string]any{"api_config": map[string]any{"public_read": true}})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.ElementsMatch(t, []string{"gf_read", "hand_written"}, e.policies(t))
	var leftovers []string
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(name), '{}') FROM (
		SELECT 'column ' || attname AS name FROM pg_attribute WHERE attrelid = 'public.customers'::regclass AND attname LIKE 'gf\_%' AND NOT attisdropped
		UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = 'public.customers'::regclass AND tgname LIKE 'gf\_%'
		UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname LIKE 'gf\_%') x`).Scan(&leftovers))
	assert.Empty(t, leftovers, "no masked copy, trigger or view schema of the first config is left")

	// A custom filter reading another schema, or calling a volatile function, is refused.
	for _, filter := range []string{"exists (select 1 from auth.users)", "random() < 0.5", "note = 'x') WITH CHECK (true"} {
		status, body = e.call(t, token, "PUT", path, map[string]any{"api_config": map[string]any{
			"public_read": true, "custom_filters": map[string]string{"f": filter},
		}})
		requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)
	}
	assert.ElementsMatch(t, []string{"gf_read", "hand_written"}, e.policies(t), "a refused config changes nothing")

	status, body = e.call(t, token, "DELETE", path, nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, []string{"hand_written"}, e.policies(t))
	var aclAfter string
	var rls bool
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT (SELECT array_agg(a::text ORDER BY a::text)::text FROM unnest(relacl) a), relrowsecurity FROM pg_class WHERE oid = 'public.customers'::regclass`).Scan(&aclAfter, &rls))
	assert.Equal(t, aclBefore, aclAfter, "the API roles' privileges are as before the first PUT")
	assert.True(t, rls)

	status, body = e.call(t, token, "DELETE", path, nil)
	requireCode(t, status, body, http.StatusNotFound, CodeNotFound)
	status, body = e.call(t, token, "GET", "/tables/nodot/security", nil)
	requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)
}

// storage.objects cannot be configured: storage reads it directly, so a compiled config would
// break it. The refusal is a 400 naming why, and nothing on the table changes.
func TestTableSecurityRefusesStorageTables(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	token := e.signIn(t, e.admin(t, "super", access.SuperAdmin))
	state := func() string {
		var s string
		require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT concat_ws(' | ', relrowsecurity,
			(SELECT array_agg(a::text ORDER BY a::text) FROM unnest(relacl) a),
			(SELECT array_agg(polname::text ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid))
			FROM pg_class c WHERE c.oid = 'storage.objects'::regclass`).Scan(&s))
		return s
	}
	before := state()
	cfg := map[string]any{"api_config": map[string]any{"require_auth": true, "ip_whitelist": []string{"10.0.0.0/8"}}}
	for _, path := range []string{"/tables/storage.objects/security?dry_run=true", "/tables/storage.objects/security", "/tables/storage.buckets/security"} {
		status, body := e.call(t, token, "PUT", path, cfg)
		requireCode(t, status, body, http.StatusBadRequest, CodeValidationFailed)
		assert.Contains(t, body["msg"], "storage service reads them directly", path)
	}
	assert.Equal(t, before, state(), "storage.objects is untouched")
}

// sortedLike orders got as want when they hold the same names, so a failure shows both.
func sortedLike(got, want []string) []string {
	if len(got) != len(want) {
		return got
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return got
		}
	}
	return want
}
