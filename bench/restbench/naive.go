package restbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/db"
)

// NaiveCallHeader names the prepared call ("workload/index") a request to the naive server
// stands for, so that it has nothing to parse.
const NaiveCallHeader = "X-Bench-Call"

// NaiveSpec is what the naive server answers: the database to use and, per workload, the
// prepared calls. The naive server is the reference benchmarking.md asks for — a plain
// net/http handler that runs a call's statements through pgx exactly as the service does
// (RoleRunner.RunInRole on an authenticator connection) and writes the body. It has no
// gateway, no apikey check and no parsing or planning, so the distance between it and the
// service is what the service adds on top of "just Go". It runs in a process of its own, as
// the service does, so that neither shares a Go runtime with the load generator.
type NaiveSpec struct {
	DatabaseURL string // authenticator's URL
	PoolSize    int32
	Workloads   map[string]NaiveWorkload
}

// NaiveWorkload is one workload's calls and how to answer them.
type NaiveWorkload struct {
	Read   bool // read-only transaction, and the body is sent
	Status int
	Calls  []NaiveCall
}

// NaiveCall is one prepared call.
type NaiveCall struct {
	Statements []NaiveStatement
	Scope      db.RequestScope
}

// NaiveStatement is a statement with its arguments in PostgreSQL's text form, as RunInRole
// sends them (nil is NULL).
type NaiveStatement struct {
	SQL  string
	Args []*string
}

// naiveSpec describes calls for the naive server.
func naiveSpec(databaseURL string, poolSize int, workloads []Workload, calls map[string][]call) (NaiveSpec, error) {
	spec := NaiveSpec{DatabaseURL: databaseURL, PoolSize: int32(poolSize), Workloads: map[string]NaiveWorkload{}}
	types := pgtype.NewMap()
	for _, w := range workloads {
		nw := NaiveWorkload{Read: w.Read(), Status: w.Status}
		for _, c := range calls[w.Name] {
			nc := NaiveCall{Scope: c.scope}
			for _, s := range c.stmts {
				ns := NaiveStatement{SQL: s.SQL, Args: make([]*string, len(s.Args))}
				for i, arg := range s.Args {
					if arg == nil {
						continue
					}
					text, err := types.Encode(0, pgtype.TextFormatCode, arg, nil)
					if err != nil {
						return NaiveSpec{}, fmt.Errorf("%s: argument %d: %w", w.Name, i+1, err)
					}
					v := string(text)
					ns.Args[i] = &v
				}
				nc.Statements = append(nc.Statements, ns)
			}
			nw.Calls = append(nw.Calls, nc)
		}
		spec.Workloads[w.Name] = nw
	}
	return spec, nil
}

// ServeNaive answers spec's calls on ln until ctx ends.
func ServeNaive(ctx context.Context, spec NaiveSpec, ln net.Listener) error {
	cfg, err := pgxpool.ParseConfig(spec.DatabaseURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = spec.PoolSize
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	runner := db.NewRoleRunner(pool, db.RunnerConfig{Timeouts: statementTimeouts()})
	type prepared struct {
		w     NaiveWorkload
		stmts [][]db.Statement
	}
	byName := map[string]prepared{}
	for name, w := range spec.Workloads {
		p := prepared{w: w}
		for _, c := range w.Calls {
			var stmts []db.Statement
			for _, s := range c.Statements {
				args := make([]any, len(s.Args))
				for i, a := range s.Args {
					if a != nil {
						args[i] = *a
					}
				}
				stmts = append(stmts, db.Statement{SQL: s.SQL, Args: args})
			}
			p.stmts = append(p.stmts, stmts)
		}
		byName[name] = p
	}
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name, index, _ := strings.Cut(r.Header.Get(NaiveCallHeader), "/")
		i, err := strconv.Atoi(index)
		p, known := byName[name]
		if err != nil || !known || i < 0 || i >= len(p.stmts) {
			http.Error(rw, "unknown call", http.StatusBadRequest)
			return
		}
		stmts := p.stmts[i]
		var body []byte
		opts := db.PipelineOptions{ReadOnly: p.w.Read}
		err = runner.RunInRole(r.Context(), p.w.Calls[i].Scope, opts, stmts, func(i int, rows pgx.Rows) error {
			return drain(rows, i == len(stmts)-1, &body)
		})
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		if !p.w.Read {
			rw.WriteHeader(p.w.Status)
			return
		}
		rw.Header().Set("Content-Type", "application/json; charset=utf-8")
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rw.WriteHeader(p.w.Status)
		_, _ = rw.Write(body)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
