package admin

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// TestAPIKeysLifecycle: a system admin creates a key (shown once, stored as a hash, audited),
// lists it without the key, and revokes it (audited), after which the gateway refuses it.
func TestAPIKeysLifecycle(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	adminID := e.admin(t, "sys", access.SystemAdmin)
	token := e.signIn(t, adminID)

	status, created := e.call(t, token, "POST", "/api-keys", map[string]any{
		"name": "backend", "kind": "secret", "expires_in": 3600,
		"scopes": map[string]any{"services": []string{"admin", "rest"}},
	})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	key, _ := created["api_key"].(string)
	require.True(t, strings.HasPrefix(key, security.SecretKeyPrefix), key)
	require.Len(t, key, len(security.SecretKeyPrefix)+43)
	id := created["id"].(string)
	require.Equal(t, key[:len(security.SecretKeyPrefix)+6], created["prefix"])
	require.NotNil(t, created["expires_at"])

	var stored []byte
	var rowText string
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT key_hash, to_jsonb(k)::text FROM goforward.api_keys k WHERE id = $1`, id).Scan(&stored, &rowText))
	sum := sha256.Sum256([]byte(key))
	require.Equal(t, sum[:], stored)
	require.NotContains(t, rowText, key[len(security.SecretKeyPrefix)+6:], "only a hash of the key is stored")

	status, list := e.call(t, token, "GET", "/api-keys", nil)
	require.Equal(t, http.StatusOK, status)
	keys := list["api_keys"].([]any)
	require.Len(t, keys, 1)
	listed := keys[0].(map[string]any)
	require.NotContains(t, listed, "api_key", "the key is shown once")
	for _, field := range []string{"name", "kind", "prefix", "created_at", "last_used_at", "expires_at", "scopes"} {
		require.Contains(t, listed, field)
	}
	require.Equal(t, "backend", listed["name"])
	require.Equal(t, "secret", listed["kind"])

	rows := e.auditRows(t, "api_key.create")
	require.Len(t, rows, 1)
	require.Equal(t, adminID, rows[0].ActorID)
	require.Equal(t, id, rows[0].ResourceID)
	require.Equal(t, "warning", rows[0].Severity, "a secret key bypasses row-level security")

	// The key works at the gateway until it is revoked.
	require.NoError(t, e.APIKeys.Load(ctx))
	res := e.Do(t, servicetest.Request{Method: "GET", Path: Prefix + "/api-keys", Key: key, Token: "-"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)

	status, revoked := e.call(t, token, "DELETE", "/api-keys/"+id, nil)
	require.Equal(t, http.StatusOK, status, "%v", revoked)
	require.NotNil(t, revoked["revoked_at"])
	rows = e.auditRows(t, "api_key.revoke")
	require.Len(t, rows, 1)
	require.Equal(t, adminID, rows[0].ActorID)

	status, list = e.call(t, token, "GET", "/api-keys", nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, list["api_keys"])
	status, list = e.call(t, token, "GET", "/api-keys?include_revoked=true", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list["api_keys"], 1)

	require.NoError(t, e.APIKeys.Load(ctx))
	status, out := e.call(t, key, "GET", "/api-keys", nil)
	requireCode(t, status, out, http.StatusForbidden, CodeNotAdmin)
}

func TestAPIKeysRefuseBadInput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	token := e.signIn(t, e.admin(t, "sys", access.SystemAdmin))
	for name, body := range map[string]map[string]any{
		"no name":         {"kind": "secret"},
		"unknown kind":    {"name": "x", "kind": "master"},
		"unknown service": {"name": "x", "kind": "secret", "scopes": map[string]any{"services": []string{"mail"}}},
		"bad table":       {"name": "x", "kind": "secret", "scopes": map[string]any{"tables": []string{"items"}}},
		"tables and meta": {"name": "x", "kind": "secret", "scopes": map[string]any{"services": []string{"meta"}, "tables": []string{"public.items"}}},
		"past expiry":     {"name": "x", "kind": "secret", "expires_at": "2001-01-01T00:00:00Z"},
		"both expiries":   {"name": "x", "kind": "secret", "expires_at": "2101-01-01T00:00:00Z", "expires_in": 60},
		"negative expiry": {"name": "x", "kind": "secret", "expires_in": -5},
	} {
		status, out := e.call(t, token, "POST", "/api-keys", body)
		requireCode(t, status, out, http.StatusBadRequest, CodeValidationFailed)
		_ = name
	}
	status, out := e.call(t, token, "POST", "/api-keys", map[string]any{"name": "dup", "kind": "publishable"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	status, out = e.call(t, token, "POST", "/api-keys", map[string]any{"name": "dup", "kind": "secret"})
	requireCode(t, status, out, http.StatusConflict, CodeNameTaken)
	status, out = e.call(t, token, "DELETE", "/api-keys/"+unknownID, nil)
	requireCode(t, status, out, http.StatusNotFound, CodeNotFound)
}

// TestSecretKeyCreatesOnlyNarrowerKeys: a secret key reaches the admin API as the service
// role, but may not hand out a key wider than itself.
func TestSecretKeyCreatesOnlyNarrowerKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	scoped := e.CreateAPIKey(t, apikeys.NewKey{Name: "ops", Kind: security.KindSecret,
		Scopes: security.KeyScope{Services: []string{"admin", "rest"}}})
	call := func(body map[string]any) (int, map[string]any) {
		res := e.Do(t, servicetest.Request{Method: "POST", Path: Prefix + "/api-keys", Key: scoped.APIKey, Token: "-", Body: body})
		var out map[string]any
		res.JSON(t, &out)
		return res.Status, out
	}
	status, out := call(map[string]any{"name": "everything", "kind": "secret"})
	requireCode(t, status, out, http.StatusForbidden, CodeInsufficientCapability)
	status, out = call(map[string]any{"name": "rest only", "kind": "secret", "scopes": map[string]any{"services": []string{"rest"}}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	rows := e.auditRows(t, "api_key.create")
	require.Equal(t, scoped.ID, rows[len(rows)-1].ActorID, "the audit log names the key that acted")

	// A key whose scope leaves out the admin service does not reach it at all.
	restOnly := e.CreateAPIKey(t, apikeys.NewKey{Name: "rest", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"rest"}}})
	res := e.Do(t, servicetest.Request{Method: "GET", Path: Prefix + "/api-keys", Key: restOnly.APIKey, Token: "-"})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
}
