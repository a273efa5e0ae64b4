package auditbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// SealRun is the export's backlog: written in bulk, then chained by the server's sealer.
type SealRun struct {
	Rows   int64
	Seed   time.Duration // writing the rows, in one transaction
	Sealed time.Duration // from their commit to the last one sealed
}

// VerifyRun is GET /admin/v1/audit/verify over the whole log.
type VerifyRun struct {
	Checked int64
	Took    time.Duration
	PeakRSS int64
}

// ExportRun is one GET /admin/v1/audit/export.
type ExportRun struct {
	Format  string
	Rows    int64
	Bytes   int64
	Took    time.Duration
	IdleRSS int64 // goforward's resident memory just before
	// PeakRSSTenth is the peak while the first tenth of the rows arrived, PeakRSS over the
	// whole export: flat memory means the two are about equal.
	PeakRSSTenth int64
	PeakRSS      int64
}

// runExport fills the log to ExportRows entries, lets the sealer chain them, verifies and
// exports them.
func (r *Report) runExport(ctx context.Context, stack *harness.Stack) error {
	n := int64(r.Config.ExportRows)
	// One transaction, so that the sealer starts on the whole backlog at its commit: the time
	// from there to the last link is its pace.
	start := time.Now()
	_, err := stack.Direct.Exec(ctx, `INSERT INTO goforward.audit_log (occurred_at, actor_type, actor_id, actor_email,
  action, resource_type, resource_id, outcome, severity, ip, user_agent, request_id, session_id, details)
SELECT now() - make_interval(secs => $1 - i), 'admin', 'admin-' || (i % 7), 'admin' || (i % 7) || '@example.com',
  (ARRAY['admin.user.update', 'admin.user.ban', 'auth.sign_in', 'auth.sign_in_failed'])[1 + i % 4], 'user',
  md5(i::text)::uuid::text, CASE WHEN i % 10 = 0 THEN 'denied' ELSE 'success' END, 'info',
  ('10.0.' || (i / 256 % 256) || '.' || (i % 256))::inet,
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'req-' || i, 'sess-' || (i % 100), jsonb_build_object('fields', jsonb_build_array('app_metadata'), 'plan', 'pro', 'i', i)
FROM generate_series(1, $1::bigint) i`, n)
	if err != nil {
		return fmt.Errorf("seed the log: %w", err)
	}
	seal := &SealRun{Rows: n, Seed: time.Since(start)}
	r.progress("seeded %d entries in %s", n, seal.Seed.Round(time.Millisecond))
	sealStart := time.Now()
	if err := waitSealed(ctx, stack.Direct, 30*time.Minute); err != nil {
		return err
	}
	seal.Sealed = time.Since(sealStart)
	r.Seal = seal
	r.progress("sealed in %s", seal.Sealed.Round(time.Millisecond))

	v, err := verifyOverHTTP(ctx, stack)
	if err != nil {
		return err
	}
	r.Verify = v
	r.progress("verified %d links in %s, peak RSS %d MiB", v.Checked, v.Took.Round(time.Millisecond), v.PeakRSS>>20)
	for _, format := range []string{"ndjson", "csv"} {
		e, err := exportOverHTTP(ctx, stack, format, n)
		if err != nil {
			return err
		}
		r.Exports = append(r.Exports, e)
		r.progress("export %s: %d rows, %d MiB in %s; RSS idle %d MiB, peak %d MiB (first tenth %d MiB)", format, e.Rows,
			e.Bytes>>20, e.Took.Round(time.Millisecond), e.IdleRSS>>20, e.PeakRSS>>20, e.PeakRSSTenth>>20)
	}
	return nil
}

// rssSampler records goforward's peak resident memory every 10ms, and the peak while a
// condition held.
type rssSampler struct {
	peak, peakEarly atomic.Int64
	early           func() bool
	stop            chan struct{}
	done            sync.WaitGroup
}

func sampleRSS(stack *harness.Stack, early func() bool) *rssSampler {
	s := &rssSampler{early: early, stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := stack.RSS(); err == nil {
				if rss > s.peak.Load() {
					s.peak.Store(rss)
				}
				if s.early != nil && s.early() && rss > s.peakEarly.Load() {
					s.peakEarly.Store(rss)
				}
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() { close(s.stop); s.done.Wait() }

func adminGet(ctx context.Context, stack *harness.Stack, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, stack.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+stack.ServiceRoleKey)
	// The bytes as the server writes them: no gzip on either side.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return resp, nil
}

func verifyOverHTTP(ctx context.Context, stack *harness.Stack) (*VerifyRun, error) {
	rss := sampleRSS(stack, nil)
	start := time.Now()
	resp, err := adminGet(ctx, stack, "/admin/v1/audit/verify")
	if err != nil {
		rss.finish()
		return nil, err
	}
	defer resp.Body.Close()
	var report struct {
		OK      bool  `json:"ok"`
		Checked int64 `json:"checked"`
	}
	err = json.NewDecoder(resp.Body).Decode(&report)
	took := time.Since(start)
	rss.finish()
	if err != nil {
		return nil, err
	}
	if !report.OK {
		return nil, fmt.Errorf("verify reports a broken chain")
	}
	return &VerifyRun{Checked: report.Checked, Took: took, PeakRSS: rss.peak.Load()}, nil
}

func exportOverHTTP(ctx context.Context, stack *harness.Stack, format string, rows int64) (ExportRun, error) {
	idle, err := stack.RSS()
	if err != nil {
		return ExportRun{}, err
	}
	e := ExportRun{Format: format, IdleRSS: idle}
	var lines atomic.Int64
	rss := sampleRSS(stack, func() bool { return lines.Load() < rows/10 })
	start := time.Now()
	resp, err := adminGet(ctx, stack, "/admin/v1/audit/export?format="+format)
	if err != nil {
		rss.finish()
		return ExportRun{}, err
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		e.Bytes += int64(n)
		lines.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
		if err == io.EOF {
			break
		}
		if err != nil {
			resp.Body.Close()
			rss.finish()
			return ExportRun{}, fmt.Errorf("export %s: %w", format, err)
		}
	}
	resp.Body.Close()
	e.Took = time.Since(start)
	rss.finish()
	e.Rows = lines.Load()
	if format == "csv" {
		e.Rows-- // the header
	}
	e.PeakRSS, e.PeakRSSTenth = rss.peak.Load(), rss.peakEarly.Load()
	if e.Rows < rows {
		return ExportRun{}, fmt.Errorf("export %s: %d rows, want at least %d", format, e.Rows, rows)
	}
	return e, nil
}
