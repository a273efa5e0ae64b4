// Package replication reads PostgreSQL's logical replication stream (output plugin pgoutput)
// from a permanent slot and turns it into row changes, in commit order. Exactly one process
// per slot reads at a time: the one holding an advisory lock on a dedicated connection. A
// transaction is confirmed to the server only after every one of its changes was handed on,
// so a reader that dies loses nothing: the next one resumes from the confirmed position
// (and sends changes again, which receivers recognise by Change.CommitLSN and Change.Seq).
package replication

import (
	"encoding/json"
	"time"
)

// Change types, as Supabase Realtime names them.
const (
	Insert = "INSERT"
	Update = "UPDATE"
	Delete = "DELETE"
)

// Change is one row change of a committed transaction.
type Change struct {
	RelationID uint32 `json:"rel"`
	Schema     string `json:"schema"`
	Table      string `json:"table"`
	Type       string `json:"type"`
	// XID is the ID of the (top-level) transaction that made the change, as the server's
	// 32-bit transaction counter: sessions see the change once they see that transaction.
	XID        uint32    `json:"xid"`
	CommitTime time.Time `json:"commit"`
	// CommitLSN is where the transaction commits and Seq the change's number in it (from 1):
	// together they order every change of a database, whichever node read it, so a consumer
	// can persist how far it got and skip what it already handled when the stream is read
	// again (after a restart, or by a new reader taking over from one that died). Zero: unknown.
	CommitLSN uint64 `json:"lsn,omitempty"`
	Seq       int    `json:"seq,omitempty"`
	// Columns are the table's columns in attribute order.
	Columns []Column `json:"columns"`
	// New is the row after an INSERT or UPDATE, one value per column; nil for DELETE.
	New []Value `json:"new,omitempty"`
	// Old is the row before an UPDATE or DELETE, as far as the table's replica identity sends
	// it: every column with REPLICA IDENTITY FULL, otherwise the key columns (values of other
	// columns are Absent). Nil when the server sent no old row (an UPDATE that kept the key).
	Old []Value `json:"old,omitempty"`
}

// Column describes one column of a changed table.
type Column struct {
	Name string `json:"name"`
	// Type is pg_type.typname ("int8", "text", "_int4" for int4[]), what realtime-js expects.
	Type    string `json:"type"`
	TypeOID uint32 `json:"oid"`
	// Category is pg_type.typcategory: "N" numeric, "B" boolean, "D" date/time, "S" string,
	// "A" array, "U" user-defined (uuid, bytea, …), and so on.
	Category   string `json:"cat"`
	PrimaryKey bool   `json:"pk,omitempty"`
}

// ValueState says whether a column's value is known.
type ValueState uint8

// Value states.
const (
	// Present: the value is in Text and JSON.
	Present ValueState = iota
	// Null: SQL NULL.
	Null
	// Unchanged: a TOASTed value the UPDATE did not touch, which the server does not resend.
	Unchanged
	// Absent: not part of the old row the replica identity sends.
	Absent
)

// Value is one column's value.
type Value struct {
	State ValueState `json:"s,omitempty"`
	// Text is PostgreSQL's text form of the value, as its output function writes it.
	Text string `json:"t,omitempty"`
	// JSON is the value as to_jsonb would render it: numbers and booleans as JSON numbers
	// and booleans, json/jsonb as themselves, arrays as JSON arrays, timestamps in ISO 8601,
	// everything else as a string.
	JSON json.RawMessage `json:"j,omitempty"`
}
