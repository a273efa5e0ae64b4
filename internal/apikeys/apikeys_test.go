package apikeys_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/security"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var cli = audit.Actor{Type: audit.ActorCLI}

func create(t *testing.T, db *pgtest.Database, n apikeys.NewKey) apikeys.Created {
	t.Helper()
	var c apikeys.Created
	err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
		var err error
		c, err = apikeys.Create(context.Background(), tx, n, cli, audit.Client{})
		return err
	})
	require.NoError(t, err)
	return c
}

func revoke(t *testing.T, db *pgtest.Database, id string) apikeys.Key {
	t.Helper()
	var k apikeys.Key
	err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
		var err error
		k, err = apikeys.Revoke(context.Background(), tx, id, cli, audit.Client{})
		return err
	})
	require.NoError(t, err)
	return k
}

// clock is a settable clock for Verifiers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestCreateShowsTheKeyOnceAndStoresOnlyItsHash(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	pub := create(t, db, apikeys.NewKey{Name: "web", Kind: security.KindPublishable})
	sec := create(t, db, apikeys.NewKey{Name: "worker", Kind: security.KindSecret,
		Scopes: security.KeyScope{Services: []string{"rest", "storage", "rest"}, Tables: []string{"public.posts"}}})

	require.Regexp(t, `^gf_pub_[0-9A-Za-z]{43}$`, pub.APIKey)
	require.Regexp(t, `^gf_sec_[0-9A-Za-z]{43}$`, sec.APIKey)
	require.Equal(t, sec.APIKey[:13], sec.Prefix)
	require.Equal(t, []string{"rest", "storage"}, sec.Scopes.Services, "sorted, without duplicates")

	// Nothing stored holds the key: only its SHA-256 and the prefix.
	var row string
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT to_jsonb(k)::text FROM goforward.api_keys k WHERE id = $1`, sec.ID).Scan(&row))
	require.NotContains(t, row, sec.APIKey[13:])
	var stored []byte
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT key_hash FROM goforward.api_keys WHERE id = $1`, sec.ID).Scan(&stored))
	want := security.HashAPIKey(sec.APIKey)
	require.Equal(t, want[:], stored)

	keys, err := apikeys.List(ctx, db.Pool, false)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	listed, err := json.Marshal(keys)
	require.NoError(t, err)
	require.NotContains(t, string(listed), sec.APIKey)
	require.NotContains(t, string(listed), pub.APIKey)

	// Each creation is in the audit log; a secret key's as a warning.
	var severities []string
	rows, err := db.Pool.Query(ctx, `SELECT severity FROM goforward.audit_log WHERE action = 'api_key.create' ORDER BY id`)
	require.NoError(t, err)
	severities, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"info", "warning"}, severities)
}

func TestCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	past := time.Now().Add(-time.Minute)
	wide := security.KeyScope{Services: []string{"rest"}}
	for _, n := range []apikeys.NewKey{
		{Name: " ", Kind: security.KindSecret},
		{Name: strings.Repeat("x", 101), Kind: security.KindSecret},
		{Name: "a", Kind: "root"},
		{Name: "a", Kind: security.KindSecret, ExpiresAt: &past},
		{Name: "a", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"graphql"}}},
		{Name: "a", Kind: security.KindSecret, Scopes: security.KeyScope{Tables: []string{"posts"}}},
		{Name: "a", Kind: security.KindSecret, Scopes: security.KeyScope{Tables: []string{"public. posts"}}},
		{Name: "a", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"rest", "meta"}, Tables: []string{"public.posts"}}},
	} {
		err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
			_, err := apikeys.Create(context.Background(), tx, n, cli, audit.Client{})
			return err
		})
		var verr *apikeys.ValidationError
		require.ErrorAs(t, err, &verr, "%+v", n)
	}
	// A key limited to REST cannot hand out a key for storage, nor an unlimited one.
	for _, scopes := range []security.KeyScope{{}, {Services: []string{"storage"}}} {
		err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
			_, err := apikeys.Create(context.Background(), tx, apikeys.NewKey{Name: "b", Kind: security.KindSecret, Scopes: scopes, Limit: &wide}, cli, audit.Client{})
			return err
		})
		require.ErrorIs(t, err, apikeys.ErrTooWide)
	}

	create(t, db, apikeys.NewKey{Name: "same", Kind: security.KindSecret})
	err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
		_, err := apikeys.Create(context.Background(), tx, apikeys.NewKey{Name: "same", Kind: security.KindPublishable}, cli, audit.Client{})
		return err
	})
	require.ErrorIs(t, err, apikeys.ErrNameTaken)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	pub := create(t, db, apikeys.NewKey{Name: "web", Kind: security.KindPublishable})
	sec := create(t, db, apikeys.NewKey{Name: "worker", Kind: security.KindSecret, Scopes: security.KeyScope{Services: []string{"rest"}}})
	v := apikeys.NewVerifier(db.Pool, apikeys.VerifierConfig{}, nil)
	require.NoError(t, v.Load(ctx))

	p, err := v.Resolve(ctx, pub.APIKey)
	require.NoError(t, err)
	require.Equal(t, "anon", p.Role)
	require.Equal(t, pub.ID, p.Key.ID)
	require.Equal(t, security.KindPublishable, p.Key.Kind)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(p.Claims, &claims))
	require.Equal(t, "anon", claims["role"])
	require.Equal(t, pub.ID, claims["api_key_id"])
	require.NotNil(t, claims["exp"], "realtime requires exp")

	p, err = v.Resolve(ctx, sec.APIKey)
	require.NoError(t, err)
	require.Equal(t, "service_role", p.Role)
	require.Equal(t, []string{"rest"}, p.Key.Scope.Services)

	for _, bad := range []string{"", "gf_sec_", sec.APIKey + "x", sec.APIKey[:len(sec.APIKey)-1], "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		_, err := v.Resolve(ctx, bad)
		require.ErrorIs(t, err, apikeys.ErrUnknownKey, bad)
		require.ErrorIs(t, err, security.ErrTokenInvalid, bad)
	}
}

func TestExpiredKeysAreRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	in := time.Now().Add(time.Hour)
	k := create(t, db, apikeys.NewKey{Name: "temp", Kind: security.KindSecret, ExpiresAt: &in})
	c := &clock{now: time.Now()}
	v := apikeys.NewVerifier(db.Pool, apikeys.VerifierConfig{Now: c.Now}, nil)
	require.NoError(t, v.Load(ctx))

	p, err := v.Resolve(ctx, k.APIKey)
	require.NoError(t, err)
	var claims struct{ Exp int64 }
	require.NoError(t, json.Unmarshal(p.Claims, &claims))
	require.Equal(t, in.Unix(), claims.Exp, "the claims expire with the key")

	c.Add(time.Hour + time.Second)
	_, err = v.Resolve(ctx, k.APIKey)
	require.ErrorIs(t, err, apikeys.ErrKeyExpired)
	// Still refused after a reload.
	require.NoError(t, v.Load(ctx))
	_, err = v.Resolve(ctx, k.APIKey)
	require.ErrorIs(t, err, apikeys.ErrKeyExpired)
}

// TestRevocationReachesEveryNode: two Verifiers on one database (two nodes) learn of a new
// key and of its revocation through the notification, with no request in between. Their
// periodic resync and retry are an hour away, so only the NOTIFY can make them reload: each
// node is watched through OnReload, and the key is checked right after the reloads the
// notification causes, never by waiting for time to pass.
func TestRevocationReachesEveryNode(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type node struct {
		v        *apikeys.Verifier
		reloaded chan struct{}
	}
	var nodes []node
	for range 2 {
		n := node{
			v:        apikeys.NewVerifier(db.NewPool(t), apikeys.VerifierConfig{ResyncInterval: time.Hour, RetryInterval: time.Hour}, nil),
			reloaded: make(chan struct{}, 1),
		}
		n.v.OnReload(func() {
			select {
			case n.reloaded <- struct{}{}:
			default: // a reload is already waiting to be seen; it will see this one's keys too
			}
		})
		nodes = append(nodes, n)
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { _ = n.v.Run(ctx) })
	}
	defer wg.Wait()
	defer cancel()
	// nextReload waits for n's next reload; the bound only stops a broken test from hanging.
	nextReload := func(n node) {
		t.Helper()
		select {
		case <-n.reloaded:
		case <-time.After(time.Minute):
			t.Fatal("no reload: the notification did not reach the node")
		}
	}
	// A node's first reload comes after its LISTEN: from then on it hears every change.
	for _, n := range nodes {
		nextReload(n)
	}

	k := create(t, db, apikeys.NewKey{Name: "ci", Kind: security.KindSecret})
	for _, n := range nodes {
		for {
			nextReload(n)
			if _, err := n.v.Resolve(ctx, k.APIKey); err == nil {
				break
			}
		}
	}
	revoke(t, db, k.ID)
	for i, n := range nodes {
		for {
			nextReload(n)
			_, err := n.v.Resolve(ctx, k.APIKey)
			if err != nil {
				require.ErrorIs(t, err, apikeys.ErrUnknownKey, "node %d", i)
				break
			}
		}
	}
}

// TestLastUseIsWrittenRarely: resolving a key writes nothing; the noted use goes out in one
// batched statement, once per interval however many requests there were.
func TestLastUseIsWrittenRarely(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	a := create(t, db, apikeys.NewKey{Name: "a", Kind: security.KindSecret})
	b := create(t, db, apikeys.NewKey{Name: "b", Kind: security.KindPublishable})
	// Count every write to the table.
	_, err := db.Pool.Exec(ctx, `CREATE TABLE key_writes (n int);
CREATE FUNCTION count_key_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO key_writes VALUES (1); RETURN NULL; END $$;
CREATE TRIGGER count_key_write AFTER UPDATE ON goforward.api_keys FOR EACH ROW EXECUTE FUNCTION count_key_write();`)
	require.NoError(t, err)
	writes := func() int {
		var n int
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM key_writes`).Scan(&n))
		return n
	}
	lastUsed := func(id string) *time.Time {
		var at *time.Time
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT last_used_at FROM goforward.api_keys WHERE id = $1`, id).Scan(&at))
		return at
	}

	c := &clock{now: time.Now().Truncate(time.Second)}
	v := apikeys.NewVerifier(db.Pool, apikeys.VerifierConfig{Now: c.Now}, nil)
	require.NoError(t, v.Load(ctx))
	for range 1000 {
		_, err := v.Resolve(ctx, a.APIKey)
		require.NoError(t, err)
		_, err = v.Resolve(ctx, b.APIKey)
		require.NoError(t, err)
	}
	require.Zero(t, writes(), "requests write nothing")
	n, err := v.FlushLastUsed(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, 2, writes(), "one row each, in one statement")
	require.WithinDuration(t, c.Now(), *lastUsed(a.ID), time.Second)

	// More requests within the minute: nothing more to write, even after a reload.
	c.Add(30 * time.Second)
	require.NoError(t, v.Load(ctx))
	for range 1000 {
		_, err := v.Resolve(ctx, a.APIKey)
		require.NoError(t, err)
	}
	n, err = v.FlushLastUsed(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 2, writes())

	// A minute on, the next use is written again, for the key that was used only.
	c.Add(31 * time.Second)
	_, err = v.Resolve(ctx, a.APIKey)
	require.NoError(t, err)
	n, err = v.FlushLastUsed(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Equal(t, 3, writes())
	require.WithinDuration(t, c.Now(), *lastUsed(a.ID), time.Second)

	// Another node that used the key in the same minute writes nothing.
	other := apikeys.NewVerifier(db.Pool, apikeys.VerifierConfig{Now: c.Now}, nil)
	require.NoError(t, other.Load(ctx))
	_, err = other.Resolve(ctx, a.APIKey)
	require.NoError(t, err)
	n, err = other.FlushLastUsed(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 3, writes())
}

func TestFindAndRevoke(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	k := create(t, db, apikeys.NewKey{Name: "ci", Kind: security.KindSecret})
	for _, ref := range []string{k.ID, "ci", k.Prefix} {
		got, err := apikeys.Find(ctx, db.Pool, ref)
		require.NoError(t, err, ref)
		require.Equal(t, k.ID, got.ID)
	}
	_, err := apikeys.Find(ctx, db.Pool, "nope")
	require.ErrorIs(t, err, apikeys.ErrNotFound)
	_, err = apikeys.Get(ctx, db.Pool, "not-a-uuid")
	require.ErrorIs(t, err, apikeys.ErrNotFound)

	revoked := revoke(t, db, k.ID)
	require.NotNil(t, revoked.RevokedAt)
	require.Equal(t, audit.ActorCLI, revoked.RevokedBy.Type)
	again := revoke(t, db, k.ID)
	require.Equal(t, revoked.RevokedAt.UTC(), again.RevokedAt.UTC(), "revoking twice changes nothing")

	live, err := apikeys.List(ctx, db.Pool, false)
	require.NoError(t, err)
	require.Empty(t, live)
	all, err := apikeys.List(ctx, db.Pool, true)
	require.NoError(t, err)
	require.Len(t, all, 1)
	// The name is free again.
	create(t, db, apikeys.NewKey{Name: "ci", Kind: security.KindSecret})
	var revocations int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE action = 'api_key.revoke' AND severity = 'warning'`).Scan(&revocations))
	require.Equal(t, 1, revocations)
}
