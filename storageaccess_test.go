package goforward_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward"
)

// Objects put and got from Go act as the given principal: the service role may, anon may not
// read a private bucket, and what Go stored is what /storage/v1 serves.
func TestStorageAccessor(t *testing.T) {
	logs := &syncBuffer{}
	app, _ := newApp(t, logs)
	service := goforward.Principal{Role: goforward.RoleServiceRole}
	require.ErrorContains(t, app.Storage().Put(context.Background(), service, "docs", "a.txt", strings.NewReader("x"), ""), "not running")
	r := start(t, app, logs)
	auth := map[string]string{"apikey": r.serviceKey, "Authorization": "Bearer " + r.serviceKey}
	status, body, _ := call(t, http.MethodPost, r.url+"/storage/v1/bucket", withJSON(auth), `{"name":"docs"}`)
	require.Equal(t, http.StatusOK, status, "%v", body)

	ctx := context.Background()
	require.NoError(t, app.Storage().Put(ctx, service, "docs", "reports/q1 summary.txt", strings.NewReader("first"), "text/plain"))
	require.NoError(t, app.Storage().Put(ctx, service, "docs", "reports/q1 summary.txt", strings.NewReader("second"), "text/plain"), "put replaces")

	rc, err := app.Storage().Get(ctx, service, "docs", "reports/q1 summary.txt")
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "second", string(data))

	status, body, _ = call(t, http.MethodGet, r.url+"/storage/v1/object/docs/reports/q1%20summary.txt", auth, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "second", body["raw"])

	anon := goforward.Principal{Role: goforward.RoleAnon}
	_, err = app.Storage().Get(ctx, anon, "docs", "reports/q1 summary.txt")
	require.ErrorContains(t, err, "not found", "a private bucket's object is not anon's to read")
	require.Error(t, app.Storage().Put(ctx, anon, "docs", "anon.txt", strings.NewReader("x"), ""), "nor to write")
}
