package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The sealer chains entries after they commit. Writers only INSERT into goforward.audit_log
// (an identity id, no lock beyond the row's), so the audit log never serialises the API's
// writes; one elected sealer per database appends a link per entry to goforward.audit_chain,
// strictly in id order, shortly after.
//
// Ids are handed out when a row is inserted but become visible when its transaction commits,
// so entry 7 may commit after entry 8. The sealer therefore seals only up to a horizon below
// which every id is settled (committed, or rolled back for good): it reads the identity's last
// value L, then the transactions holding a write lock on goforward.audit_log. Every
// transaction that took an id ≤ L locked the table before taking it, so once those
// transactions have ended, each id ≤ L is visible or never will be. Waiting costs the writers
// nothing: the sealer only polls pg_locks, and a pass that waits longer than Settle leaves the
// rest to the next pass. Sealing in id order is what lets verification accept only an
// unsealed tail: an unsealed entry below a sealed one was added afterwards.

// sealerLockKey is the session advisory lock whose holder is the sealer of a database.
const sealerLockKey int64 = 0x676f_6661_7564_6974 // "gofaudit"

// sealBatch is how many entries one sealing transaction chains.
const sealBatch = 10_000

// ErrNotLeader is returned by Seal and Archive when another process is the sealer.
var ErrNotLeader = errors.New("audit: another process is sealing this database's audit log")

// ErrChainBroken is returned when the chain in the database does not continue the head this
// data directory recorded: its newest links were removed or rewritten. Sealing stops, so that
// entries that lost their links are not sealed again as if nothing happened.
var ErrChainBroken = errors.New("audit: the chain in the database does not match the head recorded outside it")

// SealerConfig configures a Sealer. Zero values mean the stated defaults.
type SealerConfig struct {
	// Dir is Dir(data directory): the chain head is recorded there after every pass, and
	// retention writes its archives there. "" keeps nothing outside the database.
	Dir string
	// Interval is how often the leader looks for new entries. Default 500ms.
	Interval time.Duration
	// Settle bounds how long one pass waits for transactions still writing entries below the
	// newest id. Default 200ms; the next pass carries on.
	Settle time.Duration
	// Elect is how often a process that is not the sealer tries to become it. Default 5s.
	Elect time.Duration
	// Retention archives entries older than this (audit.retention); 0 keeps them all.
	Retention time.Duration
	// RetentionEvery is how often the leader applies Retention. Default 1h.
	RetentionEvery time.Duration
	Logger         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sealer chains the audit log. Run it in every server process: one of them is elected per
// database (a session advisory lock) and the others stand by.
type Sealer struct {
	cfg    SealerConfig
	pool   *pgxpool.Pool
	logger *slog.Logger
	now    func() time.Time
}

// NewSealer returns a sealer of the audit log in pool's database (the owner's pool).
func NewSealer(pool *pgxpool.Pool, cfg SealerConfig) *Sealer {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Interval, 500*time.Millisecond)
	def(&cfg.Settle, 200*time.Millisecond)
	def(&cfg.Elect, 5*time.Second)
	def(&cfg.RetentionEvery, time.Hour)
	s := &Sealer{cfg: cfg, pool: pool, logger: cfg.Logger, now: cfg.Now}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Run seals until ctx ends: it tries to become the sealer every Elect, and while it is, seals
// every Interval and applies retention every RetentionEvery. A lost connection ends the term;
// the lock goes with it and any process may take over.
func (s *Sealer) Run(ctx context.Context) error {
	for {
		l, err := s.elect(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("audit sealer: election failed", "error", err)
		}
		if l != nil {
			err := l.lead(ctx)
			l.close()
			if ctx.Err() != nil {
				return nil
			}
			s.logger.Warn("audit sealer: stopped sealing; will try again", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.Elect):
		}
	}
}

// Seal runs one pass as the sealer and returns how many entries it chained. It fails with
// ErrNotLeader when another process seals, and ErrChainBroken when the chain was tampered with.
func (s *Sealer) Seal(ctx context.Context) (int, error) {
	l, err := s.elect(ctx)
	if err != nil {
		return 0, err
	}
	if l == nil {
		return 0, ErrNotLeader
	}
	defer l.close()
	if l.broken != "" {
		return 0, fmt.Errorf("%w: %s", ErrChainBroken, l.broken)
	}
	n, err := l.pass(ctx)
	if err == nil && l.broken != "" {
		err = fmt.Errorf("%w: %s", ErrChainBroken, l.broken)
	}
	return n, err
}

// leader is the elected sealer: its own connection holds the lock.
type leader struct {
	s       *Sealer
	conn    *pgx.Conn
	seqName string // the identity sequence of goforward.audit_log
	head    Head   // the last link (Seq 0: none yet)
	pending *horizon
	// broken says why sealing stopped; "" while the chain continues what was recorded.
	broken string
}

// horizon is an id up to which entries may be sealed once lockers have ended.
type horizon struct {
	upTo    int64
	lockers []string // virtual transaction ids holding a write lock on the log
	since   time.Time
	warned  bool
}

// elect connects and takes the sealer's lock; nil without error when another process holds it.
func (s *Sealer) elect(ctx context.Context) (*leader, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "goforward-audit-sealer"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit sealer: connect: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, sealerLockKey).Scan(&got); err != nil || !got {
		conn.Close(context.Background())
		if err != nil {
			return nil, fmt.Errorf("audit sealer: lock: %w", err)
		}
		return nil, nil
	}
	l := &leader{s: s, conn: conn}
	if err := l.load(ctx); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// close gives up the lock, at once rather than when the server notices the connection is gone,
// so that the next process (or the next Seal) may lead straight away.
func (l *leader) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !l.conn.IsClosed() {
		_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, sealerLockKey)
	}
	l.conn.Close(ctx)
}

// load reads the chain's head and holds it against the head recorded in the data directory:
// the database may be ahead (another node sealed since, or this one crashed before recording)
// but must contain the recorded link unchanged.
func (l *leader) load(ctx context.Context) error {
	if err := l.conn.QueryRow(ctx, `SELECT pg_get_serial_sequence('goforward.audit_log', 'id')`).Scan(&l.seqName); err != nil {
		return fmt.Errorf("audit sealer: %w", err)
	}
	head, err := chainHead(ctx, l.conn)
	if err != nil {
		return err
	}
	l.head = head
	anchor, err := readAnchor(l.s.cfg.Dir)
	if err != nil || anchor == nil {
		return err
	}
	if head.Seq < anchor.Seq {
		l.stop(ctx, fmt.Sprintf("the chain ends at link %d (entry %d) but %s records link %d (entry %d): the newest links were removed",
			head.Seq, head.EntryID, l.s.cfg.Dir, anchor.Seq, anchor.EntryID))
		return nil
	}
	var hash []byte
	err = l.conn.QueryRow(ctx, `SELECT hash FROM goforward.audit_chain WHERE seq = $1`, anchor.Seq).Scan(&hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Archived since: verification checks it in the archive.
	case err != nil:
		return fmt.Errorf("audit sealer: %w", err)
	case !bytes.Equal(hash, anchor.Hash):
		l.stop(ctx, fmt.Sprintf("link %d differs from the head recorded in %s: the chain was rewritten", anchor.Seq, l.s.cfg.Dir))
	}
	return nil
}

// chainHead is the last link in the database; Seq 0 when there is none.
func chainHead(ctx context.Context, q Querier) (Head, error) {
	var h Head
	err := q.QueryRow(ctx, `SELECT seq, entry_id, hash, sealed_at FROM goforward.audit_chain ORDER BY seq DESC LIMIT 1`).
		Scan(&h.Seq, &h.EntryID, &h.Hash, &h.SealedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("audit: read the chain head: %w", err)
	}
	h.SealedAt = h.SealedAt.UTC()
	return h, nil
}

// stop ends sealing for this term and raises the alarm: an error in the log, and a critical
// entry with a security alert for the people who watch them.
func (l *leader) stop(ctx context.Context, reason string) {
	l.broken = reason
	l.s.logger.Error("audit sealer: the audit chain was tampered with; sealing stopped until this is investigated", "reason", reason)
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	e := Entry{Actor: Actor{Type: ActorSystem}, Action: "audit.chain_broken", Outcome: Error, Severity: Critical,
		ResourceType: "audit_log", Details: map[string]any{"reason": reason}}
	if err := Record(ctx, tx, e); err != nil {
		l.s.logger.Error("audit sealer: record the broken chain", "error", err)
		return
	}
	// The monitor's audit_chain_broken rule raises the same alert: one open alert counts both.
	if _, err := tx.Exec(ctx, `INSERT INTO goforward.security_alerts (first_seen, last_seen, severity, rule, subject, message, details)
VALUES ($1, $1, 'critical', 'audit_chain_broken', 'audit_log', $2, jsonb_build_object('reason', $2::text))
ON CONFLICT (rule, subject) WHERE status <> 'resolved'
DO UPDATE SET count = security_alerts.count + 1, last_seen = excluded.last_seen, message = excluded.message, details = excluded.details`,
		l.s.now().UTC(), reason); err != nil {
		l.s.logger.Error("audit sealer: raise the alert", "error", err)
		return
	}
	_ = tx.Commit(ctx)
}

// lead seals every Interval and applies retention every RetentionEvery until ctx ends or the
// connection fails.
func (l *leader) lead(ctx context.Context) error {
	ticker := time.NewTicker(l.s.cfg.Interval)
	defer ticker.Stop()
	var nextRetention time.Time
	for {
		if _, err := l.pass(ctx); err != nil {
			return err
		}
		if now := l.s.now(); l.s.cfg.Retention > 0 && l.broken == "" && !now.Before(nextRetention) {
			nextRetention = now.Add(l.s.cfg.RetentionEvery)
			if res, err := l.archive(ctx); err != nil {
				l.s.logger.Error("audit retention failed; the entries stay in the database", "error", err)
			} else if res.Entries > 0 {
				l.s.logger.Info("audit entries archived", "file", res.File, "entries", res.Entries)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// pass seals what has settled: the pending horizon, then, if that was reached, a fresh one.
func (l *leader) pass(ctx context.Context) (int, error) {
	if l.broken != "" {
		return 0, nil
	}
	head, err := chainHead(ctx, l.conn)
	if err != nil {
		return 0, err
	}
	if head.Seq != l.head.Seq || !bytes.Equal(head.Hash, l.head.Hash) {
		l.stop(ctx, fmt.Sprintf("the chain's last link is %d (entry %d), but this sealer last wrote link %d (entry %d)",
			head.Seq, head.EntryID, l.head.Seq, l.head.EntryID))
		return 0, nil
	}
	sealed := 0
	for range 2 {
		upTo, ok, err := l.settled(ctx)
		if err != nil || !ok {
			return sealed, err
		}
		for {
			n, err := l.sealBatch(ctx, upTo)
			sealed += n
			if err != nil || n < sealBatch {
				if err != nil {
					return sealed, err
				}
				break
			}
		}
	}
	return sealed, nil
}

// settled returns the horizon every id below which is settled, or false when there is
// nothing new or its writers are still running after Settle.
func (l *leader) settled(ctx context.Context) (int64, bool, error) {
	if l.pending == nil {
		var last *int64
		if err := l.conn.QueryRow(ctx, `SELECT pg_sequence_last_value($1::regclass)`, l.seqName).Scan(&last); err != nil {
			return 0, false, fmt.Errorf("audit sealer: %w", err)
		}
		if last == nil || *last <= l.head.EntryID {
			return 0, false, nil
		}
		// Read after the sequence: every transaction that took an id up to last holds its lock now.
		lockers, err := l.lockers(ctx, nil)
		if err != nil {
			return 0, false, err
		}
		l.pending = &horizon{upTo: *last, lockers: lockers, since: l.s.now()}
	}
	deadline := time.Now().Add(l.s.cfg.Settle)
	for wait := time.Millisecond; len(l.pending.lockers) > 0; wait = min(2*wait, 20*time.Millisecond) {
		still, err := l.lockers(ctx, l.pending.lockers)
		if err != nil {
			return 0, false, err
		}
		l.pending.lockers = still
		if len(still) == 0 {
			break
		}
		if time.Now().After(deadline) {
			if p := l.pending; !p.warned && l.s.now().Sub(p.since) > time.Minute {
				p.warned = true
				l.s.logger.Warn("audit sealer: long-running transactions that wrote audit entries hold sealing back",
					"transactions", still, "waiting", l.s.now().Sub(p.since).Round(time.Second).String())
			}
			return 0, false, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(wait):
		}
	}
	upTo := l.pending.upTo
	l.pending = nil
	return upTo, true, nil
}

// lockers lists the transactions (other than the sealer's) holding a write lock on
// goforward.audit_log, limited to among when it is not nil. Relation ids repeat across
// databases cloned from one template, hence the database filter.
func (l *leader) lockers(ctx context.Context, among []string) ([]string, error) {
	var out []string
	err := l.conn.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') FROM pg_locks
WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND relation = 'goforward.audit_log'::regclass
  AND pid IS DISTINCT FROM pg_backend_pid()
  AND ($1::text[] IS NULL OR virtualtransaction = ANY ($1))`, among).Scan(&out)
	if err != nil {
		return nil, fmt.Errorf("audit sealer: read locks: %w", err)
	}
	return out, nil
}

// sealBatch chains up to sealBatch entries after the head with ids up to upTo, in one
// transaction, then records the new head in the data directory.
func (l *leader) sealBatch(ctx context.Context, upTo int64) (int, error) {
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit sealer: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM goforward.audit_log l
WHERE l.id > $1 AND l.id <= $2 ORDER BY l.id LIMIT $3`, l.head.EntryID, upTo, sealBatch)
	if err != nil {
		return 0, fmt.Errorf("audit sealer: read entries: %w", err)
	}
	now := l.s.now().UTC().Truncate(time.Microsecond)
	head := l.head
	prev := head.Hash
	if head.Seq == 0 {
		prev = genesis
	}
	var links [][]any
	for rows.Next() {
		r, err := scanRow(rows, false)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("audit sealer: %w", err)
		}
		seq := head.Seq + 1
		hash := linkHash(prev, seq, &r)
		links = append(links, []any{seq, r.ID, []byte(prev), []byte(hash), now})
		head, prev = Head{Seq: seq, EntryID: r.ID, Hash: hash, SealedAt: now}, hash
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("audit sealer: read entries: %w", err)
	}
	if len(links) == 0 {
		return 0, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"goforward", "audit_chain"},
		[]string{"seq", "entry_id", "prev_hash", "hash", "sealed_at"}, pgx.CopyFromRows(links)); err != nil {
		return 0, fmt.Errorf("audit sealer: write links: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("audit sealer: commit links: %w", err)
	}
	l.head = head
	if err := writeAnchor(l.s.cfg.Dir, head); err != nil {
		l.s.logger.Error("audit sealer: record the chain head outside the database", "error", err)
	}
	return len(links), nil
}
