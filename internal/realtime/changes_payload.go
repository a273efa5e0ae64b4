package realtime

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/realtime/phoenix"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// smallValueBytes is the largest value kept in a record that exceeds MaxRecordBytes, as in
// Supabase.
const smallValueBytes = 64

// commitTimestampLayout is Supabase's commit_timestamp: UTC, milliseconds, Z.
const commitTimestampLayout = "2006-01-02T15:04:05.000Z"

// payloadCache builds the postgres_changes payloads of one change: the data once per role
// access, the frame once per topic, serializer and subscription ids, so a change reaching
// many subscribers is encoded a handful of times.
type payloadCache struct {
	change    *replication.Change
	maxRecord int
	data      map[*roleAccess]json.RawMessage
	frames    map[frameKey]*frame
}

type frameKey struct {
	topic, vsn, ids string
	access          *roleAccess
}

func newPayloadCache(ch *replication.Change, maxRecord int) *payloadCache {
	return &payloadCache{change: ch, maxRecord: maxRecord, data: map[*roleAccess]json.RawMessage{}, frames: map[frameKey]*frame{}}
}

// frame returns the message a channel on topic receives: {"ids": [...], "data": {...}}.
func (p *payloadCache) frame(topic, vsn string, ids []uint32, access *roleAccess) *frame {
	var idList strings.Builder
	for _, id := range ids {
		idList.WriteString(strconv.FormatUint(uint64(id), 10))
		idList.WriteByte(',')
	}
	key := frameKey{topic: topic, vsn: vsn, ids: idList.String(), access: access}
	if f, ok := p.frames[key]; ok {
		return f
	}
	data := p.dataFor(access)
	var payload bytes.Buffer
	payload.WriteString(`{"ids":[`)
	for i, id := range ids {
		if i > 0 {
			payload.WriteByte(',')
		}
		payload.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	payload.WriteString(`],"data":`)
	payload.Write(data)
	payload.WriteByte('}')
	f := &frame{data: phoenix.Encode(vsn, phoenix.Message{Topic: topic, Event: "postgres_changes", Payload: payload.Bytes()})}
	p.frames[key] = f
	return f
}

// changeData is Supabase's postgres_changes data object.
type changeData struct {
	Schema          string          `json:"schema"`
	Table           string          `json:"table"`
	CommitTimestamp string          `json:"commit_timestamp"`
	Type            string          `json:"type"`
	Columns         []columnInfo    `json:"columns"`
	Record          json.RawMessage `json:"record,omitempty"`
	OldRecord       json.RawMessage `json:"old_record,omitempty"`
	Errors          []string        `json:"errors"`
}

type columnInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (p *payloadCache) dataFor(access *roleAccess) json.RawMessage {
	if d, ok := p.data[access]; ok {
		return d
	}
	ch := p.change
	d := changeData{
		Schema: ch.Schema, Table: ch.Table, Type: ch.Type,
		CommitTimestamp: ch.CommitTime.UTC().Format(commitTimestampLayout),
		Columns:         []columnInfo{},
	}
	if access.errorText != "" {
		d.Errors = []string{access.errorText}
		d.Record = json.RawMessage("{}")
		if ch.Type == replication.Update {
			d.OldRecord = json.RawMessage("{}")
		}
	} else {
		shown, keep := access.output(ch.Columns)
		for _, c := range shown {
			if keep(c) {
				d.Columns = append(d.Columns, columnInfo{Name: c.Name, Type: c.Type})
			}
		}
		if !p.records(&d, access, 0) {
			p.records(&d, access, smallValueBytes)
			d.Errors = []string{errTooLarge}
		}
	}
	encoded, err := json.Marshal(d)
	if err != nil {
		encoded = json.RawMessage(`{}`)
	}
	p.data[access] = encoded
	return encoded
}

// records fills record and old_record with the values the role may select. With a value
// limit it keeps only values up to that size; without one it reports false when the records
// exceed the maximum.
func (p *payloadCache) records(d *changeData, access *roleAccess, valueLimit int) bool {
	ch := p.change
	columns, keep := access.output(ch.Columns)
	// The old row was never checked against row-level security: a DELETE cannot be (the row
	// is gone), and an UPDATE was checked as its new version, which may have become visible
	// only through the update (a row handed over to the subscriber). So a role under RLS
	// learns only the old row's key.
	keepOld := keep
	if access.rls {
		keepOld = func(c replication.Column) bool { return c.PrimaryKey && keep(c) }
	}
	switch ch.Type {
	case replication.Insert:
		d.Record = renderRecord(columns, ch.New, keep, valueLimit)
	case replication.Update:
		d.Record = renderRecord(columns, ch.New, keep, valueLimit)
		old := ch.Old
		if old == nil {
			// The key did not change, so the server sent no old row; its key is the new one.
			old = keyOnly(ch.Columns, ch.New)
		}
		d.OldRecord = renderRecord(columns, old, keepOld, valueLimit)
	case replication.Delete:
		d.OldRecord = renderRecord(columns, ch.Old, keepOld, valueLimit)
	}
	return valueLimit > 0 || len(d.Record)+len(d.OldRecord) <= p.maxRecord
}

func keyOnly(columns []replication.Column, row []replication.Value) []replication.Value {
	out := make([]replication.Value, len(row))
	for i, c := range columns {
		if c.PrimaryKey {
			out[i] = row[i]
		} else {
			out[i] = replication.Value{State: replication.Absent}
		}
	}
	return out
}

// renderRecord renders a row as a JSON object of the columns keep accepts. Values the row
// does not carry (unchanged TOAST, outside the replica identity) are left out.
func renderRecord(columns []replication.Column, row []replication.Value, keep func(replication.Column) bool, valueLimit int) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for i, c := range columns {
		if i >= len(row) || !keep(c) {
			continue
		}
		var value json.RawMessage
		switch row[i].State {
		case replication.Present:
			value = row[i].JSON
		case replication.Null:
			value = json.RawMessage("null")
		default:
			continue
		}
		if valueLimit > 0 && len(value) > valueLimit {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(c.Name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
