package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAsymmetricUserTokens: with an ES256 signing key, user tokens verified by kid reach
// their rows; tokens of an unknown or removed key, or of the wrong algorithm for the kid,
// answer PostgREST's 401 PGRST301.
func TestAsymmetricUserTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.UseSigningKey(t)
	hs := e.do(t, call{path: "/notes?select=body&order=body", token: e.UserToken(t, userA, nil)})
	require.Equal(t, http.StatusOK, hs.Status, "%s", hs.Body)

	es := e.do(t, call{path: "/notes?select=body&order=body", token: e.AsymmetricUserToken(t, userA, nil)})
	require.Equal(t, http.StatusOK, es.Status, "%s", es.Body)
	require.JSONEq(t, string(hs.Body), string(es.Body), "the ES256 token is the same user as the HS256 one")

	for name, token := range e.ForgedUserTokens(t, userA) {
		r := e.do(t, call{path: "/notes", token: token})
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r.Body)
		require.Contains(t, string(r.Body), `"code":"PGRST301"`, name)
	}
}
