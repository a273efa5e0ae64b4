package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// Retention moves the oldest sealed links and their entries to an archive file, then deletes
// them in a transaction that says so (goforward.audit_retention = 'on', the only way past the
// append-only trigger), together with an audit.archived entry naming the file. The file is
// complete and synced before anything is deleted; a crash in between leaves rows that are
// both archived and in the database, and the next run rewrites that archive. The chain's last
// link always stays in the database, so that the sealer carries on from it.

// archiveBatch bounds the entries of one archive file.
const archiveBatch = 100_000

// ArchiveResult describes what a retention run moved out of the database.
type ArchiveResult struct {
	File     string // the last archive written
	FirstSeq int64
	LastSeq  int64
	Entries  int64
}

// Archive applies retention once as the sealer: entries older than Retention, in chain
// order, go to archives under Dir. It fails with ErrNotLeader when another process seals.
func (s *Sealer) Archive(ctx context.Context) (ArchiveResult, error) {
	l, err := s.elect(ctx)
	if err != nil {
		return ArchiveResult{}, err
	}
	if l == nil {
		return ArchiveResult{}, ErrNotLeader
	}
	defer l.close()
	if l.broken != "" {
		return ArchiveResult{}, fmt.Errorf("%w: %s", ErrChainBroken, l.broken)
	}
	return l.archive(ctx)
}

func (l *leader) archive(ctx context.Context) (ArchiveResult, error) {
	if l.s.cfg.Retention <= 0 {
		return ArchiveResult{}, nil
	}
	if l.s.cfg.Dir == "" {
		return ArchiveResult{}, errors.New("audit: retention needs a data directory to archive to")
	}
	var total ArchiveResult
	for {
		res, err := l.archiveOnce(ctx)
		if res.Entries > 0 {
			if total.Entries == 0 {
				total.FirstSeq = res.FirstSeq
			}
			total.File, total.LastSeq = res.File, res.LastSeq
			total.Entries += res.Entries
		}
		if err != nil || res.Entries < archiveBatch {
			return total, err
		}
	}
}

// archiveOnce archives at most archiveBatch links.
func (l *leader) archiveOnce(ctx context.Context) (ArchiveResult, error) {
	now := l.s.now()
	cutoff := now.Add(-l.s.cfg.Retention)
	var dbFirst *int64
	if err := l.conn.QueryRow(ctx, `SELECT min(seq) FROM goforward.audit_chain`).Scan(&dbFirst); err != nil {
		return ArchiveResult{}, fmt.Errorf("audit retention: %w", err)
	}
	if dbFirst == nil {
		return ArchiveResult{}, nil
	}
	if err := removeLeftovers(l.s.cfg.Dir, *dbFirst); err != nil {
		return ArchiveResult{}, err
	}
	w, err := newArchiveWriter(l.s.cfg.Dir)
	if err != nil {
		return ArchiveResult{}, err
	}
	if err := l.collect(ctx, w, cutoff); err != nil {
		w.abort()
		return ArchiveResult{}, err
	}
	h := w.head
	if h.Entries == 0 {
		w.abort()
		return ArchiveResult{}, nil
	}
	path, err := w.commit(now)
	if err != nil {
		return ArchiveResult{}, fmt.Errorf("audit retention: write the archive: %w", err)
	}
	res := ArchiveResult{File: path, FirstSeq: h.FirstSeq, LastSeq: h.LastSeq, Entries: h.Entries}
	return res, l.dropArchived(ctx, res, h)
}

// collect writes the oldest links older than cutoff to w, checking each against its entry:
// retention must not launder an edited entry into an archive.
func (l *leader) collect(ctx context.Context, w *archiveWriter, cutoff time.Time) error {
	tx, err := l.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT `+rowColumns+` FROM goforward.audit_chain c
`+entryOfLink+`
WHERE c.seq < (SELECT max(seq) FROM goforward.audit_chain) ORDER BY c.seq LIMIT $1`, archiveBatch)
	if err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows, true)
		if err != nil {
			return fmt.Errorf("audit retention: %w", err)
		}
		if !r.OccurredAt.Before(cutoff) {
			break
		}
		h := w.head
		if h.Entries > 0 && (*r.Seq != h.LastSeq+1 || !bytes.Equal(r.PrevHash, h.Hash)) {
			return fmt.Errorf("audit retention: link %d does not follow link %d; run `goforward audit verify`", *r.Seq, h.LastSeq)
		}
		if !bytes.Equal(linkHash(r.PrevHash, *r.Seq, &r), r.Hash) {
			return fmt.Errorf("audit retention: entry %d differs from what was sealed; run `goforward audit verify`", r.ID)
		}
		if err := w.add(r); err != nil {
			return fmt.Errorf("audit retention: write the archive: %w", err)
		}
	}
	return rows.Err()
}

// dropArchived deletes the archived links and entries and records that it did.
func (l *leader) dropArchived(ctx context.Context, res ArchiveResult, h ArchiveHead) error {
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT set_config('goforward.audit_retention', 'on', true)`); err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	entries, err := tx.Exec(ctx, `DELETE FROM goforward.audit_log l USING goforward.audit_chain c
WHERE c.entry_id = l.id AND c.seq BETWEEN $1 AND $2`, res.FirstSeq, res.LastSeq)
	if err != nil {
		return fmt.Errorf("audit retention: delete entries: %w", err)
	}
	links, err := tx.Exec(ctx, `DELETE FROM goforward.audit_chain WHERE seq BETWEEN $1 AND $2`, res.FirstSeq, res.LastSeq)
	if err != nil {
		return fmt.Errorf("audit retention: delete links: %w", err)
	}
	if entries.RowsAffected() != res.Entries || links.RowsAffected() != res.Entries {
		return fmt.Errorf("audit retention: archived %d links but would delete %d entries and %d links; nothing deleted",
			res.Entries, entries.RowsAffected(), links.RowsAffected())
	}
	e := Entry{Actor: Actor{Type: ActorSystem}, Action: "audit.archived", ResourceType: "audit_log",
		ResourceID: filepath.Base(res.File), Details: map[string]any{
			"file": res.File, "first_seq": res.FirstSeq, "last_seq": res.LastSeq, "entries": res.Entries,
			"head_hash": h.Hash.String(), "retention": l.s.cfg.Retention.String(),
		}}
	if err := Record(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	return nil
}

// removeLeftovers deletes archives whose rows are still in the database (from dbFirst on):
// an earlier run wrote them and stopped before deleting. The next archive replaces them.
func removeLeftovers(dir string, dbFirst int64) error {
	archives, err := listArchives(dir)
	if err != nil {
		return err
	}
	for _, a := range archives {
		if a.first >= dbFirst {
			if err := os.Remove(a.path); err != nil {
				return fmt.Errorf("audit retention: %w", err)
			}
		}
	}
	return nil
}
