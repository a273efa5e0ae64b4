package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/redistest"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/tablesecurity"
)

// These tests run REST behind the gateway with a table security registry, as goforward serve
// wires them, and change configs through tablesecurity.Service as the admin API does.

const securedFixture = `
CREATE TABLE customers (
	id int PRIMARY KEY,
	owner_id uuid NOT NULL DEFAULT auth.uid(),
	name text NOT NULL,
	email text,
	card text
);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers (id), total numeric);
INSERT INTO customers VALUES
	(1, '` + userA + `', 'Ann', 'ann@example.com', '4111111111111111'),
	(2, '` + userB + `', 'Bob', 'bob@example.org', '5500000000000004');
INSERT INTO orders VALUES (10, 1, 9.5), (11, 2, 20);
CREATE FUNCTION all_customers() RETURNS SETOF customers LANGUAGE sql STABLE AS 'SELECT * FROM customers';
`

type securedEnv struct {
	*servicetest.Env
	tables   *tablesecurity.Registry
	security *tablesecurity.Service
}

func newSecuredEnv(t *testing.T) *securedEnv {
	t.Helper()
	return newSecuredNode(t, nil, nil)
}

// newSecuredNode is a node over shared's database (nil: a fresh one with the fixture), its
// table rate limits made by limits (nil: in this node's memory).
func newSecuredNode(t *testing.T, shared *securedEnv, limits *ratelimit.Store) *securedEnv {
	t.Helper()
	e := &securedEnv{}
	var opts servicetest.Options
	if shared != nil {
		opts.DB = shared.DB
	}
	opts.Tables = func(*servicetest.Env) gateway.TableGuard { return e.tables }
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		if shared == nil {
			_, err := se.DB.Pool.Exec(context.Background(), securedFixture)
			require.NoError(t, err)
		}
		e.tables = tablesecurity.NewRegistry(se.DB.Pool, se.Logger)
		e.tables.Limits = limits
		e.security = tablesecurity.NewService(se.DB.Pool, se.Logger)
		svc, err := rest.New(rest.Config{Schemas: []string{"public"}},
			rest.Deps{Owner: se.DB.Pool, Runner: se.Runner, Logger: se.Logger, Overlays: e.tables})
		require.NoError(t, err)
		return []gateway.Service{{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount}}
	}, opts)
	return e
}

// secure applies cfg to public.table and loads the registry, as the NOTIFY would.
func (e *securedEnv) secure(t *testing.T, table string, cfg map[string]any) {
	t.Helper()
	body, err := json.Marshal(cfg)
	require.NoError(t, err)
	_, err = e.security.Put(context.Background(), "public", table, body,
		tablesecurity.Change{Audit: audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}}})
	require.NoError(t, err)
	require.NoError(t, e.tables.Load(context.Background()))
}

func (e *securedEnv) get(t *testing.T, token, path string, header ...string) servicetest.Response {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	req := servicetest.Request{Method: http.MethodGet, Path: rest.Prefix + path, Token: token, Header: h}
	if token == "service" {
		req.Key, req.Token = e.ServiceRoleKey(), ""
	}
	return e.Do(t, req)
}

var ownedAndMasked = map[string]any{
	"api_config": map[string]any{"require_ownership": true, "ownership_column": "owner_id"},
	"field_permissions": map[string]any{
		"email": map[string]any{"is_masked": true, "mask": "email"},
		"card":  map[string]any{"is_masked": true, "mask": "last4"},
	},
}

func TestMaskedFieldsNeverLeakThroughREST(t *testing.T) {
	e := newSecuredEnv(t)
	e.secure(t, "customers", ownedAndMasked)
	ann := e.UserToken(t, userA, nil)
	raw := []string{"ann@example.com", "4111111111111111", "bob@example.org", "5500000000000004"}
	noRaw := func(t *testing.T, res servicetest.Response) {
		t.Helper()
		for _, v := range raw {
			assert.NotContains(t, string(res.Body), v)
		}
		assert.NotContains(t, string(res.Body), tablesecurity.MaskColumnPrefix)
	}

	res := e.get(t, ann, "/customers?select=*")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":1,"owner_id":"`+userA+`","name":"Ann","email":"a***@example.com","card":"****1111"}]`, string(res.Body))

	res = e.get(t, ann, "/orders?select=id,customers(*)")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":10,"customers":{"id":1,"owner_id":"`+userA+`","name":"Ann","email":"a***@example.com","card":"****1111"}},
		{"id":11,"customers":null}]`, string(res.Body))
	noRaw(t, res)

	res = e.get(t, ann, "/customers?select=name,email", "Accept", "text/csv")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, "name,email\nAnn,a***@example.com", strings.TrimSpace(string(res.Body)))

	// A filter compares the masked value: it cannot be used to guess the real one.
	res = e.get(t, ann, "/customers?select=id&email=eq.ann@example.com")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[]`, string(res.Body))

	// A function reading the table as the caller cannot read the raw column either.
	res = e.get(t, ann, "/rpc/all_customers")
	assert.NotEqual(t, http.StatusOK, res.Status, "%s", res.Body)
	noRaw(t, res)

	// Direct SQL as the role: the raw column is not readable.
	tx, err := e.DB.Pool.Begin(context.Background())
	require.NoError(t, err)
	defer tx.Rollback(context.Background()) //nolint:errcheck
	_, err = tx.Exec(context.Background(), "SET LOCAL ROLE authenticated")
	require.NoError(t, err)
	_, err = tx.Exec(context.Background(), "SELECT email FROM public.customers")
	require.ErrorContains(t, err, "permission denied")
	require.NoError(t, tx.Rollback(context.Background()))

	// The service role sees the value.
	res = e.get(t, "service", "/customers?select=id,email&order=id")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":1,"email":"ann@example.com"},{"id":2,"email":"bob@example.org"}]`, string(res.Body))
}

func TestTableRateLimitCountsPerUser(t *testing.T) {
	e := newSecuredEnv(t)
	e.secure(t, "customers", map[string]any{"api_config": map[string]any{
		"public_read": true, "rate_limit": map[string]any{"requests_per_minute": 2},
	}})
	ann, bob := e.UserToken(t, userA, nil), e.UserToken(t, userB, nil)
	for range 2 {
		res := e.get(t, ann, "/customers?select=id")
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	}
	res := e.get(t, ann, "/customers?select=id")
	require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	// Another user, and another table, are not held up.
	assert.Equal(t, http.StatusOK, e.get(t, bob, "/customers?select=id").Status)
	assert.Equal(t, http.StatusOK, e.get(t, ann, "/orders?select=id").Status)
	// The service role is exempt.
	assert.Equal(t, http.StatusOK, e.get(t, "service", "/customers?select=id").Status)
}

// With Redis, a table's rate limit holds across nodes: one user's requests split over two
// gateways are counted together.
func TestTableRateLimitSharedAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	store := func() *ratelimit.Store {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { client.Close() })
		return ratelimit.NewStore(ratelimit.StoreConfig{Redis: client})
	}
	a := newSecuredNode(t, nil, store())
	b := newSecuredNode(t, a, store())
	a.secure(t, "customers", map[string]any{"api_config": map[string]any{
		"public_read": true, "rate_limit": map[string]any{"requests_per_minute": 2},
	}})
	require.NoError(t, b.tables.Load(context.Background()))
	ann, bob := a.UserToken(t, userA, nil), a.UserToken(t, userB, nil)

	require.Equal(t, http.StatusOK, a.get(t, ann, "/customers?select=id").Status)
	require.Equal(t, http.StatusOK, b.get(t, ann, "/customers?select=id").Status)
	res := a.get(t, ann, "/customers?select=id")
	require.Equal(t, http.StatusTooManyRequests, res.Status, "node a counts node b's request: %s", res.Body)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, b.get(t, ann, "/customers?select=id").Status)
	// Another user has a bucket of their own on both nodes.
	assert.Equal(t, http.StatusOK, b.get(t, bob, "/customers?select=id").Status)
}

func TestTableIPAllowListRefusesOtherClients(t *testing.T) {
	e := newSecuredEnv(t)
	ann := e.UserToken(t, userA, nil)
	e.secure(t, "customers", map[string]any{"api_config": map[string]any{
		"public_read": true, "ip_whitelist": []string{"10.0.0.0/8"},
	}})
	res := e.get(t, ann, "/customers?select=id")
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	assert.Equal(t, http.StatusOK, e.get(t, ann, "/orders?select=id").Status)

	e.secure(t, "customers", map[string]any{"api_config": map[string]any{
		"public_read": true, "ip_whitelist": []string{"127.0.0.1", "::1"},
	}})
	res = e.get(t, ann, "/customers?select=id&order=id")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":1},{"id":2}]`, string(res.Body))
}

func TestAuditedActionsReachTheAuditLog(t *testing.T) {
	e := newSecuredEnv(t)
	e.secure(t, "customers", map[string]any{
		"api_config":   map[string]any{"require_ownership": true, "ownership_column": "owner_id"},
		"audit_config": map[string]any{"enabled": true, "actions": []string{"select", "insert", "update"}},
	})
	ann := e.UserToken(t, userA, nil)
	res := e.get(t, ann, "/customers?select=id&name=eq.Ann")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: rest.Prefix + "/customers", Token: ann,
		Body: map[string]any{"id": 3, "name": "Ann 2", "email": "ann2@example.com"}})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodPatch, Path: rest.Prefix + "/customers?id=eq.3", Token: ann,
		Body: map[string]any{"name": "Ann 3"}})
	require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: rest.Prefix + "/customers?id=eq.3", Token: ann})
	require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
	// Reads of tables whose config does not audit them are not recorded.
	require.Equal(t, http.StatusOK, e.get(t, ann, "/orders?select=id").Status)

	rows, err := e.DB.Pool.Query(context.Background(), `SELECT action, actor_type, actor_id,
		coalesce(details ->> 'query', details -> 'key' ->> 'id', ''), coalesce(details ->> 'columns', '')
		FROM goforward.audit_log WHERE action LIKE 'table.%' ORDER BY id`)
	require.NoError(t, err)
	var got [][]string
	for rows.Next() {
		var a, b, c, d, f string
		require.NoError(t, rows.Scan(&a, &b, &c, &d, &f))
		got = append(got, []string{a, b, c, d, f})
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, [][]string{
		{"table.select", "user", userA, "select=id&name=eq.Ann", ""},
		{"table.insert", "user", userA, "3", ""},
		{"table.update", "user", userA, "3", `["name"]`},
	}, got, "delete is not among the audited actions")
}

// Every row and column option, as a REST client sees it.
func TestTableSecurityOptionsThroughREST(t *testing.T) {
	e := newSecuredEnv(t)
	ann := e.UserToken(t, userA, nil)
	annMFA := e.UserToken(t, userA, map[string]any{"aal": "aal2"})
	support := e.UserToken(t, userB, map[string]any{"app_metadata": map[string]any{"role": "support"}})
	ids := func(t *testing.T, token, path string) string {
		t.Helper()
		res := e.get(t, token, path)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		return string(res.Body)
	}

	e.secure(t, "customers", api(map[string]any{"require_auth": true, "public_read": true}))
	res := e.get(t, "", "/customers?select=id")
	assert.Equal(t, http.StatusUnauthorized, res.Status, "anon is shut out: %s", res.Body)
	assert.JSONEq(t, `[{"id":1},{"id":2}]`, ids(t, ann, "/customers?select=id&order=id"))

	e.secure(t, "customers", api(map[string]any{"require_mfa": true, "public_read": true}))
	assert.JSONEq(t, `[]`, ids(t, ann, "/customers?select=id"))
	assert.JSONEq(t, `[{"id":1},{"id":2}]`, ids(t, annMFA, "/customers?select=id&order=id"))

	e.secure(t, "customers", api(map[string]any{"allowed_roles": []string{"support"}, "public_read": true}))
	assert.JSONEq(t, `[]`, ids(t, ann, "/customers?select=id"))
	assert.JSONEq(t, `[{"id":1},{"id":2}]`, ids(t, support, "/customers?select=id&order=id"))

	e.secure(t, "customers", api(map[string]any{"public_read": true, "public_write": true,
		"hidden_fields": []string{"card"}, "writable_fields": []string{"name"}}))
	assert.JSONEq(t, `[{"id":1,"owner_id":"`+userA+`","name":"Ann","email":"ann@example.com"}]`, ids(t, ann, "/customers?select=*&id=eq.1"),
		"select=* leaves the hidden column out")
	res = e.get(t, ann, "/customers?select=card")
	assert.GreaterOrEqual(t, res.Status, 400, "a hidden column cannot be asked for: %s", res.Body)
	assert.NotContains(t, string(res.Body), "4111")
	res = e.Do(t, servicetest.Request{Method: http.MethodPatch, Path: rest.Prefix + "/customers?id=eq.1", Token: ann, Body: map[string]any{"email": "x@example.com"}})
	assert.GreaterOrEqual(t, res.Status, 400, "email is not writable: %s", res.Body)
	res = e.Do(t, servicetest.Request{Method: http.MethodPatch, Path: rest.Prefix + "/customers?id=eq.1", Token: ann, Body: map[string]any{"name": "Ann B"}})
	assert.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)

	e.secure(t, "customers", api(map[string]any{"public_read": true, "custom_filters": map[string]string{"select": "name <> 'Bob'"}}))
	assert.JSONEq(t, `[{"id":1}]`, ids(t, ann, "/customers?select=id"))
	assert.JSONEq(t, `[{"id":1}]`, ids(t, "", "/customers?select=id"))
}

func api(opts map[string]any) map[string]any { return map[string]any{"api_config": opts} }

// Writes by a role that reads a column masked go through its view: what they return is
// masked, what they store is the value written.
func TestWritesReturnMaskedRows(t *testing.T) {
	e := newSecuredEnv(t)
	e.secure(t, "customers", map[string]any{
		"api_config": map[string]any{"require_ownership": true, "ownership_column": "owner_id"},
		"field_permissions": map[string]any{
			"email": map[string]any{"is_masked": true, "mask": "email", "can_write": true},
			"card":  map[string]any{"is_masked": true, "mask": "last4", "can_write": true},
		},
	})
	ann := e.UserToken(t, userA, nil)
	rep := http.Header{"Prefer": {"return=representation"}}
	res := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: rest.Prefix + "/customers?select=id,name,email,card", Token: ann, Header: rep,
		Body: map[string]any{"id": 3, "name": "Ann 2", "email": "ann2@example.com", "card": "4242424242424242"}})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":3,"name":"Ann 2","email":"a***@example.com","card":"****4242"}]`, string(res.Body))

	res = e.Do(t, servicetest.Request{Method: http.MethodPatch, Path: rest.Prefix + "/customers?id=eq.3&select=email", Token: ann, Header: rep,
		Body: map[string]any{"email": "zed@example.com"}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"email":"z***@example.com"}]`, string(res.Body))

	// An upsert cannot run for a role reading a column masked (docs/tablesecurity.md): it is
	// refused before it runs, naming the masked columns, and changes and leaks nothing.
	upserts := []servicetest.Request{
		{Method: http.MethodPost, Path: "/customers?on_conflict=id&select=id,email", Header: http.Header{"Prefer": {"resolution=merge-duplicates"}}},
		{Method: http.MethodPost, Path: "/customers?on_conflict=id&select=id,email", Header: http.Header{"Prefer": {"return=representation,resolution=merge-duplicates"}}},
		{Method: http.MethodPut, Path: "/customers?id=eq.3", Header: http.Header{"Prefer": {"return=representation"}}},
	}
	for _, req := range upserts {
		req.Path, req.Token = rest.Prefix+req.Path, ann
		req.Body = map[string]any{"id": 3, "owner_id": userA, "name": "Ann 3", "email": "yve@example.com", "card": "4000000000000002"}
		res = e.Do(t, req)
		require.Equal(t, http.StatusForbidden, res.Status, "%s %s: %s", req.Method, req.Path, res.Body)
		var body map[string]any
		res.JSON(t, &body)
		assert.Equal(t, "42501", body["code"])
		assert.Equal(t, "permission denied for table customers: upserts are not available to role authenticated, which reads email, card masked", body["message"])
		assert.NotContains(t, string(res.Body), "zed@")
	}

	stored := e.get(t, "service", "/customers?select=owner_id,email,card&id=eq.3")
	assert.JSONEq(t, `[{"owner_id":"`+userA+`","email":"zed@example.com","card":"4242424242424242"}]`, string(stored.Body))

	res = e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: rest.Prefix + "/customers?id=eq.3", Token: ann})
	require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
}
