package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
)

// TestApplicationRoutes: routes a program adds with Handle need no apikey, still get the
// principal of a key sent along, cannot take a service's or the gateway's paths, and a
// catch-all does not answer for a mounted service's unknown paths.
func TestApplicationRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.gateway.Handle("GET /hello", http.HandlerFunc(whoamiHandler)))
	require.NoError(t, f.gateway.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "the app's catch-all")
	})))

	for _, pattern := range []string{"/auth/v1/mine", "POST /functions/v1/x", "/storage/v1/", "GET /health", "/metrics"} {
		require.Error(t, f.gateway.Handle(pattern, http.HandlerFunc(whoamiHandler)), pattern)
	}
	require.ErrorContains(t, f.gateway.Handle("GET /hello", http.HandlerFunc(whoamiHandler)), "conflicts")

	for _, s := range []scenario{
		{name: "no key needed", url: "/hello", expectedStatus: http.StatusOK, expectedContent: []string{`"has_principal":false`}},
		{name: "a key sent along is verified", url: "/hello", headers: map[string]string{"apikey": f.keys.AnonKey()},
			expectedStatus: http.StatusOK, expectedContent: []string{`"role":"anon"`, `"has_principal":true`}},
		{name: "a user token sent along is verified", url: "/hello",
			headers:        map[string]string{"Authorization": "Bearer " + f.userToken(t)},
			expectedStatus: http.StatusOK, expectedContent: []string{`"role":"authenticated"`, `"sub":"user-1"`}},
		{name: "catch-all", url: "/anything/else", expectedStatus: http.StatusOK, expectedContent: []string{"the app's catch-all"}},
		{name: "a service's unknown path still needs a key", url: "/auth/v1/nothing-here", expectedStatus: http.StatusUnauthorized,
			notExpected: []string{"catch-all"}},
		{name: "a service's unknown path with a key is the gateway's 404", url: "/auth/v1/nothing-here",
			headers: map[string]string{"apikey": f.keys.AnonKey()}, expectedStatus: http.StatusNotFound,
			expectedContent: []string{"no Route matched"}},
		{name: "the gateway's own routes stay", url: "/health", expectedStatus: http.StatusOK, expectedContent: []string{`"status":"ok"`}},
	} {
		t.Run(s.name, func(t *testing.T) { s.test(t, f) })
	}
}

// TestServeServerUsesTheChangedServer: a program may wrap the handler of the server from
// NewServer before ServeServer serves it.
func TestServeServerUsesTheChangedServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.gateway.NewServer()
	inner := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Wrapped", "yes")
		inner.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.gateway.ServeServer(ctx, srv, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "yes", resp.Header.Get("X-Wrapped"))
	cancel()
	require.NoError(t, <-done)
}

// TestApplicationRoutesBesideASiteRootService: a service mounted at / (the dashboard) owns
// only the patterns it registers, so application routes live next to it and neither takes
// the other's paths.
func TestApplicationRoutesBesideASiteRootService(t *testing.T) {
	t.Parallel()
	site := gateway.Service{Name: "site", Prefix: "/", Open: []string{"/"}, Mount: func(mux *http.ServeMux) {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the site's index") })
		mux.HandleFunc("GET /page", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the site's page") })
	}}
	f := newFixture(t, func(o *options) { o.services = append(o.services, site) })
	require.NoError(t, f.gateway.Handle("GET /app/hello", http.HandlerFunc(whoamiHandler)))
	require.ErrorContains(t, f.gateway.Handle("GET /page", http.HandlerFunc(whoamiHandler)), "conflicts")
	require.Error(t, f.gateway.Handle("GET /auth/v1/mine", http.HandlerFunc(whoamiHandler)))
	for _, s := range []scenario{
		{name: "the application's route", url: "/app/hello", expectedStatus: http.StatusOK, expectedContent: []string{`"has_principal":false`}},
		{name: "the site's page", url: "/page", expectedStatus: http.StatusOK, expectedContent: []string{"the site's page"}},
		{name: "the site's index", url: "/", expectedStatus: http.StatusOK, expectedContent: []string{"the site's index"}},
	} {
		t.Run(s.name, func(t *testing.T) { s.test(t, f) })
	}
}
