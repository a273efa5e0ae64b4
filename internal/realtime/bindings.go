package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// binding is one postgres_changes subscription of a channel.
type binding struct {
	id      uint32
	event   string // *, INSERT, UPDATE or DELETE
	schema  string // * for every schema
	table   string // "" or * for every table of the schema
	filters []*filter
	// valid is false for a subscription whose parameters were rejected; it never matches.
	valid bool
}

// bindingParams is a postgres_changes entry of phx_join's config.
type bindingParams struct {
	Event  string  `json:"event"`
	Schema string  `json:"schema"`
	Table  *string `json:"table"`
	Filter *string `json:"filter"`
}

// bindingID is what Supabase's reply calls the subscription's id: a hash of its parameters,
// so equal subscriptions share it (Supabase uses erlang:phash2, also a 27-bit value).
func bindingID(params map[string]json.RawMessage) uint32 {
	canonical, _ := json.Marshal(params) // map keys are sorted
	h := fnv.New32a()
	h.Write(canonical)
	return h.Sum32() & (1<<27 - 1)
}

func (b *binding) matchesTable(schema, table string) bool {
	return (b.schema == "*" || b.schema == schema) && (b.table == "" || b.table == "*" || b.table == table)
}

func (b *binding) matchesEvent(typ string) bool {
	return b.event == "*" || b.event == typ
}

// matchesRow evaluates the filters on the row a change is about: the new row, or the old one
// for a DELETE. A filter on a column the row does not carry (not part of the replica
// identity) does not exclude it, as in Supabase. With keyOnly, conditions on columns outside
// the primary key do not exclude it either: a DELETE cannot be checked against row-level
// security, so its other values must not decide anything a subscriber under RLS can observe.
func (b *binding) matchesRow(ch *replication.Change, keyOnly bool) bool {
	row := ch.New
	if ch.Type == replication.Delete {
		row = ch.Old
	}
	for _, f := range b.filters {
		i := columnIndex(ch.Columns, f.column)
		if i < 0 || i >= len(row) || (keyOnly && !ch.Columns[i].PrimaryKey) {
			continue
		}
		v := row[i]
		if v.State == replication.Absent || v.State == replication.Unchanged {
			continue
		}
		if !f.matches(v.Text, v.State == replication.Present) {
			return false
		}
	}
	return true
}

func columnIndex(columns []replication.Column, name string) int {
	for i, c := range columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// prepare checks a join's postgres_changes against the catalog as the channel's role, sets
// them on ch (the valid ones match changes) and returns, when some are invalid, the error to
// announce.
func (d *changeDispatcher) prepare(ctx context.Context, ch *channel, req *joinRequest) string {
	problems := make([]string, 0, req.malformed+len(req.bindings))
	for range req.malformed {
		problems = append(problems, "each postgres_changes entry must be an object")
	}
	if d.svc.source != nil {
		d.checkCatalog(ctx, ch, req)
		for i, b := range req.bindings {
			b.valid = req.problems[i] == ""
		}
	}
	for _, p := range req.problems {
		if p != "" {
			problems = append(problems, p)
		}
	}
	ch.bindings = req.bindings
	return strings.Join(problems, "; ")
}

// parseBinding reads one postgres_changes entry. A problem is returned as the message the
// client is shown.
func parseBinding(raw json.RawMessage) (*binding, string) {
	var p bindingParams
	b := &binding{}
	if err := json.Unmarshal(raw, &p); err != nil {
		return b, fmt.Sprintf("invalid postgres_changes parameters: %v", err)
	}
	b.event = strings.ToUpper(p.Event)
	b.schema = p.Schema
	if p.Table != nil {
		b.table = *p.Table
	}
	switch b.event {
	case "*", replication.Insert, replication.Update, replication.Delete:
	default:
		return b, fmt.Sprintf("invalid event %q: use *, INSERT, UPDATE or DELETE", p.Event)
	}
	if b.schema == "" {
		return b, "a schema is required (use * for every schema)"
	}
	if p.Filter != nil && *p.Filter != "" {
		fs, err := parseFilters(*p.Filter)
		if err != nil {
			return b, fmt.Sprintf("Error parsing `filter` params: %v", err)
		}
		if len(fs) > maxFilterConditions {
			return b, fmt.Sprintf("Error parsing `filter` params: a filter may have at most %d conditions", maxFilterConditions)
		}
		if b.schema == "*" || b.table == "" || b.table == "*" {
			return b, "Error parsing `filter` params: a filter needs one schema and one table"
		}
		b.filters = fs
	}
	return b, ""
}

// catalogSQL lists, for each [schema, table] pair of $1 (a JSON array), the columns the
// role may select with their types; a table that does not exist, or of which the role may
// select nothing, has no rows.
const catalogSQL = `SELECT t.ord::int, a.attname::text, ty.typname::text, ty.typcategory::text
	FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(pair, ord)
	JOIN pg_catalog.pg_attribute a ON a.attrelid = to_regclass(format('%I.%I', t.pair->>0, t.pair->>1))
	 AND a.attnum > 0 AND NOT a.attisdropped
	 AND has_column_privilege(a.attrelid, a.attnum, 'SELECT')
	JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid`

// catalogColumn is a column a binding's filter may use.
type catalogColumn struct{ typeName, category string }

// checkCatalog makes sure each binding's table exists and that the channel's role may read
// every column its filter uses, and types the filter values after those columns. All the
// join's tables are looked up in one round trip, however many bindings it has. Problems are
// recorded in req.problems as the messages the client is shown.
func (d *changeDispatcher) checkCatalog(ctx context.Context, ch *channel, req *joinRequest) {
	type table struct{ schema, name string }
	index := map[table]int{}
	var pairs [][2]string
	for i, b := range req.bindings {
		if req.problems[i] != "" || b.schema == "*" || b.table == "" || b.table == "*" {
			continue
		}
		t := table{b.schema, b.table}
		if _, ok := index[t]; !ok {
			index[t] = len(pairs)
			pairs = append(pairs, [2]string{b.schema, b.table})
		}
	}
	if len(pairs) == 0 {
		return
	}
	columns := make([]map[string]catalogColumn, len(pairs))
	for i := range columns {
		columns[i] = map[string]catalogColumn{}
	}
	arg, err := json.Marshal(pairs)
	if err == nil {
		auth := ch.auth.Load()
		scope := db.RequestScope{Role: auth.principal.Role, Claims: auth.principal.Claims}
		err = d.svc.runner.RunInRole(ctx, scope, db.PipelineOptions{ReadOnly: true},
			[]db.Statement{{SQL: catalogSQL, Args: []any{string(arg)}}},
			func(_ int, rows pgx.Rows) error {
				for rows.Next() {
					var ord int
					var name string
					var c catalogColumn
					if err := rows.Scan(&ord, &name, &c.typeName, &c.category); err != nil {
						return err
					}
					if ord >= 1 && ord <= len(columns) {
						columns[ord-1][name] = c
					}
				}
				return rows.Err()
			})
	}
	if err != nil {
		d.svc.logger.DebugContext(ctx, "realtime: checking postgres_changes tables failed", "topic", ch.topic, "error", err)
	}
	if httpx.DatabaseUnavailable(err) {
		markUnavailable(req, func(b *binding) bool { _, ok := index[table{b.schema, b.table}]; return ok })
		return
	}
	for i, b := range req.bindings {
		at, ok := index[table{b.schema, b.table}]
		if req.problems[i] != "" || !ok {
			continue
		}
		if problem := d.ipProblem(b, ch.conn.clientIP); problem != "" {
			req.problems[i] = problem
			continue
		}
		if err != nil || len(columns[at]) == 0 {
			req.problems[i] = fmt.Sprintf("Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [event: %s, schema: %s, table: %s, filters: %s]",
				b.event, b.schema, b.table, describeFilters(b.filters))
			continue
		}
		req.problems[i] = typeFilters(b, columns[at])
	}
}

// typeFilters checks b's filters against its table's readable columns and types their
// values; it returns the problem the client is shown, or "".
func typeFilters(b *binding, columns map[string]catalogColumn) string {
	for _, f := range b.filters {
		c, ok := columns[f.column]
		if !ok {
			return "Error parsing `filter` params: invalid column for filter " + f.column
		}
		if err := f.typed(c.category, c.typeName); err != nil {
			return fmt.Sprintf("Error parsing `filter` params: %v", err)
		}
	}
	return ""
}

// announceSubscription sends the system message that follows a join with postgres_changes:
// an error for rejected parameters, or "Subscribed to PostgreSQL" once the replication slot
// is in place, from when on no committed change can be missed.
func (s *Service) announceSubscription(ctx context.Context, ch *channel, problem string) {
	switch {
	case s.source == nil:
		ch.conn.pushSystem(ch, "postgres_changes", "error", "postgres_changes are turned off on this server (realtime.postgres_changes.enabled is false)")
		return
	case problem != "":
		ch.conn.pushSystem(ch, "postgres_changes", "error", problem)
		return
	}
	if s.replicationReady(ctx) {
		ch.conn.pushSystem(ch, "postgres_changes", "ok", "Subscribed to PostgreSQL")
		return
	}
	go func() {
		waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), slotWait)
		defer cancel()
		ticker := time.NewTicker(200 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-waitCtx.Done():
				ch.conn.pushSystem(ch, "postgres_changes", "error", "The replication stream is not ready yet; changes will arrive once it is")
				return
			case <-ch.conn.done:
				return
			case <-ticker.C:
				if ch.conn.channel(ch.topic) != ch {
					return
				}
				if s.replicationReady(waitCtx) {
					ch.conn.pushSystem(ch, "postgres_changes", "ok", "Subscribed to PostgreSQL")
					return
				}
			}
		}
	}()
}

// slotWait bounds how long a join waits for the replication slot before saying it is late.
const slotWait = 30 * time.Second

// replicationReady reports whether the slot exists and is no longer being created. Once it is,
// it stays so (a slot dropped by the lag policy is recreated at once), so the answer is
// cached.
func (s *Service) replicationReady(ctx context.Context) bool {
	if s.slotReady.Load() {
		return true
	}
	var ready bool
	err := s.owner.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots s
			LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
			WHERE s.slot_name = $1 AND (s.active_pid IS NULL OR a.backend_type = 'walsender'))`,
		s.cfg.PostgresChanges.Replication.Slot).Scan(&ready)
	if err == nil && ready {
		s.slotReady.Store(true)
	}
	return ready
}
