package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// slots bounds how many replication slots this package holds at once: the shared test
// cluster allows ten, and other packages need some.
var slots = make(chan struct{}, 3)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a database with a published table and a slot name of its own.
type fixture struct {
	db   *pgtest.Database
	slot string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
	f := &fixture{db: pgtest.NewDatabase(t)}
	f.slot = "gft_" + strings.TrimPrefix(f.db.Name, "gft_")
	f.exec(t, `CREATE TABLE public.items (id bigint PRIMARY KEY, title text, tags text[], doc jsonb, done boolean, at timestamptz)`)
	f.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.items`)
	t.Cleanup(func() {
		// A slot keeps its database from being dropped while a reader uses it; by now every
		// reader of this test has stopped.
		_, _ = f.db.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot(slot_name)
			FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, f.slot)
	})
	return f
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := f.db.Pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

// reader is one running Source and what it emitted.
type reader struct {
	source *replication.Source
	stop   context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changes []*replication.Change
}

func (f *fixture) startReader(t *testing.T, cfg replication.Config) *reader {
	t.Helper()
	cfg.Slot = f.slot
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 50 * time.Millisecond
	}
	// The pool as serve opens it (db.Open), so that the reader's connection inherits what
	// production's does.
	pool, err := db.Open(context.Background(), f.db.URL, db.PoolConfig{MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	src, err := replication.New(cfg, pool, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &reader{source: src, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = src.Run(ctx, func(_ context.Context, ch *replication.Change) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.changes = append(r.changes, ch)
			return nil
		})
	}()
	t.Cleanup(r.close)
	return r
}

func (r *reader) close() {
	r.stop()
	<-r.done
}

func (r *reader) snapshot() []*replication.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*replication.Change(nil), r.changes...)
}

// waitChanges waits until the reader emitted at least n changes and returns them.
func (r *reader) waitChanges(t *testing.T, n int) []*replication.Change {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.snapshot()) >= n }, 20*time.Second, 10*time.Millisecond,
		"expected %d changes, got %d", n, len(r.snapshot()))
	return r.snapshot()
}

// waitStreaming waits until a reader streams from the slot, so that every change committed
// afterwards is delivered. (While the slot is being created it is active too, but held by
// an ordinary backend; commits before its creation ends are not part of it.)
func (f *fixture) waitStreaming(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var streaming bool
		err := f.db.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_replication_slots s
			JOIN pg_stat_activity a ON a.pid = s.active_pid
			WHERE s.slot_name = $1 AND a.backend_type = 'walsender')`, f.slot).Scan(&streaming)
		return err == nil && streaming
	}, 20*time.Second, 10*time.Millisecond)
}

func values(ch *replication.Change, vs []replication.Value) map[string]string {
	out := map[string]string{}
	for i, v := range vs {
		switch v.State {
		case replication.Present:
			out[ch.Columns[i].Name] = string(v.JSON)
		case replication.Null:
			out[ch.Columns[i].Name] = "null"
		case replication.Unchanged:
			out[ch.Columns[i].Name] = "<unchanged>"
		}
	}
	return out
}

func TestSourceStreamsInsertUpdateDeleteInCommitOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.startReader(t, replication.Config{})
	f.waitStreaming(t)

	f.exec(t, `INSERT INTO items VALUES (1, 'one', '{a,"b c"}', '{"k": [1]}', false, '2024-01-02 03:04:05+00')`)
	f.exec(t, `UPDATE items SET title = 'uno', done = true WHERE id = 1`)
	f.exec(t, `ALTER TABLE items REPLICA IDENTITY FULL`)
	f.exec(t, `UPDATE items SET title = 'eins' WHERE id = 1`)
	f.exec(t, `DELETE FROM items WHERE id = 1`)

	changes := r.waitChanges(t, 4)
	require.Len(t, changes, 4)
	for _, ch := range changes {
		require.Equal(t, "public", ch.Schema)
		require.Equal(t, "items", ch.Table)
		require.False(t, ch.CommitTime.IsZero())
		require.Equal(t, []replication.Column{
			{Name: "id", Type: "int8", TypeOID: 20, Category: "N", PrimaryKey: true},
			{Name: "title", Type: "text", TypeOID: 25, Category: "S"},
			{Name: "tags", Type: "_text", TypeOID: 1009, Category: "A"},
			{Name: "doc", Type: "jsonb", TypeOID: 3802, Category: "U"},
			{Name: "done", Type: "bool", TypeOID: 16, Category: "B"},
			{Name: "at", Type: "timestamptz", TypeOID: 1184, Category: "D"},
		}, ch.Columns)
	}

	insert := changes[0]
	require.Equal(t, replication.Insert, insert.Type)
	require.Nil(t, insert.Old)
	at := values(insert, insert.New)["at"]
	require.Regexp(t, `^"2024-01-0\dT\d\d:04:05[+-]\d\d:\d\d"$`, at)
	delete(values(insert, insert.New), "at")
	require.Equal(t, map[string]string{
		"id": "1", "title": `"one"`, "tags": `["a","b c"]`, "doc": `{"k": [1]}`, "done": "false", "at": at,
	}, values(insert, insert.New))

	update := changes[1]
	require.Equal(t, replication.Update, update.Type)
	require.Nil(t, update.Old, "with the default replica identity an update that keeps the key sends no old row")
	require.Equal(t, `"uno"`, values(update, update.New)["title"])

	full := changes[2]
	require.Equal(t, replication.Update, full.Type)
	require.Equal(t, `"uno"`, values(full, full.Old)["title"])
	require.Equal(t, `"eins"`, values(full, full.New)["title"])

	del := changes[3]
	require.Equal(t, replication.Delete, del.Type)
	require.Nil(t, del.New)
	require.Equal(t, `"eins"`, values(del, del.Old)["title"], "replica identity full sends the whole old row")
}

func TestSourceDeleteWithDefaultIdentitySendsOnlyTheKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.startReader(t, replication.Config{})
	f.waitStreaming(t)
	f.exec(t, `INSERT INTO items (id, title) VALUES (7, 'x')`)
	f.exec(t, `DELETE FROM items WHERE id = 7`)
	changes := r.waitChanges(t, 2)
	del := changes[1]
	require.Equal(t, map[string]string{"id": "7"}, values(del, del.Old))
	for i, v := range del.Old {
		if del.Columns[i].Name != "id" {
			require.Equal(t, replication.Absent, v.State)
		}
	}
}

func TestSourceKeepsTransactionsWholeAndOrdered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.startReader(t, replication.Config{})
	f.waitStreaming(t)
	ctx := context.Background()
	tx, err := f.db.Pool.Begin(ctx)
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		_, err := tx.Exec(ctx, `INSERT INTO items (id, title) VALUES ($1, 'tx')`, i)
		require.NoError(t, err)
	}
	var xid uint32
	require.NoError(t, tx.QueryRow(ctx, `SELECT xmin::text::bigint FROM items WHERE id = 1`).Scan(&xid))
	f.exec(t, `INSERT INTO items (id, title) VALUES (100, 'committed first')`)
	require.NoError(t, tx.Commit(ctx))

	changes := r.waitChanges(t, 4)
	var ids []string
	for _, ch := range changes {
		ids = append(ids, values(ch, ch.New)["id"])
	}
	require.Equal(t, []string{"100", "1", "2", "3"}, ids, "changes arrive in commit order")
	require.NotEqual(t, xid, changes[0].XID)
	for _, ch := range changes[1:] {
		require.Equal(t, xid, ch.XID, "each change names its transaction")
	}
}

// TestSourceFailoverLosesNothing runs two readers on one slot: exactly one streams, and when
// it stops mid-stream the other resumes from the confirmed position.
func TestSourceFailoverLosesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.startReader(t, replication.Config{})
	f.waitStreaming(t)
	b := f.startReader(t, replication.Config{})

	for i := 1; i <= 20; i++ {
		f.exec(t, `INSERT INTO items (id) VALUES ($1)`, i)
	}
	a.waitChanges(t, 20)
	require.True(t, a.source.Status().Reader)
	require.False(t, b.source.Status().Reader, "only one process reads the stream")
	require.Empty(t, b.snapshot())

	// Stop the reader while rows keep arriving; the other one takes over.
	inserted := make(chan struct{})
	go func() {
		defer close(inserted)
		for i := 21; i <= 60; i++ {
			_, _ = f.db.Pool.Exec(context.Background(), `INSERT INTO items (id) VALUES ($1)`, i)
		}
	}()
	a.close()
	<-inserted
	require.Eventually(t, func() bool { return b.source.Status().Reader }, 20*time.Second, 10*time.Millisecond)

	seen := map[string]bool{}
	for _, ch := range a.snapshot() {
		seen[values(ch, ch.New)["id"]] = true
	}
	require.Eventually(t, func() bool {
		for _, ch := range b.snapshot() {
			seen[values(ch, ch.New)["id"]] = true
		}
		for i := 1; i <= 60; i++ {
			if !seen[fmt.Sprint(i)] {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond, "every inserted row reaches one of the readers")
}

// TestSourceDropsASlotThatHeldBackTooMuch: a slot whose lag passed the maximum while no one
// read it is recreated, so the WAL it pinned can go; the changes in between are lost by
// design, later ones stream again.
func TestSourceDropsASlotThatHeldBackTooMuch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.startReader(t, replication.Config{})
	f.waitStreaming(t)
	first.close()
	require.Eventually(t, func() bool {
		var active bool
		err := f.db.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, f.slot).Scan(&active)
		return err == nil && !active
	}, 20*time.Second, 10*time.Millisecond, "the stopped reader's session ends")

	f.exec(t, `INSERT INTO items (id, title) SELECT g, repeat('x', 100) FROM generate_series(1, 200) g`)
	r := f.startReader(t, replication.Config{MaxLagBytes: 1024})
	f.waitStreaming(t)
	f.exec(t, `INSERT INTO items (id) VALUES (1000)`)
	changes := r.waitChanges(t, 1)
	require.Len(t, changes, 1)
	require.Equal(t, "1000", values(changes[0], changes[0].New)["id"])
}

func TestSourceRendersUnchangedToastFromTheOldRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.exec(t, `ALTER TABLE items REPLICA IDENTITY FULL`)
	r := f.startReader(t, replication.Config{})
	f.waitStreaming(t)
	big := strings.Repeat("long text that postgres moves out of line ", 2000)
	f.exec(t, `INSERT INTO items (id, title) VALUES (1, $1)`, big)
	f.exec(t, `UPDATE items SET done = true WHERE id = 1`)
	changes := r.waitChanges(t, 2)
	want, err := json.Marshal(big)
	require.NoError(t, err)
	require.Equal(t, string(want), values(changes[1], changes[1].New)["title"])
}

func TestNewValidatesTheSlotName(t *testing.T) {
	t.Parallel()
	_, err := replication.New(replication.Config{Slot: "Bad-Name"}, &pgxpool.Pool{}, nil)
	require.ErrorContains(t, err, "slot name")
}

// The reader wakes from waiting for a message to report its position; waking must not end
// the stream (a cancel request on the replication connection would, and the reader would
// reconnect at every interval).
func TestSourceKeepsItsStreamAcrossStatusIntervals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.startReader(t, replication.Config{StatusInterval: 50 * time.Millisecond, LagCheckInterval: 50 * time.Millisecond})
	f.waitStreaming(t)
	ctx := context.Background()
	walsender := func() (pid int, replied time.Time) {
		_ = f.db.Pool.QueryRow(ctx, `SELECT s.active_pid, coalesce(r.reply_time, 'epoch')
			FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
			WHERE s.slot_name = $1`, f.slot).Scan(&pid, &replied)
		return pid, replied
	}
	first, _ := walsender()
	require.NotZero(t, first)
	since := time.Now()
	require.Eventually(t, func() bool {
		_, replied := walsender()
		return replied.After(since.Add(500 * time.Millisecond))
	}, 20*time.Second, 20*time.Millisecond, "the reader reports its position every interval")
	now, _ := walsender()
	require.Equal(t, first, now, "the same replication connection streams after many intervals")

	f.exec(t, `INSERT INTO items (id, title) VALUES (7, 'after idling')`)
	require.Equal(t, `"after idling"`, values(r.waitChanges(t, 1)[0], r.waitChanges(t, 1)[0].New)["title"])
}
