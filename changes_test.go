package goforward_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/changefeed"
)

// handled collects what a change handler saw, as "TYPE id".
type handled struct {
	mu  sync.Mutex
	got []string
}

func (h *handled) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, s)
}

func (h *handled) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func dropChangeSlot(t *testing.T, db *pgtest.Database) {
	t.Cleanup(func() {
		_, _ = db.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`,
			changefeed.SlotName(db.Name))
	})
}

// TestOnChange: an OnChange handler sees every INSERT, UPDATE and DELETE of its table in
// commit order with Supabase's webhook payload; a handler that fails has the change handed on
// again, without later changes overtaking it; changes committed while serve is down reach the
// next serve, and nothing handled before is handed on again.
func TestOnChange(t *testing.T) {
	logs := &syncBuffer{}
	db := pgtest.NewDatabase(t)
	_, err := db.Pool.Exec(t.Context(), `CREATE TABLE public.orders (id bigint PRIMARY KEY, item text, qty int);
		CREATE TABLE public.order_log (order_id bigint, kind text)`)
	require.NoError(t, err)
	dropChangeSlot(t, db)

	var h handled
	failOnce := map[string]bool{"INSERT 3": true}
	var payloads sync.Map
	handler := func(ctx context.Context, c goforward.Change) error {
		rec := c.Record
		if c.Type == goforward.ChangeDelete {
			rec = c.OldRecord
		}
		key := fmt.Sprintf("%s %v", c.Type, rec["id"])
		if failOnce[key] {
			delete(failOnce, key) // only the handler's goroutine touches it
			return errors.New("the warehouse is not answering")
		}
		payloads.Store(key, c)
		h.add(key)
		return nil
	}
	app := newAppOn(t, db, logs, func(c *goforward.Config) { c.Services = []string{"rest"} })
	require.NoError(t, app.OnChange("orders", handler))
	// A second handler of the table writes to another table, as an application would.
	require.NoError(t, app.OnChange("public.orders", func(ctx context.Context, c goforward.Change) error {
		if c.Type != goforward.ChangeInsert {
			return nil
		}
		_, err := app.DB().Owner().Exec(ctx, `INSERT INTO public.order_log VALUES ($1, $2)`, fmt.Sprint(c.Record["id"]), c.Type)
		return err
	}))
	require.Error(t, app.OnChange("a.b.c", handler))
	// The restart below uses the same data directory, as a real one does: its JWT secret
	// seals the database's signing keys.
	dataDir := filepath.Join(t.TempDir(), "data")
	r := startIn(t, app, logs, dataDir)

	for id := 1; id <= 4; id++ {
		_, err := db.Pool.Exec(t.Context(), `INSERT INTO public.orders VALUES ($1, 'tea', $2)`, id, id)
		require.NoError(t, err)
	}
	_, err = db.Pool.Exec(t.Context(), `UPDATE public.orders SET qty = 10 WHERE id = 1; DELETE FROM public.orders WHERE id = 2`)
	require.NoError(t, err)
	want := []string{"INSERT 1", "INSERT 2", "INSERT 3", "INSERT 4", "UPDATE 1", "DELETE 2"}
	require.Eventually(t, func() bool { return len(h.list()) >= len(want) }, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, want, h.list(), "each change once, in commit order, the failed one retried in place")
	v, _ := payloads.Load("UPDATE 1")
	c := v.(goforward.Change)
	require.Equal(t, "public", c.Schema)
	require.Equal(t, "orders", c.Table)
	require.Equal(t, "10", fmt.Sprint(c.Record["qty"]))
	require.Equal(t, "tea", c.Record["item"])
	require.False(t, c.CommitTime.IsZero())
	require.Contains(t, logs.String(), "the warehouse is not answering")

	require.NoError(t, r.stop())
	_, err = db.Pool.Exec(t.Context(), `INSERT INTO public.orders VALUES (5, 'cake', 1), (6, 'jam', 2)`)
	require.NoError(t, err)

	app = newAppOn(t, db, logs, func(c *goforward.Config) { c.Services = []string{"rest"} })
	require.NoError(t, app.OnChange("orders", handler))
	startIn(t, app, logs, dataDir)
	want = append(want, "INSERT 5", "INSERT 6")
	require.Eventually(t, func() bool { return len(h.list()) >= len(want) }, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, want, h.list(), "the changes made while stopped, and nothing handled before")

	var logged int
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM public.order_log`).Scan(&logged))
	require.Equal(t, 4, logged, "the first serve's second handler wrote a row per insert")
}
