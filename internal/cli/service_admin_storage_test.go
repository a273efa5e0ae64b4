package cli

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/servicetest"
)

// TestAdminStorage: /admin/v1/storage/v1 is /storage/v1 for admin sessions. A super admin
// (can_manage_storage) creates a bucket, uploads, lists and downloads as service_role, owns
// what it uploaded, and each change is audited; a moderator is refused (audited), no
// credentials are 401 in storage's error shape.
func TestAdminStorage(t *testing.T) {
	dir := t.TempDir()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) { c.Storage.Local.Path = dir }})
	superID := e.newAdmin(t, "super@example.com", "super_admin")
	super := e.session(t, "super@example.com")
	e.newAdmin(t, "mod@example.com", "moderator")
	mod := e.session(t, "mod@example.com")
	call := func(token, method, path string, body any, header http.Header) servicetest.Response {
		return e.do(t, servicetest.Request{Method: method, Path: adminStoragePrefix + path, Token: token, Body: body, Header: header})
	}

	res := call(super, "POST", "/bucket", map[string]any{"name": "docs", "public": false, "file_size_limit": 1024}, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res = call(super, "POST", "/object/docs/notes/a.txt", "hello", http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res = call(super, "POST", "/object/list/docs", map[string]any{"prefix": "notes/"}, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var listed []map[string]any
	res.JSON(t, &listed)
	require.Len(t, listed, 1)
	assert.Equal(t, "a.txt", listed[0]["name"])
	res = call(super, "GET", "/object/docs/notes/a.txt", nil, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, "hello", string(res.Body))
	// The bucket's limit holds for admins too.
	res = call(super, "POST", "/object/docs/big.txt", string(make([]byte, 2048)), http.Header{"Content-Type": {"text/plain"}})
	assert.NotEqual(t, http.StatusOK, res.Status, "%s", res.Body)

	var owner string
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT owner_id FROM storage.objects WHERE bucket_id = 'docs' AND name = 'notes/a.txt'`).Scan(&owner))
	assert.Equal(t, superID, owner)
	var audited int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM goforward.audit_log WHERE action = 'admin.storage.post' AND resource_id = '/object/docs/notes/a.txt' AND outcome = 'success'`).Scan(&audited))
	assert.Equal(t, 1, audited)

	res = call(mod, "GET", "/bucket", nil, nil)
	assert.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "can_manage_storage")
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM goforward.audit_log WHERE action = 'admin.storage.access_denied' AND outcome = 'denied'`).Scan(&audited))
	assert.Equal(t, 1, audited)

	res = call("-", "GET", "/bucket", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, res.Status, "%s", res.Body)
	body := jsonOf(t, res)
	assert.Equal(t, "401", body["statusCode"])
	assert.Equal(t, "no_authorization", body["error_code"])
	// The anon key is no admin.
	res = e.do(t, servicetest.Request{Method: "GET", Path: adminStoragePrefix + "/bucket", Key: "", Token: ""})
	assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, res.Status, "%s", res.Body)
}
