package auditbench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
	"github.com/goforward/goforward/internal/audit"
)

// runWrites measures the admin write with and without its audit entry, interleaved.
func (r *Report) runWrites(ctx context.Context, stack *harness.Stack) error {
	cfg := r.Config
	users, err := seedUsers(ctx, stack.Direct, cfg.Concurrency)
	if err != nil {
		return err
	}
	srv, err := startAdminServer(ctx, stack, cfg.Concurrency)
	if err != nil {
		return err
	}
	defer srv.close()
	api, err := newAPIClient(ctx, stack, cfg.Concurrency)
	if err != nil {
		return err
	}
	defer api.close()
	ops := map[string]load.Op{
		APIPlain: api.op(), APIAudited: api.op(),
		RequestPlain: srv.op(users, "plain"), RequestAudited: srv.op(users, "audited"),
		TxPlain: writeOp(stack.Direct, users, false), TxAudited: writeOp(stack.Direct, users, true),
	}
	lc := load.Config{Concurrency: cfg.Concurrency, Duration: cfg.Duration, Warmup: cfg.Warmup}
	names := variants()
	for round := range cfg.Rounds {
		for k := range names {
			name := names[(round+k)%len(names)]
			before, err := stack.CPU()
			if err != nil {
				return err
			}
			sealerBefore, err := sealerCPU(ctx, stack.Direct)
			if err != nil {
				return err
			}
			if name == APIPlain {
				if err := discardAudit(ctx, stack.Direct, true); err != nil {
					return err
				}
			}
			res := load.Run(ctx, lc, ops[name])
			if name == APIPlain {
				if err := discardAudit(ctx, stack.Direct, false); err != nil {
					return err
				}
			}
			after, err := stack.CPU()
			if err != nil {
				return err
			}
			m := Measurement{Result: res, CPU: after.Sub(before)}
			if audited(name) {
				start := time.Now()
				if err := waitSealed(ctx, stack.Direct, time.Minute); err != nil {
					return err
				}
				r.SealLag = append(r.SealLag, time.Since(start))
			}
			sealerAfter, err := sealerCPU(ctx, stack.Direct)
			if err != nil {
				return err
			}
			m.SealerBackend = sealerAfter - sealerBefore
			r.Writes[name] = append(r.Writes[name], m)
			r.progress("round %d  %-16s %s", round+1, name, res)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedUsers creates one user per worker, so that no two writers update one row.
func seedUsers(ctx context.Context, pool *pgxpool.Pool, n int) ([]string, error) {
	rows, err := pool.Query(ctx, `INSERT INTO auth.users (email, raw_app_meta_data, created_at, updated_at)
SELECT 'auditbench-' || i || '-' || $2 || '@example.com', '{}', now(), now() FROM generate_series(1, $1) i RETURNING id::text`,
		n, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// benchClient is where the benchmark's writes say they come from.
var benchClient = audit.Client{IP: netip.MustParseAddr("192.0.2.10"), UserAgent: "Mozilla/5.0 (auditbench)"}

// updateUser is the admin write both variants make.
const updateUser = `UPDATE auth.users SET raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || $2::jsonb,
  updated_at = now() WHERE id = $1 RETURNING id::text, email, raw_app_meta_data`

// writeOp is the bare transaction, with (audited) or without its audit entry, which is
// queued in the batch that makes the change.
func writeOp(pool *pgxpool.Pool, users []string, audited bool) load.Op {
	var n atomic.Int64
	actor := audit.Actor{Type: audit.ActorAdmin, ID: "8d6f1b0e-2c1a-4c55-9d1e-5a3b2c1d0e0f", Email: "bench-admin@example.com",
		SessionID: "0b8f9c4e-7a61-4f0a-8d2b-3c4d5e6f7a8b"}
	return func(ctx context.Context, worker int) error {
		id := users[worker%len(users)]
		i := n.Add(1)
		change := map[string]any{"plan": "plan-" + strconv.FormatInt(i%5, 10)}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		var e *audit.Entry
		if audited {
			c := benchClient
			c.RequestID = strconv.FormatInt(i, 36)
			e = &audit.Entry{Actor: actor, Action: "admin.user.update", ResourceType: "user", ResourceID: id, Client: c,
				Details: map[string]any{"fields": []string{"app_metadata"}}}
		}
		if _, err := updateWith(ctx, tx, id, change, e); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
}

// updateWith updates the user and, when e is not nil, writes e in the same round trip.
func updateWith(ctx context.Context, tx pgx.Tx, id string, change map[string]any, e *audit.Entry) (benchUser, error) {
	var u benchUser
	if e == nil {
		err := tx.QueryRow(ctx, updateUser, id, change).Scan(&u.ID, &u.Email, &u.AppMetadata)
		return u, err
	}
	b := &pgx.Batch{}
	b.Queue(updateUser, id, change).QueryRow(func(row pgx.Row) error { return row.Scan(&u.ID, &u.Email, &u.AppMetadata) })
	audit.Queue(b, *e)
	return u, tx.SendBatch(ctx, b).Close()
}

// sealerCPU is the processor time of the sealer's PostgreSQL backend so far (the server's
// sealer connects with application_name goforward-audit-sealer).
func sealerCPU(ctx context.Context, pool *pgxpool.Pool) (time.Duration, error) {
	var pid int
	err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = 'goforward-audit-sealer'`).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return harness.ProcessCPU(pid)
}

// unsealed counts the entries after the chain's last link.
func unsealed(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log
WHERE id > (SELECT coalesce(max(entry_id), 0) FROM goforward.audit_chain)`).Scan(&n)
	return n, err
}

// waitSealed polls until the server's sealer has chained every entry.
func waitSealed(ctx context.Context, pool *pgxpool.Pool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, err := unsealed(ctx, pool)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d entries still unsealed after %s", n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// loadAverage is /proc/loadavg's three figures.
func loadAverage() [3]float64 {
	var out [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(data))[:3] {
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}
