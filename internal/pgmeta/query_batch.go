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
// waits until its own entry has committed, but requests that finish while a batch is being
// written share the next batch's round trip and commit instead of paying one each. With one
// request at a time a batch is a single entry, as audit.Record would write it.
//
// There is no goroutine of its own: the first request to find no batch in flight writes
// batches (the leader) until one holding its own entry has committed, then hands the
// leadership to the oldest waiting request, so no request serves the others for long.
type entryBatcher struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	queue   []*pendingEntry
	leading bool
}

// maxBatch bounds one batch, so that a burst does not become one huge transaction.
const maxBatch = 256

type pendingEntry struct {
	entry audit.Entry
	// done receives the outcome of the entry's batch, or lead: this request is now the
	// leader and must write the queue.
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
	b.queue = append(b.queue, p)
	if b.leading {
		b.mu.Unlock()
		res := <-p.done
		if !res.lead {
			return res.err
		}
		b.mu.Lock()
	} else {
		b.leading = true
	}
	// The leader: write batches until its own entry is in one.
	for {
		n := min(len(b.queue), maxBatch)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		errs := b.flush(ctx, batch)
		mine := false
		var err error
		for i, q := range batch {
			if q == p {
				mine, err = true, errs[i]
				continue
			}
			q.done <- batchResult{err: errs[i]}
		}
		b.mu.Lock()
		if mine {
			if len(b.queue) > 0 {
				b.queue[0].done <- batchResult{lead: true}
			} else {
				b.leading = false
			}
			b.mu.Unlock()
			return err
		}
	}
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
