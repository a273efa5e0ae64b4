package rest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/servicetest"
)

// BenchmarkParsePlanBuild measures the service's CPU work per request before the database is
// involved — Parse, Plan and Build — for the requests of bench/cmd/restbench, on its schema
// (benchSchema and benchWorkloads below mirror bench/restbench, which packages under internal/
// may not import).
// Run with -benchmem: B/op and allocs/op are the memory and allocations per request.
//
//	go run ./internal/pgtest/withpg -- go test -run '^$' -bench ParsePlanBuild -benchmem ./internal/rest/
func BenchmarkParsePlanBuild(b *testing.B) {
	database := pgtest.NewDatabase(b)
	ctx := context.Background()
	_, err := database.Pool.Exec(ctx, benchSchema)
	require.NoError(b, err)
	schema, err := meta.NewInspector(database.Pool, meta.Config{Schemas: []string{"public"}}, nil).Reload(ctx)
	require.NoError(b, err)

	for _, w := range benchWorkloads() {
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
				q, err := rest.Plan(&req, schema, rest.PlanOptions{MaxRows: benchMaxRows})
				if err != nil {
					b.Fatal(err)
				}
				if stmt := rest.Build(q, rest.BuildOptions{MaxRows: benchMaxRows}); stmt.SQL == "" {
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
		_, err := se.DB.Pool.Exec(context.Background(), benchSchema+benchSeed)
		require.NoError(b, err)
		svc, err := rest.New(rest.Config{MaxRows: benchMaxRows}, rest.Deps{Owner: se.DB.Pool, Runner: se.Runner, Logger: se.Logger})
		require.NoError(b, err)
		return []gateway.Service{{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount}}
	})
	handler := env.Server.Config.Handler
	// pk_user is the point read as a signed-in user (apikey plus the user's access token), as
	// issue 18's comparison sends it.
	userToken := env.UserToken(b, "8d0e2a4c-7b2f-4c61-9a57-3f1e2d4b5c6a", nil)
	workloads := benchWorkloads()
	userPK := workloads[0]
	userPK.Name = "pk_user"
	for _, w := range append(workloads, userPK) {
		r, body := benchRequest(w, env.AnonKey())
		if w.Name == "pk_user" {
			r.Header.Set("Authorization", "Bearer "+userToken)
		}
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
func benchRequest(w benchWorkload, apiKey string) (*http.Request, []byte) {
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

// benchMaxRows is rest.max_rows during the benchmark (the configuration default).
const benchMaxRows = 1000

// benchSchema is bench/restbench's data model: authors and their posts (one many-to-one
// embed) and an append-only events table, with row-level security on and policies that let
// every API role read everything and insert events.
const benchSchema = `
CREATE TABLE bench_authors (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE bench_posts (
	id int PRIMARY KEY,
	author_id int NOT NULL REFERENCES bench_authors (id),
	title text NOT NULL,
	rating int NOT NULL,
	published boolean NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX bench_posts_author_id ON bench_posts (author_id);
CREATE TABLE bench_events (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	kind text NOT NULL,
	payload jsonb,
	created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON bench_authors, bench_posts TO anon, authenticated, service_role;
GRANT SELECT, INSERT ON bench_events TO anon, authenticated, service_role;
ALTER TABLE bench_authors ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench_posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY bench_authors_read ON bench_authors FOR SELECT USING (true);
CREATE POLICY bench_posts_read ON bench_posts FOR SELECT USING (true);
CREATE POLICY bench_events_read ON bench_events FOR SELECT USING (true);
CREATE POLICY bench_events_insert ON bench_events FOR INSERT WITH CHECK (true);
`

// benchSeed fills benchSchema with 50 authors of 100 posts each.
const benchSeed = `
INSERT INTO bench_authors (id, name, email)
	SELECT i, 'Author ' || i, 'author' || i || '@example.com' FROM generate_series(1, 50) AS i;
INSERT INTO bench_posts (id, author_id, title, rating, published, created_at)
	SELECT i, (i - 1) / 100 + 1, 'Post number ' || i, i % 5 + 1, i % 3 <> 0,
		timestamptz '2024-01-01 00:00:00+00' + (i * 317 % 31536000) * interval '1 second'
	FROM generate_series(1, 5000) AS i;
ANALYZE bench_authors, bench_posts;
`

// benchWorkload is one kind of request the benchmark sends, for post n (author (n-1)/100+1).
type benchWorkload struct {
	Name   string
	Method string
	Path   string
	Query  func(n int) string
	Body   func(n int) []byte // nil for reads
	Prefer string
	Status int
}

// benchWorkloads are bench/restbench's requests.
func benchWorkloads() []benchWorkload {
	author := func(n int) int { return (n-1)/100 + 1 }
	return []benchWorkload{
		{Name: "pk", Method: http.MethodGet, Path: "/bench_posts", Status: http.StatusOK,
			Query: func(n int) string { return fmt.Sprintf("select=*&id=eq.%d", n) }},
		{Name: "list100", Method: http.MethodGet, Path: "/bench_posts", Status: http.StatusOK,
			Query: func(n int) string {
				return fmt.Sprintf("select=*&author_id=eq.%d&order=created_at.desc&limit=100", author(n))
			}},
		{Name: "embed", Method: http.MethodGet, Path: "/bench_posts", Status: http.StatusOK,
			Query: func(n int) string {
				return fmt.Sprintf("select=id,title,rating,author:bench_authors(id,name)&author_id=eq.%d&order=id&limit=10", author(n))
			}},
		{Name: "insert", Method: http.MethodPost, Path: "/bench_events", Status: http.StatusCreated, Prefer: "return=minimal",
			Query: func(int) string { return "" },
			Body:  func(n int) []byte { return fmt.Appendf(nil, `{"kind":"view","payload":{"post":%d}}`, n) }},
	}
}
