// Package querybench measures what the guarded SQL runner (POST /pg/query) costs over
// running the same SQL through pgx: parsing and classifying it, authenticating the caller,
// writing the audit entry and resetting the session. Three ways of running one query are
// compared, with the same concurrency, in alternating rounds:
//
//   - ours: POST /pg/query to goforward with the service-role key;
//   - plain: POST /query to a plain net/http server in a process of its own, which runs the
//     body's SQL through pgx on the same database (simple protocol, as ours) and answers the
//     rows as JSON: the same HTTP round trip and database work, without the guard;
//   - plain + audit: the same server committing one audit entry per request before it
//     answers: the durability-equivalent baseline (no guard, no group commit);
//   - direct: the SQL through pgx from the load generator, no HTTP at all;
//   - direct + classify, direct + classify + audit (and the same with asynchronous commit):
//     direct with the runner's own steps added one at a time, to show what each costs.
//
// ours ÷ plain is the guard's overhead; ours ÷ direct also counts HTTP itself.
package querybench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/sqlguard"
)

// Query is one measured SQL request.
type Query struct {
	Name string
	SQL  string
}

// Queries are the select-1-sized requests the target is set for.
var Queries = []Query{
	{"select 1", "select 1"},
	{"point read", "select id, name, email from public.bench_users where id = 42"},
}

// SeedSQL creates what Queries read.
const SeedSQL = `CREATE TABLE public.bench_users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
INSERT INTO public.bench_users SELECT g, 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
ANALYZE public.bench_users;`

// Target is one way of running a query.
type Target struct {
	Name string
	Do   func(ctx context.Context, sql string) error
}

// HTTPTarget posts {"query": sql} to url with the given headers and checks for a 200.
func HTTPTarget(name, url string, header http.Header, client *http.Client) Target {
	return Target{Name: name, Do: func(ctx context.Context, sql string) error {
		body, _ := json.Marshal(map[string]string{"query": sql})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
			return fmt.Errorf("%s: status %d: %s", name, res.StatusCode, b)
		}
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}}
}

// GuardedTarget runs sql through pgx on pool after the runner's own steps, in the load
// generator's process and without HTTP: classifying it (sqlguard with the pgx catalog) and,
// with record, writing an audit entry like the runner's (one round trip and commit per
// request, as with one request at a time). It shows what each step adds to the query itself.
func GuardedTarget(name string, pool *pgxpool.Pool, record bool) Target {
	analyzer := &sqlguard.Analyzer{Catalog: sqlguard.NewCatalog(pool)}
	return Target{Name: name, Do: func(ctx context.Context, sql string) error {
		stmts, err := analyzer.Analyze(ctx, sql)
		if err != nil {
			return err
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		start := time.Now()
		if _, err := conn.Conn().PgConn().Exec(ctx, sql).ReadAll(); err != nil {
			return err
		}
		if !record {
			return nil
		}
		return audit.Record(ctx, conn, audit.Entry{Actor: audit.Actor{Type: audit.ActorServiceRole}, Action: "meta.query",
			ResourceType: "sql", ResourceID: stmts[0].Fingerprint, Details: map[string]any{
				"statements": []map[string]any{{"fingerprint": stmts[0].Fingerprint, "kind": stmts[0].Kind, "classes": []string{}, "line": 1}},
				"kinds":      []string{string(stmts[0].Kind)}, "classes": []string{}, "confirmed": []string{}, "read_only": false,
				"duration_ms": float64(time.Since(start).Microseconds()) / 1000, "rows": 1, "truncated": false,
			}})
	}}
}

// DirectTarget runs sql through pgx on pool, reading every row.
func DirectTarget(pool *pgxpool.Pool) Target {
	return Target{Name: "direct", Do: func(ctx context.Context, sql string) error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		_, err = conn.Conn().PgConn().Exec(ctx, sql).ReadAll()
		return err
	}}
}

// NewClient is an HTTP client keeping enough connections for concurrency workers.
func NewClient(concurrency int) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, DisableCompression: true,
	}}
}

// Throughput runs sql through t from concurrency workers for d and returns requests/s and
// the requests made.
func Throughput(ctx context.Context, t Target, sql string, concurrency int, d time.Duration) (float64, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := t.Do(ctx, sql); err != nil {
					if ctx.Err() == nil {
						once.Do(func() { firstErr = err; cancel() })
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return float64(done.Load()) / time.Since(start).Seconds(), done.Load(), nil
}

// Latency runs sql through t n times, one after another, and returns the median.
func Latency(ctx context.Context, t Target, sql string, n int) (time.Duration, error) {
	times := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := t.Do(ctx, sql); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// LoadAverage reads the one-minute load average.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// ServePlain is the plain server: POST /query {"query"} runs the SQL through pgx with the
// simple protocol and answers the last result's rows as a JSON array of objects whose values
// are PostgreSQL's text (what a minimal handler would do). With audited, it then commits one
// goforward.audit_log entry per request on the same connection before answering
// (audit.Record, one round trip and one synchronous commit): the durability the runner
// promises, without its parse, classification or group commit. It serves on ln until ctx
// ends.
func ServePlain(ctx context.Context, pool *pgxpool.Pool, ln net.Listener, audited bool) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /query", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query string `json:"query"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		conn, err := pool.Acquire(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Release()
		start := time.Now()
		results, err := conn.Conn().PgConn().Exec(r.Context(), body.Query).ReadAll()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if audited {
			e := audit.Entry{Actor: audit.Actor{Type: audit.ActorServiceRole}, Action: "meta.query", ResourceType: "sql",
				Details: map[string]any{"duration_ms": float64(time.Since(start).Microseconds()) / 1000, "rows": len(results)}}
			if err := audit.Record(r.Context(), conn, e); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		rows := []map[string]*string{}
		if len(results) > 0 {
			last := results[len(results)-1]
			for _, values := range last.Rows {
				row := map[string]*string{}
				for i, f := range last.FieldDescriptions {
					if values[i] != nil {
						s := string(values[i])
						row[f.Name] = &s
					} else {
						row[f.Name] = nil
					}
				}
				rows = append(rows, row)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rows)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
