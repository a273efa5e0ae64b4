package rest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// TestRowLevelSecurity runs every verb as user A, user B, anon and the service role against
// the owner-guarded notes table: each sees and changes exactly what the policies allow.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b, service := e.UserToken(t, userA, nil), e.UserToken(t, userB, nil), e.ServiceRoleKey()
	bodies := func(token string) []string {
		t.Helper()
		r := e.do(t, call{path: "/notes?select=body&order=body", token: token})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var rows []struct{ Body string }
		r.JSON(t, &rows)
		out := []string{}
		for _, row := range rows {
			out = append(out, row.Body)
		}
		return out
	}

	t.Run("GET", func(t *testing.T) {
		require.Equal(t, []string{"a-private", "a-public"}, bodies(a))
		require.Equal(t, []string{"b-private"}, bodies(b))
		require.Equal(t, []string{"a-public"}, bodies(""))
		require.Equal(t, []string{"a-private", "a-public", "b-private"}, bodies(service))
	})
	t.Run("HEAD counts only visible rows", func(t *testing.T) {
		for token, want := range map[string]string{a: "0-1/2", b: "0-0/1", "": "0-0/1", service: "0-2/3"} {
			r := e.do(t, call{method: http.MethodHead, path: "/notes", token: token, header: map[string]string{"Prefer": "count=exact"}})
			require.Equal(t, want, r.Header.Get("Content-Range"))
		}
	})
	t.Run("RPC runs with the caller's rows", func(t *testing.T) {
		r := e.do(t, call{path: "/rpc/my_notes?select=body&order=body", token: b})
		require.Equal(t, jsonText(t, `[{"body":"b-private"}]`), jsonOf(t, r))
		r = e.do(t, call{path: "/rpc/whoami", token: a})
		require.Equal(t, jsonText(t, `{"role":"authenticated","uid":"`+userA+`","method":"GET"}`), jsonOf(t, r))
	})
	t.Run("POST", func(t *testing.T) {
		r := e.do(t, call{method: "POST", path: "/notes?select=body,owner", token: a, body: map[string]any{"body": "a-new"},
			header: map[string]string{"Prefer": "return=representation"}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.Equal(t, jsonText(t, `[{"body":"a-new","owner":"`+userA+`"}]`), jsonOf(t, r), "the owner defaults to auth.uid()")

		r = e.do(t, call{method: "POST", path: "/notes", token: b, body: map[string]any{"body": "forged", "owner": userA}})
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), `"code":"42501"`)

		r = e.do(t, call{method: "POST", path: "/notes", body: map[string]any{"body": "anon"}})
		require.Equal(t, http.StatusUnauthorized, r.Status, "anon gets 401 for 42501: %s", r.Body)
		require.Equal(t, "Bearer", r.Header.Get("WWW-Authenticate"))

		r = e.do(t, call{method: "POST", path: "/notes", token: service, body: map[string]any{"body": "svc", "owner": userA}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	})
	t.Run("PATCH", func(t *testing.T) {
		r := e.do(t, call{method: "PATCH", path: "/notes?body=like.*private", token: a, body: map[string]any{"body": "a-edited"},
			header: map[string]string{"Prefer": "return=representation"}})
		var edited []struct{ Body string }
		r.JSON(t, &edited)
		require.Len(t, edited, 1, "only A's private row matches for A")
		r = e.do(t, call{method: "PATCH", path: "/notes?body=eq.b-private", token: a, body: map[string]any{"body": "stolen"},
			header: map[string]string{"Prefer": "return=representation"}})
		require.Equal(t, jsonText(t, `[]`), jsonOf(t, r), "B's rows are invisible to A")
		r = e.do(t, call{method: "PATCH", path: "/notes?body=eq.a-public", body: map[string]any{"body": "vandal"}})
		require.Equal(t, http.StatusNoContent, r.Status, "anon matches nothing it may update")
	})
	t.Run("PUT", func(t *testing.T) {
		r := e.do(t, call{method: "PUT", path: "/notes?id=eq.3", token: a, body: map[string]any{"id": 3, "body": "taken", "owner": userA}})
		require.Equal(t, http.StatusForbidden, r.Status, "A cannot take over B's row: %s", r.Body)
		r = e.do(t, call{method: "PUT", path: "/notes?id=eq.3", token: b, body: map[string]any{"id": 3, "body": "b-put", "owner": userB}})
		require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	})
	t.Run("DELETE", func(t *testing.T) {
		r := e.do(t, call{method: "DELETE", path: "/notes?id=gt.0", token: b, header: map[string]string{"Prefer": "return=representation"}})
		var deleted []map[string]any
		r.JSON(t, &deleted)
		require.Len(t, deleted, 1, "B deletes only its own row")
		r = e.do(t, call{method: "DELETE", path: "/notes?id=gt.0", header: map[string]string{"Prefer": "return=representation"}})
		require.Equal(t, jsonText(t, `[]`), jsonOf(t, r), "anon deletes nothing")
	})
	t.Run("final state", func(t *testing.T) {
		require.Equal(t, []string{"a-edited", "a-new", "a-public", "svc"}, bodies(service))
	})
}

func TestJWTErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired, err := e.Keys.Sign(jwt.MapClaims{"role": "authenticated", "sub": userA, "exp": time.Now().Add(-time.Hour).Unix()})
	require.NoError(t, err)
	r := e.do(t, call{path: "/notes", token: expired})
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, string(r.Body), `"code":"PGRST303"`)
	require.Contains(t, string(r.Body), `"message":"JWT expired"`)
	require.Contains(t, r.Header.Get("WWW-Authenticate"), "invalid_token")

	r = e.do(t, call{path: "/notes", token: "not-a-jwt"})
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, string(r.Body), `"code":"PGRST301"`)

	unknownRole, err := e.Keys.Sign(jwt.MapClaims{"role": "superuser", "exp": time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	r = e.do(t, call{path: "/notes", token: unknownRole})
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
}

// TestColumnPrivileges: a column the caller's role may not read is refused as PostgreSQL
// refuses it (42501, 401 for anon), while the columns it may read still work.
func TestColumnPrivileges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `REVOKE SELECT ON authors FROM anon; GRANT SELECT (id, name) ON authors TO anon;`)
	run(t, e, []scenario{
		{name: "granted columns", call: call{path: "/authors?select=id,name&order=id&limit=1"}, status: 200,
			body: `[{"id":1,"name":"Ada"}]`},
		{name: "revoked column", call: call{path: "/authors?select=email"}, status: 401, code: "42501",
			headers: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "revoked column in a filter", call: call{path: "/authors?select=id&email=eq.ada@example.com"}, status: 401, code: "42501"},
		{name: "other roles keep the column", call: call{path: "/authors?select=email&id=eq.1", token: e.UserToken(t, userA, nil)}, status: 200,
			body: `[{"email":"ada@example.com"}]`},
	})
}
