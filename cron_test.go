package goforward_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
)

// TestCron: an App's jobs run on their schedule while serve runs, and admins read their runs,
// failures included, at /admin/v1/cron/runs.
func TestCron(t *testing.T) {
	logs := &syncBuffer{}
	app, db := newApp(t, logs, func(c *goforward.Config) { c.Services = []string{"rest", "admin"} })
	_, err := db.Pool.Exec(t.Context(), `CREATE TABLE public.ticks (at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	require.NoError(t, app.Cron("tick", "@every 1s", func(ctx context.Context) error {
		_, err := app.DB().Owner().Exec(ctx, `INSERT INTO public.ticks DEFAULT VALUES`)
		return err
	}))
	require.NoError(t, app.Cron("broken", "@every 1s", func(context.Context) error { return errors.New("the printer is on fire") }))
	require.ErrorContains(t, app.Cron("tick", "@hourly", func(context.Context) error { return nil }), "already registered")
	require.ErrorContains(t, app.Cron("bad", "* * *", func(context.Context) error { return nil }), "bad")
	r := start(t, app, logs)

	admin := map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey}
	var runs []any
	require.Eventually(t, func() bool {
		status, body, _ := call(t, "GET", r.url+"/admin/v1/cron/runs?job=broken&status=failed", admin, "")
		require.Equal(t, http.StatusOK, status, body)
		runs, _ = body["runs"].([]any)
		return len(runs) > 0
	}, 30*time.Second, 50*time.Millisecond)
	run := runs[0].(map[string]any)
	require.Equal(t, "broken", run["job"])
	require.Equal(t, "@every 1s", run["schedule"])
	require.Equal(t, "the printer is on fire", run["error"])

	require.Eventually(t, func() bool {
		_, body, _ := call(t, "GET", r.url+"/admin/v1/cron/runs?job=tick&status=succeeded", admin, "")
		runs, _ = body["runs"].([]any)
		return len(runs) > 0
	}, 30*time.Second, 50*time.Millisecond)
	var ticks int
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM public.ticks`).Scan(&ticks))
	require.GreaterOrEqual(t, ticks, 1)

	status, body, _ := call(t, "GET", r.url+"/admin/v1/cron/runs?limit=501", admin, "")
	require.Equal(t, http.StatusBadRequest, status, body)
	status, _, _ = call(t, "GET", r.url+"/admin/v1/cron/runs", map[string]string{"apikey": r.anonKey}, "")
	require.Equal(t, http.StatusForbidden, status, "admins only: the anon key grants no admin access")
}
