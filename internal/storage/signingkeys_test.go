package storage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

// TestAsymmetricUserTokens: an ES256 user token verified by kid reaches storage as its user;
// tokens of an unknown key, or of the wrong algorithm for the kid, are refused in Storage's
// shape, with jose's words for a kid the JWKS does not have.
func TestAsymmetricUserTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	e.UseSigningKey(t)
	resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: e.AsymmetricUserToken(t, uid(1), nil)})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

	forged := e.ForgedUserTokens(t, uid(1))
	messages := map[string]string{
		"unknown kid":          "no applicable key found in the JSON Web Key Set",
		"wrong key, known kid": "signature verification failed",
		"hs256 claiming es256": "invalid jwt",
		"alg none":             `"alg" (Algorithm) Header Parameter value not allowed`,
	}
	for name, token := range forged {
		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: token})
		body := requireError(t, resp, "403", "AccessDenied")
		require.Equal(t, messages[name], body.Message, name)
	}
}
