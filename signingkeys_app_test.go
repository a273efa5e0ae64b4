package goforward_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/datadir"
)

func tokenHeader(t *testing.T, token string) (alg, kid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	var h struct{ Alg, Kid string }
	require.NoError(t, json.Unmarshal(raw, &h))
	return h.Alg, h.Kid
}

func jwksKids(t *testing.T, r *running) []string {
	t.Helper()
	status, body, headers := call(t, "GET", r.url+"/auth/v1/.well-known/jwks.json", map[string]string{"apikey": r.anonKey}, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "public, max-age=600", headers.Get("Cache-Control"))
	kids := []string{}
	for _, k := range body["keys"].([]any) {
		jwk := k.(map[string]any)
		require.NotContains(t, jwk, "d", "no private part is published")
		require.Equal(t, "ES256", jwk["alg"])
		kids = append(kids, jwk["kid"].(string))
	}
	return kids
}

func signIn(t *testing.T, r *running) string {
	t.Helper()
	status, session, _ := call(t, "POST", r.url+"/auth/v1/token?grant_type=custom&provider=badges", map[string]string{"apikey": r.anonKey}, `{"badge":"1001","pin":"4321"}`)
	require.Equal(t, http.StatusOK, status, session)
	return session["access_token"].(string)
}

func whoamiStatus(t *testing.T, r *running, token string) (int, map[string]any) {
	t.Helper()
	status, body, _ := call(t, "POST", r.url+"/functions/v1/whoami", map[string]string{"apikey": r.anonKey, "Authorization": "Bearer " + token}, "")
	return status, body
}

// TestNewDataDirSignsWithES256AndRotates: a new data directory signs sessions with a
// generated ES256 key published in the JWKS; the admin API rotates (the old key's tokens
// keep working) and revokes the previous key (its tokens are refused by functions with
// their 401), and both are audited.
func TestNewDataDirSignsWithES256AndRotates(t *testing.T) {
	logs := &syncBuffer{}
	app, db := newApp(t, logs)
	require.NoError(t, app.Function("whoami", http.HandlerFunc(whoami)))
	require.NoError(t, app.AuthProvider("badges", badges{}))
	r := start(t, app, logs)

	kids := jwksKids(t, r)
	require.Len(t, kids, 2, "a current and a standby key")
	first := signIn(t, r)
	alg, kid := tokenHeader(t, first)
	require.Equal(t, "ES256", alg)
	require.Equal(t, kids[0], kid, "the current key is listed first")
	status, body := whoamiStatus(t, r, first)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "authenticated", body["role"])

	// The anon and service-role keys stay HS256.
	alg, _ = tokenHeader(t, r.anonKey)
	require.Equal(t, "HS256", alg)

	admin := map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey}
	status, rotated, _ := call(t, "POST", r.url+"/admin/v1/signing-keys/rotate", admin, "")
	require.Equal(t, http.StatusOK, status, rotated)
	newCurrent := rotated["current"].(map[string]any)["id"].(string)
	require.Equal(t, kids[1], newCurrent, "the standby key becomes current")
	status, body, _ = call(t, "POST", r.url+"/admin/v1/signing-keys/rotate", map[string]string{"apikey": r.anonKey}, "")
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status, "the anon key cannot rotate: %v", body)

	second := signIn(t, r)
	_, kid = tokenHeader(t, second)
	require.Equal(t, newCurrent, kid)
	status, body = whoamiStatus(t, r, first)
	require.Equal(t, http.StatusOK, status, "a previous key's token stays valid: %v", body)

	status, body, _ = call(t, "POST", r.url+"/admin/v1/signing-keys/revoke-previous", admin, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, body["revoked"], 1)
	status, body = whoamiStatus(t, r, first)
	require.Equal(t, http.StatusUnauthorized, status, "the revoked key's token is refused")
	require.Equal(t, map[string]any{"code": float64(401), "message": "Invalid JWT"}, body)
	status, body = whoamiStatus(t, r, second)
	require.Equal(t, http.StatusOK, status, body)
	require.NotContains(t, jwksKids(t, r), kids[0])

	var actions []string
	rows, err := db.Pool.Query(t.Context(), `SELECT action FROM goforward.audit_log WHERE action LIKE 'signing_key.%' ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"signing_key.rotate", "signing_key.revoke"}, actions)
	require.NoError(t, r.stop())
}

// TestExistingDataDirKeepsHS256: a data directory from before signing keys (its state has
// no signing_key_algorithm) keeps signing sessions with the HS256 secret and publishes no
// key, until the operator rotates.
func TestExistingDataDirKeepsHS256(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	require.NoError(t, app.AuthProvider("badges", badges{}))
	dataDir := filepath.Join(t.TempDir(), "data")
	dir, err := datadir.New(dataDir)
	require.NoError(t, err)
	require.NoError(t, dir.Ensure())
	st, err := dir.LoadOrCreateState()
	require.NoError(t, err)
	st.SigningKeyAlgorithm = ""
	require.NoError(t, dir.SaveState(st))

	r := startIn(t, app, logs, dataDir)
	require.Empty(t, jwksKids(t, r))
	alg, kid := tokenHeader(t, signIn(t, r))
	require.Equal(t, "HS256", alg)
	require.NotEmpty(t, kid, "HS256 sessions carry the secret's kid")
	require.NoError(t, r.stop())
}
