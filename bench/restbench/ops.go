package restbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/bench/load"
	"github.com/goforward/goforward/internal/db"
)

// The variants every workload is measured in.
const (
	// Ours is the request over loopback HTTP to the goforward binary.
	Ours = "ours"
	// Direct is the SQL the service emits, sent through pgx exactly as the service sends it:
	// the role and claims settings and the statement pipelined in one unprepared batch, on a
	// connection logged in as authenticator like the service's.
	Direct = "direct"
	// Bare is the service's statement alone through pgx as the superuser, prepared (pgx's
	// statement cache), without role or claims: the floor of the query itself.
	Bare = "bare"
	// Naive is the same request over loopback HTTP to a plain net/http + pgx server in a
	// process of its own (bench/cmd/naiveserver) that does Direct's database work: what
	// "just Go" costs.
	Naive = "naive"
	// OursWrk is Ours with wrk as the load generator instead of the Go client: the same
	// calls, headers and bodies, from a process of its own that costs far less processor time
	// per call (see wrkThreads).
	OursWrk = "ours·wrk"
	// NaiveWrk is Naive with wrk as the load generator.
	NaiveWrk = "naive·wrk"
)

// variants lists the variants in report order, the wrk ones only when they are measured.
func variants(withWrk bool) []string {
	if withWrk {
		return []string{Ours, Naive, Direct, Bare, OursWrk, NaiveWrk}
	}
	return []string{Ours, Naive, Direct, Bare}
}

// executor runs calls in each variant.
type executor struct {
	client *http.Client
	runner *db.RoleRunner
	pool   *pgxpool.Pool
}

// pipelineOptions mirrors what the service's handler asks RunInRole for: reads run read-only;
// an insert with return=minimal needs no confirmation round trip.
func pipelineOptions(w Workload) db.PipelineOptions {
	return db.PipelineOptions{ReadOnly: w.Read()}
}

// viaHTTP sends c to the service and returns the response body.
func (e *executor) viaHTTP(ctx context.Context, w Workload, c *call, keep bool) ([]byte, error) {
	return e.send(ctx, w, c.url, c.header, c.body, keep)
}

// viaNaive sends c to the naive reference server and returns the response body.
func (e *executor) viaNaive(ctx context.Context, w Workload, c *call, keep bool) ([]byte, error) {
	return e.send(ctx, w, c.naiveURL, c.naiveHeader, c.body, keep)
}

func (e *executor) send(ctx context.Context, w Workload, url string, header http.Header, payload []byte, keep bool) ([]byte, error) {
	var body io.Reader = http.NoBody
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, w.Method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header = header // read-only from here on, so every call may share it
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	sink := io.Discard
	if keep || resp.StatusCode != w.Status {
		sink = &out
	}
	if _, err := io.Copy(sink, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != w.Status {
		return nil, fmt.Errorf("%s %s: status %d: %.300s", w.Method, url, resp.StatusCode, out.String())
	}
	return out.Bytes(), nil
}

// direct runs c's statements the way the service does, and returns the body column.
func (e *executor) direct(ctx context.Context, w Workload, c *call, keep bool) ([]byte, error) {
	var body []byte
	err := e.runner.RunInRole(ctx, c.scope, pipelineOptions(w), c.stmts, func(i int, rows pgx.Rows) error {
		return drain(rows, keep && i == len(c.stmts)-1, &body)
	})
	return body, err
}

// bare runs c's statements alone through the pool, prepared, and returns the body column.
func (e *executor) bare(ctx context.Context, c *call, keep bool) ([]byte, error) {
	var body []byte
	for i, s := range c.stmts {
		rows, err := e.pool.Query(ctx, s.SQL, s.Args...)
		if err != nil {
			return nil, err
		}
		err = drain(rows, keep && i == len(c.stmts)-1, &body)
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

// drain reads every row; with keep it copies the third column (the statement's body) of the
// first row.
func drain(rows pgx.Rows, keep bool, body *[]byte) error {
	first := true
	for rows.Next() {
		values := rows.RawValues()
		if keep && first && len(values) > 2 {
			*body = bytes.Clone(values[2])
		}
		first = false
	}
	return rows.Err()
}

// op turns variant into a load operation over calls: each worker walks the calls from its own
// starting point, so concurrent workers name different rows.
func (e *executor) op(variant string, w Workload, calls []call, concurrency int) load.Op {
	next := make([]int, concurrency)
	pick := func(worker int) *call {
		i := (worker*len(calls)/concurrency + next[worker]) % len(calls)
		next[worker]++
		return &calls[i]
	}
	switch variant {
	case Ours:
		return func(ctx context.Context, worker int) error {
			_, err := e.viaHTTP(ctx, w, pick(worker), false)
			return err
		}
	case Naive:
		return func(ctx context.Context, worker int) error {
			_, err := e.viaNaive(ctx, w, pick(worker), false)
			return err
		}
	case Direct:
		return func(ctx context.Context, worker int) error {
			_, err := e.direct(ctx, w, pick(worker), false)
			return err
		}
	default:
		return func(ctx context.Context, worker int) error {
			_, err := e.bare(ctx, pick(worker), false)
			return err
		}
	}
}
