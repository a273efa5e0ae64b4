package webhooks_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/webhooks"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDeliveries: a delivery is posted signed and marked delivered; one whose receiver keeps
// failing is retried, then marked failed and audited.
func TestDeliveries(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	var (
		mu       sync.Mutex
		received []*http.Request
		bodies   [][]byte
		fail     = true
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		received, bodies = append(received, r), append(bodies, body)
		if r.URL.Path == "/down" && fail {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)

	_, err := webhooks.Create(ctx, db.Pool, webhooks.Webhook{Name: "x", Table: "orders", URL: srv.URL + "/ok"}, false)
	require.ErrorIs(t, err, webhooks.ErrInvalid, "plain http only in development")
	ok, err := webhooks.Create(ctx, db.Pool, webhooks.Webhook{Name: "ok", Table: "orders", Events: []string{"insert"}, URL: srv.URL + "/ok"}, true)
	require.NoError(t, err)
	require.Equal(t, "public.orders", ok.Table)
	require.Len(t, ok.Secret, 64)
	_, err = webhooks.Create(ctx, db.Pool, webhooks.Webhook{Name: "ok", Table: "orders", URL: srv.URL}, true)
	require.ErrorIs(t, err, webhooks.ErrExists)
	_, err = webhooks.Create(ctx, db.Pool, webhooks.Webhook{Name: "down", Table: "public.orders", URL: srv.URL + "/down", Secret: "a-secret-of-the-receiver"}, true)
	require.NoError(t, err)
	list, err := webhooks.List(ctx, db.Pool)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Empty(t, list[0].Secret, "listing never shows secrets")

	payload := json.RawMessage(`{"type":"INSERT","table":"orders","schema":"public","record":{"id":1},"old_record":null}`)
	require.NoError(t, webhooks.Enqueue(ctx, db.Pool, "public.orders", "INSERT", payload))
	require.NoError(t, webhooks.Enqueue(ctx, db.Pool, "public.orders", "DELETE", payload)) // only "down" wants deletes

	d := webhooks.NewDeliverer(webhooks.Config{MaxAttempts: 3, RetryBase: time.Millisecond}, db.Pool, nil, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pending int
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.webhook_deliveries WHERE status = 'pending'`).Scan(&pending))
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		_, err := d.DeliverOne(ctx)
		require.NoError(t, err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT w.name, d.status, d.attempts, coalesce(d.last_error, '') FROM goforward.webhook_deliveries d
		JOIN goforward.webhooks w ON w.id = d.webhook_id ORDER BY w.name, d.id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var name, status, lastErr string
		var attempts int
		require.NoError(t, rows.Scan(&name, &status, &attempts, &lastErr))
		got = append(got, name+" "+status+" "+lastErr+" "+string(rune('0'+attempts)))
	}
	require.Equal(t, []string{
		"down failed the receiver answered 502 3",
		"down failed the receiver answered 502 3",
		"ok delivered  1",
	}, got)

	mu.Lock()
	defer mu.Unlock()
	for i, r := range received {
		if r.URL.Path == "/ok" {
			ts := r.Header.Get(webhooks.TimestampHeader)
			require.Equal(t, alerts.Sign([]byte(ok.Secret), ts, bodies[i]), r.Header.Get(webhooks.SignatureHeader))
			require.JSONEq(t, string(payload), string(bodies[i]))
			require.NotEmpty(t, r.Header.Get(webhooks.IDHeader))
		}
	}
	var audited int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE action = 'webhooks.delivery_failed'`).Scan(&audited))
	require.Equal(t, 2, audited)
}
