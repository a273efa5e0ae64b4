package realtimebench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goforward/goforward/bench/harness"
)

// Tables the postgres_changes measurement inserts into: the same shape, one with row-level
// security whose policy reads the subscriber's JWT (auth.uid()), so every subscriber's
// distinct claims are checked against every row.
const (
	plainTable = "rtb_plain"
	rlsTable   = "rtb_rls"
)

const changesSchema = `
CREATE TABLE public.rtb_plain (id bigint PRIMARY KEY, sent_ns bigint NOT NULL, note text NOT NULL DEFAULT 'hello');
CREATE TABLE public.rtb_rls (id bigint PRIMARY KEY, sent_ns bigint NOT NULL, note text NOT NULL DEFAULT 'hello');
ALTER TABLE public.rtb_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY rtb_rls_signed_in ON public.rtb_rls FOR SELECT TO authenticated USING (auth.uid() IS NOT NULL);
GRANT SELECT ON public.rtb_plain, public.rtb_rls TO anon, authenticated;
ALTER PUBLICATION supabase_realtime ADD TABLE public.rtb_plain, public.rtb_rls;
`

// ChangesResult is one cell of the postgres_changes table.
type ChangesResult struct {
	Table       string
	RLS         bool
	Subscribers int
	Rate        float64 // inserts per second
	Inserts     int
	Expected    int // Inserts × Subscribers
	Delivered   int
	// PerSecond is deliveries ÷ (first measured insert → last delivery).
	PerSecond     float64
	DropNotices   int // "changes were dropped" system messages received
	P50, P95, P99 time.Duration
	Max           time.Duration
	CPU           harness.CPUTimes // processor time spent from the first measured insert to the last delivery
	Err           error
}

// recordID reads data.record.id of a postgres_changes payload.
func recordID(payload []byte) (int64, bool) {
	var p struct {
		Data struct {
			Record struct {
				ID *int64 `json:"id"`
			} `json:"record"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.Data.Record.ID == nil {
		return 0, false
	}
	return *p.Data.Record.ID, true
}

// userToken signs a one-hour JWT for a distinct authenticated user, as GoTrue would issue.
func userToken(secret string) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":  uuidV4(),
		"role": "authenticated",
		"aud":  "authenticated",
		"iat":  now.Unix(),
		"exp":  now.Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
}

func uuidV4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// collector gathers receipts from every subscriber's read goroutine.
type collector struct {
	mu       sync.Mutex
	receipts []receipt
}

func (c *collector) add(r receipt) {
	c.mu.Lock()
	c.receipts = append(c.receipts, r)
	c.mu.Unlock()
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.receipts)
}

func (c *collector) snapshot() []receipt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]receipt(nil), c.receipts...)
}

// runChanges subscribes n users to INSERTs on table, inserts cfg.Inserts rows through pgx
// at cfg.InsertRate, and measures from each insert's commit acknowledgement to each delivery.
// nextID hands out row ids unique across cells.
func runChanges(ctx context.Context, stack *harness.Stack, cfg Config, table string, n int, nextID *int64, progress io.Writer) ChangesResult {
	res := ChangesResult{Table: table, RLS: table == rlsTable, Subscribers: n, Rate: cfg.InsertRate, Inserts: cfg.Inserts, Expected: cfg.Inserts * n}
	var dropNotices atomic.Int64
	topic := "realtime:bench-" + table
	col := &collector{}
	subscribed := make(chan struct{}, n)
	onMessage := func(at time.Time, m message) {
		switch {
		case m.Event == "postgres_changes":
			if id, ok := recordID(m.Payload); ok {
				col.add(receipt{id: id, received: at})
			}
		case m.Event == "system" && strings.Contains(string(m.Payload), "Subscribed to PostgreSQL"):
			subscribed <- struct{}{}
		case m.Event == "system" && strings.Contains(string(m.Payload), "dropped"):
			dropNotices.Add(1)
		}
	}
	config := map[string]any{
		"broadcast":        map[string]any{"ack": false, "self": false},
		"presence":         map[string]any{"key": "", "enabled": false},
		"postgres_changes": []map[string]any{{"event": "INSERT", "schema": "public", "table": table}},
		"private":          false,
	}
	clients, err := openMany(ctx, n, func(ctx context.Context, _ int) (*client, error) {
		token, err := userToken(stack.JWTSecret)
		if err != nil {
			return nil, err
		}
		c, err := dial(ctx, stack.URL, stack.AnonKey, onMessage)
		if err != nil {
			return nil, err
		}
		if _, err := c.join(ctx, topic, config, token); err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		res.Err = err
		return res
	}
	defer closeAll(clients)
	if err := waitN(ctx, subscribed, n, time.Minute); err != nil {
		res.Err = fmt.Errorf("waiting for \"Subscribed to PostgreSQL\": %w", err)
		return res
	}
	insert := func(id int64) (time.Time, error) {
		_, err := stack.Direct.Exec(ctx, `INSERT INTO public.`+table+` (id, sent_ns) VALUES ($1, $2)`, id, time.Now().UnixNano())
		return time.Now(), err
	}
	// Warm-up rows (not measured) prime the server's per-table caches and the pgx connection.
	for range 5 {
		*nextID++
		if _, err := insert(*nextID); err != nil {
			res.Err = err
			return res
		}
	}
	time.Sleep(time.Second)
	commits := make(map[int64]time.Time, cfg.Inserts)
	cpuBefore, cpuErr := stack.CPU()
	firstInsert := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.InsertRate))
	defer tick.Stop()
	for range cfg.Inserts {
		select {
		case <-ctx.Done():
			res.Err = ctx.Err()
			return res
		case <-tick.C:
		}
		*nextID++
		committed, err := insert(*nextID)
		if err != nil {
			res.Err = err
			return res
		}
		commits[*nextID] = committed
	}
	// Deliveries still in flight: wait until every subscriber got every row, or give up; a
	// server that sheds changes never delivers them all, so stop too once nothing arrived for
	// a few seconds.
	deadline := time.Now().Add(cfg.DrainTimeout)
	last, lastChange := -1, time.Now()
	for time.Now().Before(deadline) && time.Since(lastChange) < 5*time.Second {
		got := countKnown(col.snapshot(), commits)
		if got >= res.Expected {
			break
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cpuAfter, err := stack.CPU(); err == nil && cpuErr == nil {
		res.CPU = cpuAfter.Sub(cpuBefore)
	}
	lat, _ := latencies(commits, col.snapshot())
	res.Delivered = len(lat)
	res.DropNotices = int(dropNotices.Load())
	res.P50, res.P95, res.P99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)
	var lastDelivery time.Time
	for _, r := range col.snapshot() {
		if _, ok := commits[r.id]; ok && r.received.After(lastDelivery) {
			lastDelivery = r.received
		}
	}
	if span := lastDelivery.Sub(firstInsert); span > 0 {
		res.PerSecond = float64(res.Delivered) / span.Seconds()
	}
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	res.Err = incomplete(clients, res.Delivered, res.Expected, cfg.DrainTimeout)
	fmt.Fprintf(progress, "postgres_changes %s × %d at %g/s: %d/%d delivered (%.0f/s), p50 %s p95 %s p99 %s, %d drop notices\n",
		table, n, cfg.InsertRate, res.Delivered, res.Expected, res.PerSecond, res.P50, res.P95, res.P99, res.DropNotices)
	return res
}

// incomplete reports connections the server closed and deliveries still missing when the
// drain timeout ran out, or nil.
func incomplete(clients []*client, delivered, expected int, drain time.Duration) error {
	dropped := 0
	for _, c := range clients {
		if !c.alive() {
			dropped++
		}
	}
	var problems []string
	if dropped > 0 {
		problems = append(problems, fmt.Sprintf("%d connections were closed by the server", dropped))
	}
	if delivered < expected {
		problems = append(problems, fmt.Sprintf("%d deliveries missing %s after the last send", expected-delivered, drain))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

func countKnown(receipts []receipt, commits map[int64]time.Time) int {
	n := 0
	for _, r := range receipts {
		if _, ok := commits[r.id]; ok {
			n++
		}
	}
	return n
}

// waitN waits for n signals on ch.
func waitN(ctx context.Context, ch <-chan struct{}, n int, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for got := 0; got < n; got++ {
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%d of %d within %s", got, n, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
