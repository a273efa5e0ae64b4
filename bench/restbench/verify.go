package restbench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/internal/rest"
)

// waitForSchema waits until the service's schema cache has picked up the benchmark tables
// (it reloads after DDL).
func waitForSchema(ctx context.Context, exec *executor, spec clientSpec) error {
	probe := Workload{Method: http.MethodGet, Status: http.StatusOK}
	c := &call{url: spec.baseURL + rest.Prefix + "/bench_posts?select=id&limit=1", header: spec.requestHeader(probe)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := exec.viaHTTP(ctx, probe, c, false)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service does not serve the benchmark tables: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkSameBody makes sure each baseline does the service's work: for every read, the body
// the service sends must be byte for byte the body the baseline's statement produces.
func checkSameBody(ctx context.Context, exec *executor, workloads []Workload, calls map[string][]call) error {
	for _, w := range workloads {
		c := &calls[w.Name][0]
		ours, err := exec.viaHTTP(ctx, w, c, true)
		if err != nil {
			return fmt.Errorf("%s via HTTP: %w", w.Name, err)
		}
		naive, err := exec.viaNaive(ctx, w, c, true)
		if err != nil {
			return fmt.Errorf("%s via the naive server: %w", w.Name, err)
		}
		direct, err := exec.direct(ctx, w, c, true)
		if err != nil {
			return fmt.Errorf("%s direct: %w", w.Name, err)
		}
		bare, err := exec.bare(ctx, c, true)
		if err != nil {
			return fmt.Errorf("%s bare: %w", w.Name, err)
		}
		if !w.Read() {
			continue // return=minimal: the service sends no body
		}
		if string(ours) != string(direct) || string(ours) != string(bare) || string(ours) != string(naive) {
			return fmt.Errorf("%s: the service answered %.200q but the baseline's statement gives %.200q (bare %.200q, naive %.200q)",
				w.Name, ours, direct, bare, naive)
		}
	}
	return nil
}

// captureWorkloadSQL sends one call per workload through the service with statement logging
// on and returns what the service executed next to what the baseline sends.
func captureWorkloadSQL(ctx context.Context, stack *harness.Stack, exec *executor, workloads []Workload, calls map[string][]call) ([]CapturedSQL, error) {
	names := make([]string, len(workloads))
	built := map[string][]string{}
	for i, w := range workloads {
		names[i] = w.Name
		for _, s := range calls[w.Name][1].stmts {
			built[w.Name] = append(built[w.Name], s.SQL)
		}
	}
	return captureSQL(ctx, stack.Direct, names, built, func(ctx context.Context) error {
		for _, w := range workloads {
			if _, err := exec.viaHTTP(ctx, w, &calls[w.Name][1], false); err != nil {
				return err
			}
		}
		return nil
	})
}

func health(ctx context.Context, exec *executor, spec clientSpec) error {
	w := Workload{Method: http.MethodGet, Status: http.StatusOK}
	_, err := exec.viaHTTP(ctx, w, &call{url: spec.baseURL + "/health"}, false)
	return err
}
