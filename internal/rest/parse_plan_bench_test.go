package rest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/restbench"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/servicetest"
)

// BenchmarkParsePlanBuild measures the service's CPU work per request before the database is
// involved — Parse, Plan and Build — for the requests of bench/cmd/restbench, on its schema.
// Run with -benchmem: B/op and allocs/op are the memory and allocations per request.
//
//	go run ./internal/pgtest/withpg -- go test -run '^$' -bench ParsePlanBuild -benchmem ./internal/rest/
func BenchmarkParsePlanBuild(b *testing.B) {
	database := pgtest.NewDatabase(b)
	ctx := context.Background()
	_, err := database.Pool.Exec(ctx, restbench.Schema)
	require.NoError(b, err)
	schema, err := meta.NewInspector(database.Pool, meta.Config{Schemas: []string{"public"}}, nil).Reload(ctx)
	require.NoError(b, err)

	for _, w := range restbench.Workloads() {
		r, body := benchRequest(w, "benchmark-key")
		b.Run(w.Name, func(b *testing.B) {
			b.ReportAllocs()
			reader := bytes.NewReader(body)
			for b.Loop() {
				reader.Reset(body)
				r.Body = http.NoBody
				if body != nil {
					r.Body = readCloser{reader}
				}
				req, err := rest.Parse(r)
				if err != nil {
					b.Fatal(err)
				}
				q, err := rest.Plan(&req, schema, rest.PlanOptions{MaxRows: restbench.MaxRows})
				if err != nil {
					b.Fatal(err)
				}
				if stmt := rest.Build(q, rest.BuildOptions{MaxRows: restbench.MaxRows}); stmt.SQL == "" {
					b.Fatal("no SQL")
				}
			}
		})
	}
}

// BenchmarkServeInProcess measures one whole request through the gateway and the service in
// process — apikey check, parse, plan, build, the pipelined batch on a real database, the
// response — without the network. ns/op is mostly the database round trip; B/op and
// allocs/op are everything the Go side allocates per request (the recorder included).
//
//	go run ./internal/pgtest/withpg -- go test -run '^$' -bench ServeInProcess -benchmem ./internal/rest/
func BenchmarkServeInProcess(b *testing.B) {
	env := servicetest.New(b, func(se *servicetest.Env) []gateway.Service {
		require.NoError(b, restbench.Seed(context.Background(), se.DB.Pool, 50))
		svc, err := rest.New(rest.Config{MaxRows: restbench.MaxRows}, rest.Deps{Owner: se.DB.Pool, Runner: se.Runner, Logger: se.Logger})
		require.NoError(b, err)
		return []gateway.Service{{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount}}
	})
	handler := env.Server.Config.Handler
	for _, w := range restbench.Workloads() {
		r, body := benchRequest(w, env.AnonKey())
		b.Run(w.Name, func(b *testing.B) {
			b.ReportAllocs()
			reader := bytes.NewReader(body)
			for b.Loop() {
				reader.Reset(body)
				r.Body = http.NoBody
				if body != nil {
					r.Body = readCloser{reader}
				}
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, r)
				if rec.Code != w.Status {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchRequest is the benchmark's request for workload w on post 4242 (author 43), with
// the headers supabase-js sends, and its body.
func benchRequest(w restbench.Workload, apiKey string) (*http.Request, []byte) {
	target := rest.Prefix + w.Path
	if q := w.Query(4242); q != "" {
		target += "?" + q
	}
	var body []byte
	if w.Body != nil {
		body = w.Body(4242)
	}
	r := httptest.NewRequest(w.Method, target, nil)
	r.Header.Set("apikey", apiKey)
	r.Header.Set("Authorization", "Bearer "+apiKey)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if w.Prefer != "" {
		r.Header.Set("Prefer", w.Prefer)
	}
	return r, body
}

// readCloser lets the benchmark rewind one body reader instead of allocating a new one.
type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
