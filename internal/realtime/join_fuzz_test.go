package realtime

import (
	"encoding/json"
	"testing"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// fuzzColumns types the filter columns of the fuzzed change; others are text.
var fuzzColumns = map[string]catalogColumn{
	"id":   {typeName: "int8", category: "N"},
	"done": {typeName: "bool", category: "B"},
	"at":   {typeName: "timestamptz", category: "D"},
	"uid":  {typeName: "uuid", category: "U"},
}

// fuzzMaxBindings is the binding cap the fuzz target holds joins to; small, so that inputs
// over it are easy to find.
const fuzzMaxBindings = 4

// FuzzJoinPayload feeds arbitrary phx_join payloads through everything a join does before it
// asks the database: decoding, the caps, binding parsing, then typing the filters as text
// columns and matching them against a change, as the dispatcher would. Nothing may panic, and
// an accepted join never exceeds a cap.
func FuzzJoinPayload(f *testing.F) {
	seeds := []string{
		`{"config":{"broadcast":{"ack":false,"self":false},"presence":{"key":"","enabled":false},"postgres_changes":[],"private":false},"access_token":"x"}`,
		`{"config":{"postgres_changes":[{"event":"*","schema":"public","table":"todos","filter":"done=eq.false"}]}}`,
		`{"config":{"postgres_changes":[{"event":"DELETE","schema":"public","table":"secrets","filter":"secret=like.h*"},{"event":"INSERT","schema":"public","table":"t","filter":"id=in.(1,\"2,3\"),name=not.ilike.*x*"}]}}`,
		`{"config":{"postgres_changes":[{"event":"UPDATE","schema":"*"},{"schema":"public","table":null},1,null,[],{"filter":"a=is.null"}]}}`,
		`{"config":{"postgres_changes":[{"event":"delete","schema":"public","table":"t","filter":"id=gt.0,at=gte.2024-01-01T00:00:00Z,uid=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,done=is.false"}]}}`,
		`{"config":{"postgres_changes":[{},{},{},{},{}]}}`,
		`{"config":{"presence":{"key":"user-1","enabled":true},"broadcast":{"self":true,"ack":true},"private":true}}`,
		`{"config":{"presence":{"key":1}}}`,
		`{"config":null,"user_token":"t"}`,
		`[]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	change := &replication.Change{
		Type: replication.Delete,
		Columns: []replication.Column{
			{Name: "id", PrimaryKey: true}, {Name: "done"}, {Name: "secret"}, {Name: "name"},
			{Name: "at"}, {Name: "uid"},
		},
		Old: []replication.Value{
			{State: replication.Present, Text: "1"}, {State: replication.Present, Text: "false"},
			{State: replication.Present, Text: "hunter2"}, {State: replication.Null},
			{State: replication.Present, Text: "2024-06-01 12:00:00+00"},
			{State: replication.Present, Text: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, reason := decodeJoin(data, fuzzMaxBindings)
		if req == nil {
			if reason == "" {
				t.Fatal("a refused join must say why")
			}
			return
		}
		cfg := req.payload.Config
		if n := len(cfg.PostgresChanges); n > fuzzMaxBindings {
			t.Fatalf("accepted %d bindings, over the cap of %d", n, fuzzMaxBindings)
		}
		if len(cfg.Presence.Key) > maxPresenceKeyBytes {
			t.Fatalf("accepted a presence key of %d bytes", len(cfg.Presence.Key))
		}
		if len(req.bindings)+req.malformed != len(cfg.PostgresChanges) || len(req.echo) != len(req.bindings) ||
			len(req.problems) != len(req.bindings) {
			t.Fatalf("bindings, echo and problems disagree: %d+%d entries, %d bindings, %d echoes, %d problems",
				len(req.bindings), req.malformed, len(cfg.PostgresChanges), len(req.echo), len(req.problems))
		}
		if _, err := json.Marshal(req.echo); err != nil {
			t.Fatalf("the reply's echo does not encode: %v", err)
		}
		for i, b := range req.bindings {
			if b.id >= 1<<27 {
				t.Fatalf("binding id %d is over 27 bits", b.id)
			}
			if req.problems[i] != "" {
				continue
			}
			if len(b.filters) > maxFilterConditions {
				t.Fatalf("accepted %d filter conditions", len(b.filters))
			}
			typed := true
			for _, flt := range b.filters {
				if flt.op == "in" && (len(flt.values) == 0 || len(flt.values) > maxInValues) {
					t.Fatalf("accepted an in list of %d values", len(flt.values))
				}
				// A value that does not fit its column makes the binding invalid; it never
				// matches anything, as after the catalog check.
				c, ok := fuzzColumns[flt.column]
				if !ok {
					c = catalogColumn{typeName: "text", category: "S"}
				}
				typed = typed && flt.typed(c.category, c.typeName) == nil
			}
			if !typed {
				continue
			}
			b.matchesTable("public", "secrets")
			b.matchesEvent(change.Type)
			b.matchesRow(change, true)
			b.matchesRow(change, false)
		}
	})
}
