package goforward_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
	"github.com/goforward/goforward/internal/alerts"
)

// TestWebhooks: a webhook created through the admin API receives the changes of its table,
// signed with its secret, in Supabase's database webhook payload.
func TestWebhooks(t *testing.T) {
	logs := &syncBuffer{}
	app, db := newApp(t, logs, func(c *goforward.Config) { c.Services = []string{"rest", "admin"} })
	_, err := db.Pool.Exec(t.Context(), `CREATE TABLE public.orders (id bigint PRIMARY KEY, item text)`)
	require.NoError(t, err)
	dropChangeSlot(t, db)
	type delivery struct {
		signature, timestamp string
		body                 []byte
	}
	got := make(chan delivery, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get("X-Goforward-Signature"), r.Header.Get("X-Goforward-Timestamp"), body}
	}))
	t.Cleanup(receiver.Close)
	r := start(t, app, logs)
	admin := map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey, "Content-Type": "application/json"}

	status, hook, _ := call(t, "POST", r.url+"/admin/v1/webhooks", admin, `{"name":"orders-to-erp","table":"orders","events":["INSERT"],"url":"`+receiver.URL+`"}`)
	require.Equal(t, http.StatusCreated, status, hook)
	secret := hook["secret"].(string)
	status, body, _ := call(t, "POST", r.url+"/admin/v1/webhooks", admin, `{"name":"bad","table":"orders","url":"ftp://example.com"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	status, body, _ = call(t, "GET", r.url+"/admin/v1/webhooks", admin, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, body["webhooks"], 1)
	require.NotContains(t, body["webhooks"].([]any)[0], "secret")
	status, _, _ = call(t, "GET", r.url+"/admin/v1/webhooks", map[string]string{"apikey": r.anonKey}, "")
	require.Equal(t, http.StatusForbidden, status)

	// Serve follows the new webhook's table within its watch interval.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_publication_tables WHERE pubname = 'goforward_changes' AND tablename = 'orders'`).Scan(&n))
		return n == 1
	}, 30*time.Second, 50*time.Millisecond)
	_, err = db.Pool.Exec(t.Context(), `INSERT INTO public.orders VALUES (7, 'tea'); UPDATE public.orders SET item = 'jam'`)
	require.NoError(t, err)
	var d delivery
	select {
	case d = <-got:
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery:\n%s", logs)
	}
	require.Equal(t, alerts.Sign([]byte(secret), d.timestamp, d.body), d.signature)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(d.body, &payload))
	require.Equal(t, "INSERT", payload["type"])
	require.Equal(t, "orders", payload["table"])
	require.Equal(t, "public", payload["schema"])
	require.Equal(t, map[string]any{"id": float64(7), "item": "tea"}, payload["record"])
	require.Nil(t, payload["old_record"])

	status, _, _ = call(t, "DELETE", r.url+"/admin/v1/webhooks/"+hook["id"].(string), admin, "")
	require.Equal(t, http.StatusNoContent, status)
	require.NoError(t, r.stop())
	select {
	case extra := <-got:
		t.Fatalf("the UPDATE was delivered to an INSERT-only webhook: %s", extra.body)
	default:
	}
}
