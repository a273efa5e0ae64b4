package goforward

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/goforward/goforward/internal/realtime/changefeed"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// The kinds of Change.
const (
	ChangeInsert = "INSERT"
	ChangeUpdate = "UPDATE"
	ChangeDelete = "DELETE"
)

// Change is one row change of a committed transaction, as OnChange handlers receive it. Its
// JSON form is the payload of Supabase's database webhooks.
type Change struct {
	// Type is ChangeInsert, ChangeUpdate or ChangeDelete.
	Type   string `json:"type"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Record is the row after an INSERT or UPDATE, nil for a DELETE. Values are decoded from
	// their JSON form (to_jsonb's): numbers are json.Number, so that no bigint loses digits.
	// An UPDATE leaves out large (TOASTed) values it did not change.
	Record map[string]any `json:"record"`
	// OldRecord is the row before an UPDATE or DELETE as far as the table's replica identity
	// sends it: the primary key, or every column with REPLICA IDENTITY FULL. Nil for an
	// INSERT, and for an UPDATE that kept the key under the default replica identity.
	OldRecord map[string]any `json:"old_record"`
	// CommitTime is when the transaction committed.
	CommitTime time.Time `json:"commit_timestamp"`
}

// ChangeHandler handles one change. An error, or a panic, makes the change count as not
// handled: it is handed on again (to every handler of the table) after a pause, and no later
// change is handed on before it succeeds, which keeps commit order.
type ChangeHandler func(ctx context.Context, c Change) error

// OnChange calls fn with every INSERT, UPDATE and DELETE committed on table ("schema.table",
// or "table" for public's), in commit order, at least once: it runs in serve, on one node of
// a cluster at a time, from a logical replication slot of its own (docs/framework.md); the
// position of the last change handled is kept in the database, so a restart, or another node
// taking over, resumes after it and repeats at most the change that was being handled.
// Handlers of a table run in the order they were added.
//
// At start serve adds the table to the publication goforward_changes and creates the slot;
// a table without a primary key (or another replica identity) is refused, and serve stops.
func (a *App) OnChange(table string, fn ChangeHandler) error {
	if fn == nil {
		return fmt.Errorf("goforward: OnChange %q: nil handler", table)
	}
	if !strings.Contains(table, ".") {
		table = "public." + table
	}
	schema, name, _ := strings.Cut(table, ".")
	if schema == "" || name == "" || strings.Contains(name, ".") {
		return fmt.Errorf("goforward: OnChange %q: the table must be schema.table", table)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changeHandlers == nil {
		a.changeHandlers = map[string][]ChangeHandler{}
	}
	if _, ok := a.changeHandlers[table]; !ok {
		a.emb.ChangeTables = append(a.emb.ChangeTables, table)
		a.emb.HandleChange = a.handleChange
	}
	a.changeHandlers[table] = append(a.changeHandlers[table], fn)
	return nil
}

// handleChange runs the handlers of ch's table, in the order they were added.
func (a *App) handleChange(ctx context.Context, ch *replication.Change) error {
	a.mu.Lock()
	fns := a.changeHandlers[ch.Schema+"."+ch.Table]
	a.mu.Unlock()
	if len(fns) == 0 {
		return nil
	}
	c := toChange(ch)
	for _, fn := range fns {
		if err := callChangeHandler(ctx, fn, c); err != nil {
			return err
		}
	}
	return nil
}

func callChangeHandler(ctx context.Context, fn ChangeHandler, c Change) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("change handler panicked: %v", v)
		}
	}()
	return fn(ctx, c)
}

// toChange decodes the change's webhook payload, numbers as json.Number.
func toChange(ch *replication.Change) Change {
	var c Change
	dec := json.NewDecoder(bytes.NewReader(changefeed.Payload(ch)))
	dec.UseNumber()
	_ = dec.Decode(&c) // Payload is valid JSON of this shape
	c.CommitTime = ch.CommitTime
	return c
}
