package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// keyFixture is a database with opaque API keys and a Verifier that knows them.
type keyFixture struct {
	db       *pgtest.Database
	verifier *apikeys.Verifier
}

func newKeyFixture(t *testing.T, cfg apikeys.VerifierConfig) *keyFixture {
	t.Helper()
	db := pgtest.NewDatabase(t)
	return &keyFixture{db: db, verifier: apikeys.NewVerifier(db.Pool, cfg, nil)}
}

func (k *keyFixture) create(t *testing.T, n apikeys.NewKey) apikeys.Created {
	t.Helper()
	var c apikeys.Created
	require.NoError(t, pgx.BeginFunc(t.Context(), k.db.Pool, func(tx pgx.Tx) error {
		var err error
		c, err = apikeys.Create(t.Context(), tx, n, audit.Actor{Type: audit.ActorCLI}, audit.Client{})
		return err
	}))
	return c
}

func (k *keyFixture) revoke(t *testing.T, id string) {
	t.Helper()
	require.NoError(t, pgx.BeginFunc(t.Context(), k.db.Pool, func(tx pgx.Tx) error {
		_, err := apikeys.Revoke(t.Context(), tx, id, audit.Actor{Type: audit.ActorCLI}, audit.Client{})
		return err
	}))
}

func withAPIKeys(r gateway.APIKeyResolver) func(*options) {
	return func(o *options) { o.deps.APIKeys = r }
}

func TestOpaqueAPIKeys(t *testing.T) {
	t.Parallel()
	later := time.Now().Add(2 * time.Hour)
	k := newKeyFixture(t, apikeys.VerifierConfig{Now: func() time.Time { return later }})
	soon := time.Now().Add(time.Hour)
	pub := k.create(t, apikeys.NewKey{Name: "web", Kind: security.KindPublishable})
	sec := k.create(t, apikeys.NewKey{Name: "server", Kind: security.KindSecret})
	storageOnly := k.create(t, apikeys.NewKey{Name: "uploads", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"storage"}}})
	pubStorageOnly := k.create(t, apikeys.NewKey{Name: "public uploads", Kind: security.KindPublishable, Scopes: security.KeyScope{Services: []string{"storage"}}})
	expired := k.create(t, apikeys.NewKey{Name: "temp", Kind: security.KindSecret, ExpiresAt: &soon})
	revoked := k.create(t, apikeys.NewKey{Name: "old", Kind: security.KindSecret})
	k.revoke(t, revoked.ID)
	require.NoError(t, k.verifier.Load(t.Context()))

	f := newFixture(t, withAPIKeys(k.verifier))
	user := f.userToken(t)
	invalidKey := kong("Invalid authentication credentials")
	notAllowed := kong("You cannot consume this service")
	browser := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	expectKey := func(role, keyID string) func(*testing.T, *http.Response, []byte) {
		return func(t *testing.T, _ *http.Response, body []byte) {
			got := decodeWhoami(t, body)
			require.Equal(t, role, got.Role)
			require.Equal(t, keyID, got.KeyID)
		}
	}

	run(t, f, []scenario{
		{name: "publishable key acts as anon", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + pub.APIKey},
			expectedStatus: http.StatusOK, check: expectKey("anon", pub.ID)},
		{name: "secret key acts as service_role", url: "/auth/v1/whoami", headers: map[string]string{"apikey": sec.APIKey, "Authorization": "Bearer " + sec.APIKey},
			expectedStatus: http.StatusOK, check: expectKey("service_role", sec.ID)},
		{name: "key in the query", url: "/auth/v1/whoami?apikey=" + sec.APIKey,
			expectedStatus: http.StatusOK, check: expectKey("service_role", sec.ID)},
		{name: "secret key as bearer under the anon key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": f.keys.AnonKey(), "Authorization": "Bearer " + sec.APIKey},
			expectedStatus: http.StatusOK, check: expectKey("service_role", sec.ID)},
		{name: "user token under a publishable key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + user},
			expectedStatus: http.StatusOK, check: expectWhoami("authenticated", "user-1", true, "")},
		{name: "unknown key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": "gf_sec_" + strings.Repeat("A", 43)},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "revoked key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": revoked.APIKey},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "expired key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": expired.APIKey},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "expired key as bearer is recorded", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + expired.APIKey},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, "expired")},

		// Scopes, per service.
		{name: "scoped key outside its service", url: "/auth/v1/whoami", headers: map[string]string{"apikey": storageOnly.APIKey},
			expectedStatus: http.StatusForbidden, expectedContent: []string{notAllowed}},
		{name: "scoped key on an open route outside its service", url: "/auth/v1/verify", headers: map[string]string{"apikey": storageOnly.APIKey},
			expectedStatus: http.StatusForbidden, expectedContent: []string{notAllowed}},
		{name: "scoped key on an unknown path of another service", url: "/auth/v1/nothing", headers: map[string]string{"apikey": storageOnly.APIKey},
			expectedStatus: http.StatusForbidden, expectedContent: []string{notAllowed}},
		{name: "scoped key inside its service", method: http.MethodPut, url: "/storage/v1/object/b/a.txt", body: "hello", headers: map[string]string{"apikey": storageOnly.APIKey},
			expectedStatus: http.StatusOK, expectedContent: []string{`"bytes":5`}},
		{name: "scoped bearer key outside its service", url: "/auth/v1/whoami", headers: map[string]string{"apikey": f.keys.AnonKey(), "Authorization": "Bearer " + storageOnly.APIKey},
			expectedStatus: http.StatusForbidden, expectedContent: []string{notAllowed}},
		{name: "a user's token does not lift the key's scope", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pubStorageOnly.APIKey, "Authorization": "Bearer " + user},
			expectedStatus: http.StatusForbidden, expectedContent: []string{notAllowed}},
		{name: "health is nobody's service", url: "/health", headers: map[string]string{"apikey": storageOnly.APIKey},
			expectedStatus: http.StatusOK},

		// Browsers.
		{name: "secret key from a browser", url: "/auth/v1/whoami", headers: map[string]string{"apikey": sec.APIKey, "User-Agent": browser},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{"Secret API keys cannot be used from a browser"}},
		{name: "secret bearer key from a browser", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + sec.APIKey, "User-Agent": browser},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{"Secret API keys cannot be used from a browser"}},
		{name: "publishable key from a browser", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "User-Agent": browser},
			expectedStatus: http.StatusOK, check: expectKey("anon", pub.ID)},
		{name: "legacy service key from a browser is Supabase's business as before", url: "/auth/v1/whoami", headers: map[string]string{"apikey": f.keys.ServiceRoleKey(), "User-Agent": browser},
			expectedStatus: http.StatusOK, check: expectWhoami("service_role", "", true, "")},
	})
}

// TestAccessLogNamesTheKey: the access log names the key a request came with by its id,
// never by the key.
func TestAccessLogNamesTheKey(t *testing.T) {
	t.Parallel()
	k := newKeyFixture(t, apikeys.VerifierConfig{})
	sec := k.create(t, apikeys.NewKey{Name: "server", Kind: security.KindSecret})
	require.NoError(t, k.verifier.Load(t.Context()))
	f := newFixture(t, withAPIKeys(k.verifier))
	resp, _ := get(t, f, "/auth/v1/whoami", map[string]string{"apikey": sec.APIKey})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	logs := f.logs.String()
	require.Contains(t, logs, `"api_key_id":"`+sec.ID+`"`)
	require.NotContains(t, logs, sec.APIKey)
}

func TestOpaqueKeysWithoutAResolverAreInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	run(t, f, []scenario{
		{name: "opaque key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": "gf_pub_" + strings.Repeat("a", 43)},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{kong("Invalid authentication credentials")}},
	})
}

func TestMetricsTakeASecretKeyScopedToThem(t *testing.T) {
	t.Parallel()
	k := newKeyFixture(t, apikeys.VerifierConfig{})
	scraper := k.create(t, apikeys.NewKey{Name: "prometheus", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"metrics"}}})
	restOnly := k.create(t, apikeys.NewKey{Name: "rest", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"rest"}}})
	unscoped := k.create(t, apikeys.NewKey{Name: "server", Kind: security.KindSecret})
	pub := k.create(t, apikeys.NewKey{Name: "web", Kind: security.KindPublishable})
	require.NoError(t, k.verifier.Load(t.Context()))
	f := newFixture(t, withAPIKeys(k.verifier), func(o *options) { o.cfg.ProtectMetrics = true })
	run(t, f, []scenario{
		{name: "scraper key", url: "/metrics", headers: map[string]string{"Authorization": "Bearer " + scraper.APIKey}, expectedStatus: http.StatusOK},
		{name: "unscoped secret key", url: "/metrics", headers: map[string]string{"apikey": unscoped.APIKey}, expectedStatus: http.StatusOK},
		{name: "key for another service", url: "/metrics", headers: map[string]string{"apikey": restOnly.APIKey}, expectedStatus: http.StatusUnauthorized},
		{name: "publishable key", url: "/metrics", headers: map[string]string{"apikey": pub.APIKey}, expectedStatus: http.StatusUnauthorized},
		{name: "scraper key is for metrics only", url: "/auth/v1/whoami", headers: map[string]string{"apikey": scraper.APIKey}, expectedStatus: http.StatusForbidden},
	})
}

// TestRevocationReachesEveryGateway: two nodes on one database, each a gateway with its own
// Verifier; a key revoked through one database write stops working on both without any
// request having to fail first.
func TestRevocationReachesEveryGateway(t *testing.T) {
	t.Parallel()
	k := newKeyFixture(t, apikeys.VerifierConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	var nodes []*fixture
	for range 2 {
		v := apikeys.NewVerifier(k.db.NewPool(t), apikeys.VerifierConfig{}, nil)
		require.NoError(t, v.Load(ctx))
		wg.Go(func() { _ = v.Run(ctx) })
		nodes = append(nodes, newFixture(t, withAPIKeys(v)))
	}
	key := k.create(t, apikeys.NewKey{Name: "worker", Kind: security.KindSecret})
	status := func(f *fixture) int {
		resp, _ := get(t, f, "/auth/v1/whoami", map[string]string{"apikey": key.APIKey})
		return resp.StatusCode
	}
	for _, n := range nodes {
		require.Eventually(t, func() bool { return status(n) == http.StatusOK }, 10*time.Second, 5*time.Millisecond, "a new key reaches every node")
	}
	k.revoke(t, key.ID)
	for _, n := range nodes {
		require.Eventually(t, func() bool { return status(n) == http.StatusUnauthorized }, 10*time.Second, 5*time.Millisecond, "the revocation reaches every node")
	}
}

func TestLegacyKeysCanBeDisabled(t *testing.T) {
	t.Parallel()
	k := newKeyFixture(t, apikeys.VerifierConfig{})
	pub := k.create(t, apikeys.NewKey{Name: "web", Kind: security.KindPublishable})
	require.NoError(t, k.verifier.Load(t.Context()))
	legacy := newFixture(t)
	f := newFixture(t, withAPIKeys(k.verifier), func(o *options) {
		keys, err := security.NewKeys(testSecret, "", time.Now().Add(-time.Hour), security.WithoutLegacyKeys())
		require.NoError(t, err)
		o.deps.Keys = keys
		o.cfg.ProtectMetrics = true
	})
	user := f.userToken(t)
	invalidKey := kong("Invalid authentication credentials")
	run(t, f, []scenario{
		{name: "anon key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": legacy.keys.AnonKey()},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "service role key", url: "/auth/v1/whoami", headers: map[string]string{"apikey": legacy.keys.ServiceRoleKey()},
			expectedStatus: http.StatusUnauthorized, expectedContent: []string{invalidKey}},
		{name: "service role key as bearer", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + legacy.keys.ServiceRoleKey()},
			expectedStatus: http.StatusOK, check: expectWhoami("anon", "", true, "legacy JWT API keys are disabled")},
		{name: "service role key on metrics", url: "/metrics", headers: map[string]string{"apikey": legacy.keys.ServiceRoleKey()},
			expectedStatus: http.StatusUnauthorized},
		{name: "publishable key and a user's token", url: "/auth/v1/whoami", headers: map[string]string{"apikey": pub.APIKey, "Authorization": "Bearer " + user},
			expectedStatus: http.StatusOK, check: expectWhoami("authenticated", "user-1", true, "")},
	})
}
