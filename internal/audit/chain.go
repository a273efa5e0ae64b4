package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
)

// The chain. Link seq seals entry r as
//
//	hash = SHA-256(prev_hash || canonical(seq, r))
//
// where prev_hash is the previous link's hash (32 zero bytes for the first link ever) and
// canonical is a domain tag, seq and the entry id as 8-byte big-endian integers, then every
// column as a 4-byte big-endian length and its bytes, in this order: occurred_at (UTC, RFC 3339
// with microseconds, PostgreSQL's precision), actor_type, actor_id, actor_email, action,
// resource_type, resource_id, outcome, severity, ip (as PostgreSQL prints it, "" when NULL),
// user_agent, request_id, session_id, details (jsonb's text without spaces). Lengths make the
// encoding unambiguous; the seq and id in it make a row moved to another place in the chain,
// or given another id, fail to verify.

// canonicalTag starts every encoded entry, so that these hashes are never mistaken for others.
const canonicalTag = "goforward.audit.v1\x00"

// timeLayout is how occurred_at is encoded: fixed width, microseconds, UTC.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// genesis is the prev_hash of the first link ever.
var genesis = make(Hash, sha256.Size)

// canonical encodes r as link seq would seal it.
func canonical(seq int64, r *Row) []byte {
	fields := [...]string{
		r.OccurredAt.UTC().Format(timeLayout), r.ActorType, r.ActorID, r.ActorEmail, r.Action,
		r.ResourceType, r.ResourceID, r.Outcome, r.Severity, r.IP, r.UserAgent, r.RequestID, r.SessionID,
	}
	size := len(canonicalTag) + 16 + 4*(len(fields)+1) + len(r.Details)
	for _, f := range fields {
		size += len(f)
	}
	b := make([]byte, 0, size)
	b = append(b, canonicalTag...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ID))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Details)))
	return append(b, r.Details...)
}

// linkHash is the hash link seq carries for entry r after prev.
func linkHash(prev Hash, seq int64, r *Row) Hash {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical(seq, r))
	return h.Sum(nil)
}

// sealsAs reports whether r, given id, is what link (seq, prev, hash) sealed. Verification
// uses it to tell a row moved elsewhere in the chain from an edited one.
func sealsAs(r Row, id, seq int64, prev, hash Hash) bool {
	r.ID = id
	return bytes.Equal(linkHash(prev, seq, &r), hash)
}
