package storage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

// TestAPIKeysActAsTheirRoles: a secret key does what the service-role key does (creating a
// bucket, writing past row-level security), a publishable key what the anon key does (and
// a user's token under it what the user may), and a key scoped to other services is refused.
func TestAPIKeysActAsTheirRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	secret := e.CreateAPIKey(t, apikeys.NewKey{Name: "server", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"storage"}}}).APIKey
	publishable := e.CreateAPIKey(t, apikeys.NewKey{Name: "web", Kind: security.KindPublishable}).APIKey
	restOnly := e.CreateAPIKey(t, apikeys.NewKey{Name: "rest", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"rest"}}}).APIKey

	res := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Key: secret, Body: map[string]any{"name": "private"}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Key: publishable, Body: map[string]any{"name": "anon"}})
	require.NotEqual(t, http.StatusOK, res.Status, "anon may not create buckets: %s", res.Body)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.buckets`))

	res = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/private/by-server.txt", Key: secret,
		Body: []byte("server"), Header: http.Header{"Content-Type": {"text/plain"}}})
	require.Equal(t, http.StatusOK, res.Status, "the secret key bypasses row-level security: %s", res.Body)

	e.exec(t, supabaseDocsPolicies)
	user := uid(1)
	res = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/private/" + user + "/mine.txt", Key: publishable,
		Token: e.UserToken(t, user, nil), Body: []byte("mine"), Header: http.Header{"Content-Type": {"text/plain"}}})
	require.Equal(t, http.StatusOK, res.Status, "a user's token under the publishable key: %s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/private/by-server.txt", Key: publishable})
	require.NotEqual(t, http.StatusOK, res.Status, "anon reads nothing private: %s", res.Body)

	res = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Key: restOnly})
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
}
