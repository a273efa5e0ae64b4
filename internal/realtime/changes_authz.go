package realtime

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// Errors Supabase delivers instead of a row.
const (
	errNoPrimaryKey = "Error 400: Bad Request, no primary key"
	errUnauthorized = "Error 401: Unauthorized"
	errTooLarge     = "Error 413: Payload Too Large"
)

// roleAccess is what one role may see of a change's table.
type roleAccess struct {
	columns map[string]bool // columns the role may select
	rls     bool            // row-level security applies to the role
	// errorText, when set, is delivered instead of the row (Supabase's 400 and 401).
	errorText string
}

// roleVerdict is the outcome of authorizing one change for one role.
type roleVerdict struct {
	access *roleAccess // nil: the check failed, nobody of the role gets the change
	// visible says, per claims, whether the row passed row-level security; nil when every
	// subscriber of the role may see it (no RLS for the role, or a DELETE, which Supabase
	// cannot check and delivers with only the key).
	visible map[string]bool
}

// candidateVerdict is what one channel gets.
type candidateVerdict struct {
	skip   bool
	access *roleAccess
}

func (v *roleVerdict) of(c candidate) candidateVerdict {
	if v.access == nil {
		return candidateVerdict{skip: true}
	}
	if v.visible != nil && !v.visible[string(c.auth.principal.Claims)] {
		return candidateVerdict{skip: true}
	}
	return candidateVerdict{access: v.access}
}

// allowsFilters reports whether the role may read every column b filters on: a subscriber
// must not learn about values through a filter on a column it cannot select.
func (v candidateVerdict) allowsFilters(b *binding) bool {
	if v.access.errorText != "" {
		return true
	}
	for _, f := range b.filters {
		if !v.access.columns[f.column] {
			return false
		}
	}
	return true
}

// metaSQL reads, as the role, whether row-level security applies to it on the table and
// which columns it may select.
const metaSQL = `SELECT row_security_active($1::oid::regclass),
	coalesce(array_agg(a.attname::text) FILTER (WHERE has_column_privilege($1::oid, a.attnum, 'SELECT')), '{}')
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped`

// Bounds of the wait for a change's transaction to become visible.
const (
	commitWaitFirst = time.Millisecond
	commitWaitMax   = 250 * time.Millisecond
)

// maxClaimsPerBatch bounds how many claims one round trip checks.
const maxClaimsPerBatch = 500

// authorize decides what the subscribers of one role see of a change. Supabase's rule: a
// subscriber receives an inserted or updated row only if its role and claims may select it
// under row-level security. It costs one transaction per role and change: the role's
// privileges, then, in one round trip per 500 distinct claims, the row selected by its key
// under each subscriber's claims. Subscribers with identical claims share a check, and
// tables without row-level security for the role need no row check at all. An error means
// the check could not be made: nobody of the role may be given the change.
func (d *changeDispatcher) authorize(ctx context.Context, change *replication.Change, role string, group []candidate) (*roleVerdict, error) {
	var claimsOrder []string
	seen := map[string]bool{}
	for _, c := range group {
		key := string(c.auth.principal.Claims)
		if !seen[key] {
			seen[key] = true
			claimsOrder = append(claimsOrder, key)
		}
	}
	needsRow := change.Type != replication.Delete
	access := &roleAccess{columns: map[string]bool{}}
	var visible map[string]bool
	err := d.inRole(ctx, role, claimsOrder[0], func(tx pgx.Tx) error {
		var columns []string
		if err := tx.QueryRow(ctx, metaSQL, change.RelationID).Scan(&access.rls, &columns); err != nil {
			return err
		}
		for _, c := range columns {
			access.columns[c] = true
		}
		if !needsRow {
			return nil
		}
		hasKey := false
		for _, c := range change.Columns {
			if c.PrimaryKey {
				hasKey = true
				if !access.columns[c.Name] {
					access.errorText = errUnauthorized
				}
			}
		}
		if !hasKey {
			access.errorText = errNoPrimaryKey
		}
		if access.errorText != "" || !access.rls {
			return nil
		}
		visible = map[string]bool{}
		for start := 0; start < len(claimsOrder); start += maxClaimsPerBatch {
			chunk := claimsOrder[start:min(start+maxClaimsPerBatch, len(claimsOrder))]
			if err := checkRows(ctx, tx, change, role, chunk, visible); err != nil {
				return err
			}
			d.svc.metrics.rowChecks.Add(float64(len(chunk)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &roleVerdict{access: access, visible: visible}, nil
}

// inRole runs fn as role with claims and records how long it took.
func (d *changeDispatcher) inRole(ctx context.Context, role, claims string, fn func(pgx.Tx) error) error {
	start := time.Now()
	err := d.svc.runner.InRole(ctx, db.RequestScope{Role: role, Claims: []byte(claims)}, fn)
	d.svc.metrics.checkSeconds.Observe(time.Since(start).Seconds())
	return err
}

// checkRows selects the changed row by its primary key once per claims, in one round trip,
// and records in visible whether each got it back. The batch first looks for the row as
// service_role, which bypasses row-level security: PostgreSQL writes a commit to the WAL, from
// where it is streamed, a moment before other sessions see it, and a check in that moment
// would wrongly find the row hidden. Until the row shows up the batch is repeated (each
// statement takes a fresh snapshot); a row that never does was changed again or deleted
// since, and nobody gets the change, as in Supabase.
func checkRows(ctx context.Context, tx pgx.Tx, change *replication.Change, role string, claims []string, visible map[string]bool) error {
	query, values, oids := keyQuery(change)
	if query == "" {
		return nil
	}
	wait := commitWaitFirst
	deadline := time.Now().Add(commitWaitMax)
	for {
		// A fresh batch every time: ExecBatch appends its Sync to the batch's buffer, so a
		// batch sent twice carries two Syncs, and the stale ReadyForQuery left behind makes
		// the next batch on the connection read as empty.
		batch := rowCheckBatch(query, values, oids, role, claims)
		results, err := tx.Conn().PgConn().ExecBatch(ctx, batch).ReadAll()
		if err != nil {
			return err
		}
		// A short or failed batch fails the check (the channels get phx_error); it must
		// never be indexed past, which would take the whole process down.
		if err := batchComplete(results, 3+2*len(claims)); err != nil {
			return err
		}
		if len(results[1].Rows) > 0 {
			for i, c := range claims {
				visible[c] = len(results[4+2*i].Rows) > 0
			}
			return nil
		}
		if time.Now().Add(wait).After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// rowCheckBatch looks for the row as service_role, then once per claims as role.
func rowCheckBatch(query string, values [][]byte, oids []uint32, role string, claims []string) *pgconn.Batch {
	text := []uint32{25}
	setting := "SELECT set_config($1, $2, true)"
	batch := &pgconn.Batch{}
	batch.ExecParams(setting, [][]byte{[]byte("role"), []byte(db.RoleServiceRole)}, []uint32{25, 25}, nil, nil)
	batch.ExecParams(query, values, oids, nil, nil)
	batch.ExecParams(setting, [][]byte{[]byte("role"), []byte(role)}, []uint32{25, 25}, nil, nil)
	for _, c := range claims {
		batch.ExecParams("SELECT set_config('request.jwt.claims', $1, true)", [][]byte{[]byte(c)}, text, nil, nil)
		batch.ExecParams(query, values, oids, nil, nil)
	}
	return batch
}

// batchComplete reports an error unless results holds want results, none of them failed.
func batchComplete(results []*pgconn.Result, want int) error {
	if len(results) != want {
		return fmt.Errorf("realtime: row check returned %d results, want %d", len(results), want)
	}
	for _, r := range results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// keyQuery selects the changed row by its primary key. The key values are sent in
// PostgreSQL's own text form with their column types, so any key type works without casts.
// It returns "" when the row carries no usable key.
func keyQuery(change *replication.Change) (string, [][]byte, []uint32) {
	var (
		where  []string
		values [][]byte
		oids   []uint32
	)
	for i, c := range change.Columns {
		if !c.PrimaryKey {
			continue
		}
		v := change.New[i]
		if v.State != replication.Present {
			return "", nil, nil
		}
		values = append(values, []byte(v.Text))
		oids = append(oids, c.TypeOID)
		where = append(where, fmt.Sprintf("%s = $%d", pgx.Identifier{c.Name}.Sanitize(), len(values)))
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return "SELECT 1 FROM " + pgx.Identifier{change.Schema, change.Table}.Sanitize() +
		" WHERE " + strings.Join(where, " AND ") + " LIMIT 1", values, oids
}
