package changefeed

import (
	"encoding/json"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// Payload is ch as Supabase's database webhooks send it: type, table, schema, record,
// old_record, plus commit_timestamp. Values are their to_jsonb form; large values an UPDATE
// did not change, and old columns the replica identity does not send, are left out.
func Payload(ch *replication.Change) json.RawMessage {
	p := struct {
		Type       string                     `json:"type"`
		Table      string                     `json:"table"`
		Schema     string                     `json:"schema"`
		Record     map[string]json.RawMessage `json:"record"`
		OldRecord  map[string]json.RawMessage `json:"old_record"`
		CommitTime string                     `json:"commit_timestamp"`
	}{Type: ch.Type, Table: ch.Table, Schema: ch.Schema, CommitTime: ch.CommitTime.UTC().Format("2006-01-02T15:04:05.000000Z")}
	if ch.New != nil {
		p.Record = record(ch.Columns, ch.New)
	}
	if ch.Old != nil {
		p.OldRecord = record(ch.Columns, ch.Old)
	}
	out, _ := json.Marshal(p) // raw values came from PostgreSQL's JSON: they marshal
	return out
}

func record(cols []replication.Column, vals []replication.Value) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(cols))
	for i, col := range cols {
		if i >= len(vals) {
			break
		}
		switch v := vals[i]; v.State {
		case replication.Null:
			out[col.Name] = json.RawMessage("null")
		case replication.Present:
			if json.Valid(v.JSON) {
				out[col.Name] = v.JSON
			} else {
				t, _ := json.Marshal(v.Text)
				out[col.Name] = t
			}
		}
	}
	return out
}
