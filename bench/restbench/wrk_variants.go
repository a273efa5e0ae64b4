package restbench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
)

// wrkTarget is one wrk variant of one workload: the server it loads and the scripts.
type wrkTarget struct {
	url    string // the server; the calls carry the path
	script string // cycles through the workload's calls
	probe  string // sends the first call and reports its status
	status int    // what every call must answer with
}

// prepareWrk sets up the wrk variants: it finds wrk, writes a measuring and a probe script
// per workload and server, and checks through wrk that both servers answer the first call of
// every workload as the Go client gets it answered. Without wrk it says so on Progress and
// the run goes on without them.
func (b *bench) prepareWrk(ctx context.Context) error {
	if b.cfg.NoWrk {
		return nil
	}
	path, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Fprintln(b.cfg.Progress, wrkNotFound)
		return nil
	}
	if b.wrk, err = newWrkRunner(path); err != nil {
		return err
	}
	b.wrkTargets = map[string]map[string]wrkTarget{}
	for _, w := range b.workloads {
		b.wrkTargets[w.Name] = map[string]wrkTarget{}
		for _, v := range []string{OursWrk, NaiveWrk} {
			t, name := wrkTarget{url: b.spec.baseURL, status: w.Status}, w.Name+"-ours"
			if v == NaiveWrk {
				t.url, name = b.naive.url, w.Name+"-naive"
			}
			calls := b.wrkCalls(w, v == NaiveWrk)
			if t.script, err = b.wrk.writeScript(name, calls, false); err != nil {
				return err
			}
			if t.probe, err = b.wrk.writeScript(name+"-probe", calls, true); err != nil {
				return err
			}
			b.wrkTargets[w.Name][v] = t
		}
	}
	return b.probeWrk(ctx)
}

// wrkCalls are w's calls as wrk sends them to the service or to the naive server: the
// headers are those the service sees from the Go client (serverHeader, Content-Length left
// to wrk.format), User-Agent included, so that request.headers, and with it the settings
// statement, is the same size in both.
func (b *bench) wrkCalls(w Workload, naive bool) []wrkCall {
	calls := b.calls[w.Name]
	out := make([]wrkCall, len(calls))
	for i, c := range calls {
		header := b.spec.serverHeader(w, nil)
		if naive {
			header.Set(NaiveCallHeader, c.naiveHeader.Get(NaiveCallHeader))
		}
		out[i] = wrkCall{method: w.Method, target: c.target, header: header, body: c.body}
	}
	return out
}

// probeWrk runs every probe script at once: wrk runs for its whole -d even after the probe
// has stopped it.
func (b *bench) probeWrk(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, w := range b.workloads {
		for v, t := range b.wrkTargets[w.Name] {
			wg.Go(func() {
				if err := b.wrk.probe(ctx, t.probe, t.url, t.status); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s %s: %w", w.Name, v, err))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}
