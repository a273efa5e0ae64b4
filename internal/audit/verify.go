package audit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Problems verification names.
const (
	// ProblemEdited: an entry (or its link) no longer hashes to what was sealed.
	ProblemEdited = "edited"
	// ProblemRemoved: a sealed entry, or a link with its entry, is gone.
	ProblemRemoved = "removed"
	// ProblemReordered: an entry holds what was sealed at another place in the chain.
	ProblemReordered = "reordered"
	// ProblemInserted: an unsealed entry sits below sealed ones, so it was added afterwards.
	ProblemInserted = "inserted"
	// ProblemTruncated: the chain ends before the head recorded outside the database.
	ProblemTruncated = "truncated"
	// ProblemRewritten: the chain verifies link by link but not against the recorded head:
	// it was recomputed after an edit.
	ProblemRewritten = "rewritten"
)

// Report is the outcome of Verify.
type Report struct {
	OK bool `json:"ok"`
	// Checked counts the links verified, archived ones included.
	Checked int64 `json:"checked"`
	// Archived counts those of them read from archive files.
	Archived int64 `json:"archived"`
	// Unsealed counts the newest entries the sealer has not chained yet: the accepted tail.
	Unsealed int64 `json:"unsealed"`
	// Head is the last link verified; nil when the chain is empty.
	Head *Head `json:"head"`
	// Anchor is the head the sealer recorded outside the database; nil when this data
	// directory has none (no sealer ran here), in which case a truncated tail goes unnoticed.
	Anchor      *Head   `json:"anchor"`
	FirstBroken *Broken `json:"first_broken"`
}

// Broken names the first place where the log differs from what was sealed.
type Broken struct {
	Problem string `json:"problem"`            // one of the Problem constants
	Seq     int64  `json:"seq,omitempty"`      // the link concerned
	EntryID int64  `json:"entry_id,omitempty"` // the entry concerned, when known
	Detail  string `json:"detail"`             // a sentence for people
}

// TxStarter opens the read-only transaction Verify reads everything in: a pool or a connection.
type TxStarter interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// lookahead is how many later links are searched for an entry that fails to verify, to tell
// a moved entry from an edited one.
const lookahead = 64

// Verify checks the whole audit log: the archives under dir in order, then every link in the
// database, each entry against its link, the chain against the head recorded in dir, and that
// every unsealed entry comes after the sealed ones. It stops at the first problem. dir is
// Dir(data directory); "" checks the database alone.
func Verify(ctx context.Context, db TxStarter, dir string) (Report, error) {
	// The anchor is read before the snapshot: the sealer records a head only after committing
	// it, so the snapshot always holds the head read here.
	anchor, err := readAnchor(dir)
	if err != nil {
		return Report{}, err
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var dbFirst *int64
	if err := tx.QueryRow(ctx, `SELECT min(seq) FROM goforward.audit_chain`).Scan(&dbFirst); err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	v := &verifier{report: Report{Anchor: anchor}, anchor: anchor, prev: genesis, next: 1, dir: dir}
	// Archives are listed after the snapshot: retention writes a file before it deletes its
	// rows, so every range missing from the snapshot is in a file by now.
	archives, err := listArchives(dir)
	if err != nil {
		return Report{}, err
	}
	for _, a := range archives {
		if dbFirst != nil && a.first >= *dbFirst {
			continue // left by an interrupted retention run: its rows are still in the database
		}
		if err := v.archive(a, dbFirst); err != nil {
			return Report{}, err
		}
		if v.broken != nil {
			return v.done(), nil
		}
	}
	if err := v.database(ctx, tx); err != nil {
		return Report{}, err
	}
	if v.broken == nil {
		v.truncation()
	}
	if v.broken == nil {
		if err := v.tail(ctx, tx); err != nil {
			return Report{}, err
		}
	}
	return v.done(), nil
}

// verifier walks the chain in order.
type verifier struct {
	report    Report
	anchor    *Head
	dir       string
	prev      Hash  // hash of the last verified link
	next      int64 // the seq the next link must have
	lastEntry int64 // entry id of the last verified link
	broken    *Broken
	// failed holds a database link whose entry did not hash to it, for classify.
	failed *chainRow
}

// chainRow is a link and its entry (nil when the entry is missing).
type chainRow struct {
	seq, entryID int64
	prev, hash   Hash
	entry        *Row
}

func (v *verifier) done() Report {
	v.report.FirstBroken = v.broken
	v.report.OK = v.broken == nil
	return v.report
}

func (v *verifier) fail(problem string, seq, entryID int64, format string, args ...any) {
	v.broken = &Broken{Problem: problem, Seq: seq, EntryID: entryID, Detail: fmt.Sprintf(format, args...)}
}

// link checks one link and its entry; false when it found the first problem. source says
// where the link was read, for the messages.
func (v *verifier) link(c chainRow, source string) bool {
	switch {
	case c.seq > v.next:
		v.fail(ProblemRemoved, v.next, 0, "links %d to %d (the entries sealed after entry %d and before entry %d) are missing from %s",
			v.next, c.seq-1, v.lastEntry, c.entryID, v.missingFrom())
		return false
	case c.seq < v.next:
		v.fail(ProblemReordered, c.seq, c.entryID, "link %d appears again after link %d in %s", c.seq, v.next-1, source)
		return false
	case !bytes.Equal(c.prev, v.prev):
		v.fail(ProblemRemoved, c.seq, c.entryID, "link %d (entry %d) does not follow link %d in %s: a link between them was removed or replaced",
			c.seq, c.entryID, c.seq-1, source)
		return false
	case c.entry == nil:
		v.fail(ProblemRemoved, c.seq, c.entryID, "entry %d, sealed as link %d, is missing from %s", c.entryID, c.seq, source)
		return false
	case c.entryID <= v.lastEntry:
		v.fail(ProblemReordered, c.seq, c.entryID, "link %d seals entry %d after entry %d, out of id order", c.seq, c.entryID, v.lastEntry)
		return false
	case !bytes.Equal(linkHash(v.prev, c.seq, c.entry), c.hash):
		v.failed = &c
		v.fail(ProblemEdited, c.seq, c.entryID, "entry %d (link %d) in %s differs from what was sealed", c.entryID, c.seq, source)
		return false
	case v.anchor != nil && c.seq == v.anchor.Seq && !bytes.Equal(c.hash, v.anchor.Hash):
		v.fail(ProblemRewritten, c.seq, c.entryID, "link %d differs from the head recorded in %s: the chain up to entry %d was recomputed after a change",
			c.seq, v.dir, c.entryID)
		return false
	}
	v.prev, v.next, v.lastEntry = c.hash, c.seq+1, c.entryID
	v.report.Checked++
	v.report.Head = &Head{Seq: c.seq, EntryID: c.entryID, Hash: c.hash}
	return true
}

func (v *verifier) missingFrom() string {
	if v.dir == "" {
		return "the database"
	}
	return "the database and from the archives in " + archiveDir(v.dir)
}

// verifyColumns select a link and its entry, the entry's columns NULL when it is missing.
const verifyColumns = `c.seq, c.entry_id, c.prev_hash, c.hash, l.id, l.occurred_at, l.actor_type, l.actor_id,
  l.actor_email, l.action, l.resource_type, l.resource_id, l.outcome, l.severity, coalesce(abbrev(l.ip), ''),
  l.user_agent, l.request_id, l.session_id, l.details::text`

func scanChainRow(rows pgx.CollectableRow) (chainRow, error) {
	var c chainRow
	var id *int64
	var at *time.Time
	var s [13]*string
	dest := []any{&c.seq, &c.entryID, &c.prev, &c.hash, &id, &at}
	for i := range s {
		dest = append(dest, &s[i])
	}
	if err := rows.Scan(dest...); err != nil || id == nil {
		return c, err
	}
	str := func(i int) string {
		if s[i] == nil {
			return ""
		}
		return *s[i]
	}
	r := &Row{ID: *id, OccurredAt: at.UTC(), ActorType: str(0), ActorID: str(1), ActorEmail: str(2), Action: str(3),
		ResourceType: str(4), ResourceID: str(5), Outcome: str(6), Severity: str(7), IP: str(8), UserAgent: str(9),
		RequestID: str(10), SessionID: str(11)}
	var err error
	if r.Details, err = compactJSON([]byte(str(12))); err != nil {
		return c, fmt.Errorf("audit: entry %d: details: %w", r.ID, err)
	}
	c.entry = r
	return c, nil
}

// database verifies every link in the database in order.
func (v *verifier) database(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT `+verifyColumns+` FROM goforward.audit_chain c
LEFT JOIN goforward.audit_log l ON l.id = c.entry_id ORDER BY c.seq`)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	for rows.Next() {
		c, err := scanChainRow(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("audit: verify: %w", err)
		}
		if !v.link(c, "goforward.audit_log") {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	if v.failed != nil {
		return v.classify(ctx, tx)
	}
	return nil
}

// classify tells a moved entry from an edited one: the entry that failed may hold what a
// later link sealed, or a later entry may hold what its link sealed (two rows swapped).
func (v *verifier) classify(ctx context.Context, tx pgx.Tx) error {
	k := v.failed
	rows, err := tx.Query(ctx, `SELECT `+verifyColumns+` FROM goforward.audit_chain c
`+entryOfLink+` WHERE c.seq > $1 ORDER BY c.seq LIMIT $2`, k.seq, lookahead)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	later, err := pgx.CollectRows(rows, scanChainRow)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	for _, j := range later {
		holdsLater := sealsAs(*k.entry, j.entryID, j.seq, j.prev, j.hash)
		laterHoldsThis := sealsAs(*j.entry, k.entryID, k.seq, k.prev, k.hash)
		switch {
		case holdsLater && laterHoldsThis:
			v.fail(ProblemReordered, k.seq, k.entryID, "entries %d and %d (links %d and %d) were swapped", k.entryID, j.entryID, k.seq, j.seq)
		case holdsLater:
			v.fail(ProblemReordered, k.seq, k.entryID, "entry %d (link %d) holds what was sealed as entry %d (link %d)", k.entryID, k.seq, j.entryID, j.seq)
		case laterHoldsThis:
			v.fail(ProblemReordered, k.seq, k.entryID, "what was sealed as entry %d (link %d) is now entry %d", k.entryID, k.seq, j.entryID)
		default:
			continue
		}
		return nil
	}
	return nil
}

// truncation holds the end of the chain against the head recorded outside the database.
func (v *verifier) truncation() {
	a := v.anchor
	if a == nil || v.next > a.Seq {
		return
	}
	v.fail(ProblemTruncated, v.next, 0, "the chain ends at link %d (entry %d) but %s records link %d (entry %d): the entries sealed after entry %d were removed",
		v.next-1, v.lastEntry, v.dir, a.Seq, a.EntryID, v.lastEntry)
}

// tail counts the unsealed entries and checks they all come after the sealed ones.
func (v *verifier) tail(ctx context.Context, tx pgx.Tx) error {
	var inserted *int64
	err := tx.QueryRow(ctx, `SELECT min(l.id) FROM goforward.audit_log l WHERE l.id <= $1
  AND NOT EXISTS (SELECT 1 FROM goforward.audit_chain c WHERE c.entry_id = l.id)`, v.lastEntry).Scan(&inserted)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	if inserted != nil {
		v.fail(ProblemInserted, 0, *inserted, "entry %d is not sealed although entry %d after it is: it was added afterwards, or its link was removed",
			*inserted, v.lastEntry)
		return nil
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log WHERE id > $1`, v.lastEntry).Scan(&v.report.Unsealed); err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	return nil
}
