package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Row is one entry as stored and read back: what the list, the export, the archives and
// verification all see. The chain fields are empty until the sealer has chained the entry.
type Row struct {
	ID           int64           `json:"id"`
	OccurredAt   time.Time       `json:"occurred_at"`
	ActorType    string          `json:"actor_type"`
	ActorID      string          `json:"actor_id"`
	ActorEmail   string          `json:"actor_email"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resource_type"`
	ResourceID   string          `json:"resource_id"`
	Outcome      string          `json:"outcome"`
	Severity     string          `json:"severity"`
	IP           string          `json:"ip"` // "" when unknown
	UserAgent    string          `json:"user_agent"`
	RequestID    string          `json:"request_id"`
	SessionID    string          `json:"session_id"`
	Details      json.RawMessage `json:"details"`
	// Seq is the entry's place in the chain; nil while it is unsealed.
	Seq      *int64 `json:"seq"`
	PrevHash Hash   `json:"prev_hash,omitempty"`
	Hash     Hash   `json:"hash,omitempty"`
}

// Hash is a SHA-256 of the chain, written in hex.
type Hash []byte

// MarshalText writes the hash in lower-case hex.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(h)))
	hex.Encode(out, h)
	return out, nil
}

// UnmarshalText reads what MarshalText wrote.
func (h *Hash) UnmarshalText(text []byte) error {
	b := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(b, text); err != nil {
		return fmt.Errorf("audit: hash: %w", err)
	}
	*h = b
	return nil
}

// String is the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h) }

// entryColumns select an entry of goforward.audit_log l. The address is read as PostgreSQL
// prints it (abbrev drops a host's /32 or /128) and the details as jsonb's own text, which is
// already canonical (keys sorted, no duplicates). rowColumns add its link of
// goforward.audit_chain c (NULL while unsealed).
const (
	entryColumns = `l.id, l.occurred_at, l.actor_type, l.actor_id, l.actor_email, l.action, l.resource_type,
  l.resource_id, l.outcome, l.severity, coalesce(abbrev(l.ip), ''), l.user_agent, l.request_id, l.session_id,
  l.details::text`
	rowColumns = entryColumns + `, c.seq, c.prev_hash, c.hash`
)

// The joins between entries and links are lateral lookups, one index probe per row: for a
// page or a chunk in the middle of a long log the planner otherwise picks a merge join that
// scans the other table from its start, on every page (measured: 1 s a page at 1,000,000
// entries, against 20–30 ms). LIMIT 1 keeps the planner from flattening the lookup back
// into that join.
const (
	// linkOfEntry joins entry l to its link c (NULLs while unsealed).
	linkOfEntry = `LEFT JOIN LATERAL (SELECT seq, prev_hash, hash FROM goforward.audit_chain WHERE entry_id = l.id LIMIT 1) c ON true`
	// entryOfLink joins link c to its entry l (no row when the entry is missing).
	entryOfLink = `JOIN LATERAL (SELECT * FROM goforward.audit_log WHERE id = c.entry_id LIMIT 1) l ON true`
)

// scanRow reads one row selected with rowColumns, or with entryColumns when !chained.
func scanRow(rows pgx.CollectableRow, chained bool) (Row, error) {
	var r Row
	var details string
	var prev, hash []byte
	dest := []any{&r.ID, &r.OccurredAt, &r.ActorType, &r.ActorID, &r.ActorEmail, &r.Action, &r.ResourceType,
		&r.ResourceID, &r.Outcome, &r.Severity, &r.IP, &r.UserAgent, &r.RequestID, &r.SessionID, &details}
	if chained {
		dest = append(dest, &r.Seq, &prev, &hash)
	}
	if err := rows.Scan(dest...); err != nil {
		return Row{}, err
	}
	r.OccurredAt = r.OccurredAt.UTC()
	var err error
	if r.Details, err = compactJSON([]byte(details)); err != nil {
		return Row{}, fmt.Errorf("audit: entry %d: details: %w", r.ID, err)
	}
	r.PrevHash, r.Hash = prev, hash
	return r, nil
}

// compactJSON is the form details are hashed in: jsonb's text without its spaces, which is
// also what encoding/json writes for a json.RawMessage, so an archived line hashes the same.
func compactJSON(b []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Querier is what the audit log is read through: a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Dir is where the audit log keeps its files under a data directory: the chain head the
// sealer records outside the database (head.json) and the retention archives (archive/).
func Dir(dataDir string) string { return filepath.Join(dataDir, "audit") }
