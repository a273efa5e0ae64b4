package realtime_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/tablesecurity"
)

// A table security config (internal/tablesecurity) reaches postgres_changes through the
// database: its policies decide who gets a row, its column privileges which columns, and a
// masked column reaches the roles it is masked for only in masked form, under its own name.
func TestChangesHonourTableSecurity(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.customers (id int PRIMARY KEY, owner_id uuid NOT NULL, name text, email text, card text, note text)`)
	n.exec(t, `ALTER TABLE public.customers REPLICA IDENTITY FULL`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.customers`)
	cfg, err := json.Marshal(map[string]any{
		"api_config": map[string]any{"require_ownership": true, "ownership_column": "owner_id", "hidden_fields": []string{"note"}},
		"field_permissions": map[string]any{
			"email": map[string]any{"is_masked": true, "mask": "email"},
			"card":  map[string]any{"is_masked": true, "mask": "last4"},
		},
	})
	require.NoError(t, err)
	_, err = tablesecurity.NewService(n.env.DB.Pool, nil).Put(context.Background(), "public", "customers", cfg,
		tablesecurity.Change{Audit: audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}}})
	require.NoError(t, err)

	ann := dial(t, n)
	ann.subscribe("realtime:ann", n.env.UserToken(t, userA, nil), pgBinding("*", "customers", ""))
	bob := dial(t, n)
	bob.subscribe("realtime:bob", n.env.UserToken(t, userB, nil), pgBinding("*", "customers", ""))
	service := dial(t, n, dialOptions{key: n.env.ServiceRoleKey()})
	service.subscribe("realtime:svc", "", pgBinding("*", "customers", ""))

	n.exec(t, `INSERT INTO customers VALUES (1, $1, 'Ann', 'ann@example.com', '4111111111111111', 'vip'),
		(2, $2, 'Bob', 'bob@example.org', '5500000000000004', 'late payer')`, userA, userB)
	got := ann.expectChange("realtime:ann", anyChange)
	require.Equal(t, map[string]any{"id": 1.0, "owner_id": userA, "name": "Ann", "email": "a***@example.com", "card": "****1111"}, got.Data.Record)
	var columns []string
	for _, c := range got.Data.Columns {
		columns = append(columns, c["name"])
	}
	require.Equal(t, []string{"id", "owner_id", "name", "email", "card"}, columns)
	require.Equal(t, "Bob", bob.expectChange("realtime:bob", anyChange).Data.Record["name"], "each owner gets only their row")

	n.exec(t, `UPDATE customers SET email = 'ann@new.example', card = '4000000000000002' WHERE id = 1`)
	got = ann.expectChange("realtime:ann", func(m changeMessage) bool { return m.Data.Type == "UPDATE" })
	require.Equal(t, "a***@new.example", got.Data.Record["email"])
	require.Equal(t, "****0002", got.Data.Record["card"])
	raw, err := json.Marshal(got.Data)
	require.NoError(t, err)
	for _, secret := range []string{"ann@example.com", "ann@new.example", "4111111111111111", "4000000000000002", "vip", tablesecurity.MaskColumnPrefix} {
		require.False(t, strings.Contains(string(raw), secret), "%s leaked: %s", secret, raw)
	}

	// The service role gets the values, and no masked copy beside them.
	for range 2 {
		service.expectChange("realtime:svc", func(m changeMessage) bool { return m.Data.Type == "INSERT" })
	}
	full := service.expectChange("realtime:svc", func(m changeMessage) bool { return m.Data.Type == "UPDATE" })
	require.Equal(t, map[string]any{"id": 1.0, "owner_id": userA, "name": "Ann", "email": "ann@new.example", "card": "4000000000000002", "note": "vip"}, full.Data.Record)
	require.Equal(t, "ann@example.com", full.Data.OldRecord["email"])
	require.NotContains(t, full.Data.OldRecord, tablesecurity.MaskColumnPrefix+"email")
}

// A table's IP allow-list refuses postgres_changes bindings from other addresses at join.
func TestChangesRefuseClientsOutsideATablesIPAllowList(t *testing.T) {
	t.Parallel()
	var registry *tablesecurity.Registry
	n := startNode(t, options{changes: true, tableIPs: func(env *servicetest.Env) realtime.TableIPs {
		registry = tablesecurity.NewRegistry(env.DB.Pool, nil)
		return registry
	}})
	n.exec(t, `CREATE TABLE public.allowed (id int PRIMARY KEY, v text)`)
	n.exec(t, `CREATE TABLE public.guarded (id int PRIMARY KEY, v text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.allowed, public.guarded`)
	svc := tablesecurity.NewService(n.env.DB.Pool, nil)
	for table, list := range map[string][]string{"allowed": {"127.0.0.1", "::1"}, "guarded": {"10.0.0.0/8"}} {
		cfg, err := json.Marshal(map[string]any{"api_config": map[string]any{"public_read": true, "ip_whitelist": list}})
		require.NoError(t, err)
		_, err = svc.Put(context.Background(), "public", table, cfg, tablesecurity.Change{Audit: audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}}})
		require.NoError(t, err)
	}
	require.NoError(t, registry.Load(context.Background()))

	c := dial(t, n)
	c.subscribe("realtime:allowed", "", pgBinding("INSERT", "allowed", ""))
	_, reply := c.join("realtime:guarded", channelConfig{PostgresChanges: []map[string]any{pgBinding("INSERT", "guarded", "")}}, "")
	require.Equal(t, "ok", reply.Status, string(reply.Response))
	sys := c.expectSystem("realtime:guarded")
	require.Equal(t, "error", sys.Status)
	require.Contains(t, sys.Message, "your IP address is not allowed to access this table")

	n.exec(t, `INSERT INTO allowed VALUES (1, 'seen')`)
	require.Equal(t, "seen", c.expectChange("realtime:allowed", anyChange).Data.Record["v"])
}

// Row options (here require_mfa and allowed_roles) reach postgres_changes through the row
// checks, which run the compiled policies under each subscriber's claims.
func TestChangesHonourRowOptionsPerSubscriber(t *testing.T) {
	t.Parallel()
	n := startNode(t, options{changes: true})
	n.exec(t, `CREATE TABLE public.vault (id int PRIMARY KEY, v text)`)
	n.exec(t, `CREATE TABLE public.marker (id int PRIMARY KEY)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.vault, public.marker`)
	cfg, err := json.Marshal(map[string]any{"api_config": map[string]any{
		"public_read": true, "require_mfa": true, "allowed_roles": []string{"auditor"},
	}})
	require.NoError(t, err)
	_, err = tablesecurity.NewService(n.env.DB.Pool, nil).Put(context.Background(), "public", "vault", cfg,
		tablesecurity.Change{Audit: audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}}})
	require.NoError(t, err)

	auditor := map[string]any{"app_metadata": map[string]any{"roles": []string{"auditor"}}}
	admitted := dial(t, n)
	admitted.subscribe("realtime:v", n.env.UserToken(t, userA, map[string]any{"aal": "aal2", "app_metadata": auditor["app_metadata"]}),
		pgBinding("INSERT", "vault", ""))
	var refused []*client
	for _, claims := range []map[string]any{
		{"aal": "aal1", "app_metadata": auditor["app_metadata"]}, // no second factor
		{"aal": "aal2"}, // not an auditor
	} {
		c := dial(t, n)
		c.subscribe("realtime:v", n.env.UserToken(t, userB, claims), pgBinding("INSERT", "vault", ""), pgBinding("INSERT", "marker", ""))
		refused = append(refused, c)
	}

	n.exec(t, `INSERT INTO vault VALUES (1, 'secret')`)
	require.Equal(t, "secret", admitted.expectChange("realtime:v", anyChange).Data.Record["v"])
	n.exec(t, `INSERT INTO marker VALUES (1)`)
	for i, c := range refused {
		vault := func(m phoenix.Message) bool {
			return m.Event == "postgres_changes" && strings.Contains(string(m.Payload), `"table":"vault"`)
		}
		marker := func(m phoenix.Message) bool {
			return m.Event == "postgres_changes" && strings.Contains(string(m.Payload), `"table":"marker"`)
		}
		require.False(t, c.seenBefore(vault, marker), "subscriber %d got the vault row", i)
	}
}
