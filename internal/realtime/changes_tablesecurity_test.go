package realtime_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
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
