package pgmeta

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
)

// entryBatcher writes the SQL runner's audit entries with group commit: every request still
// waits until its own entry has committed, but requests that finish while the batches in
// flight are being written share the next batch's round trip and commit instead of paying
// one each. With one request at a time a batch is a single entry, as audit.Record would
// write it.
//
// There is no goroutine of its own. A request that finds fewer than maxInFlight batches being
// written leads a batch of its own entry and those waiting, and when it has committed hands
// the lead to the oldest waiting request, so no request serves the others for long. More than
// one batch in flight lets a request that arrives during a flush start its own at once rather
// than wait for that flush and then its own (PostgreSQL's group commit still joins the
// batches' WAL flushes when they meet).
type entryBatcher struct {
	pool *pgxpool.Pool

	mu       sync.Mutex
	queue    []*pendingEntry
	inFlight int
}

const (
	// maxBatch bounds one batch, so that a burst does not become one huge transaction.
	maxBatch = 256
	// maxInFlight bounds the batches written at once, each holding a connection of the
	// owner's pool.
	maxInFlight = 2
)

type pendingEntry struct {
	entry audit.Entry
	// done receives the outcome of the entry's batch, or lead: this request now leads a batch
	// starting with its own entry.
	done chan batchResult
}

type batchResult struct {
	err  error
	lead bool
}

// write commits e to the audit log, alone or with entries of concurrent requests. It is
// detached from ctx's cancellation: an entry of SQL that ran is written whatever the client
// does.
func (b *entryBatcher) write(ctx context.Context, e audit.Entry) error {
	p := &pendingEntry{entry: e, done: make(chan batchResult, 1)}
	b.mu.Lock()
	if b.inFlight >= maxInFlight {
		b.queue = append(b.queue, p)
		b.mu.Unlock()
		res := <-p.done
		if !res.lead {
			return res.err
		}
		// The request that handed over the lead counted this batch in inFlight.
		b.mu.Lock()
	} else {
		b.inFlight++
	}
	n := min(len(b.queue), maxBatch-1)
	batch := append([]*pendingEntry{p}, b.queue[:n]...)
	b.queue = b.queue[n:]
	b.mu.Unlock()

	errs := b.flush(ctx, batch)
	for i, q := range batch[1:] {
		q.done <- batchResult{err: errs[i+1]}
	}

	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		b.queue = b.queue[1:]
		next.done <- batchResult{lead: true}
	} else {
		b.inFlight--
	}
	b.mu.Unlock()
	return errs[0]
}

// flush writes a batch in one implicit transaction and returns each entry's error; when the
// batch fails (one bad entry should not fail the others), each entry is written on its own.
func (b *entryBatcher) flush(ctx context.Context, batch []*pendingEntry) []error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	errs := make([]error, len(batch))
	if len(batch) > 1 {
		pb := &pgx.Batch{}
		for _, q := range batch {
			audit.Queue(pb, q.entry)
		}
		if b.pool.SendBatch(ctx, pb).Close() == nil {
			return errs
		}
	}
	for i, q := range batch {
		errs[i] = audit.Record(ctx, b.pool, q.entry)
	}
	return errs
}
