package realtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

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
	// maskedAs maps a masked copy the role reads to the column it stands for
	// (changes_masked.go).
	maskedAs map[string]string
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

// admits reports whether binding b, which matched the change's table and event, gets it.
// The binding's filters must only use columns the role may select: a subscriber must not
// learn about values through a filter on a column it cannot read. Under row-level security
// a filter may decide only on what the subscriber could read itself:
//   - a change that could not be checked (Supabase's 400 and 401: no primary key, or none
//     the role may select) reaches only bindings without filters, since which filters
//     matched would describe a row the subscriber was never shown;
//   - a DELETE, which cannot be checked at all, is filtered on its primary key only (the
//     one thing it carries under RLS), as matching did; conditions on other columns pass.
//
// A role that RLS does not restrict could select the row anyway, so its DELETE bindings
// are filtered on the whole old row.
func (v candidateVerdict) admits(b *binding, change *replication.Change) bool {
	if v.access.errorText != "" && v.access.rls {
		return len(b.filters) == 0
	}
	for _, f := range b.filters {
		if !v.access.columns[f.column] {
			return false
		}
	}
	if change.Type == replication.Delete && !v.access.rls {
		return b.matchesRow(change, false)
	}
	return true
}

// metaSQL reads, as the role, whether row-level security applies to it on the table and
// which columns it may select. It reads only the catalog, which every role may, so it works
// even for a role without USAGE on the table's schema.
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
		access.resolveMasks(change.Columns)
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
			if err := checkRows(ctx, tx, change, chunk, visible); err != nil {
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
// and records in visible whether each got it back.
//
// PostgreSQL writes a commit to the WAL, from where it is streamed, a moment before other
// sessions see it; a check in that moment would find an inserted row missing, or an updated
// row as it was before. So the batch starts by asking whether the change's transaction is
// visible yet, and is repeated until it is (each statement of a read-committed transaction
// takes a fresh snapshot, so the selects that follow a positive answer see the commit). The
// question is asked of the snapshot, not of the table: looking for the row as a role that
// bypasses row-level security would need that role's privileges on the schema and table,
// which an application's own schema need not grant, and would take an updated row's previous
// version for the commit. A transaction still invisible after commitWaitMax fails the check.
func checkRows(ctx context.Context, tx pgx.Tx, change *replication.Change, claims []string, visible map[string]bool) error {
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
		batch := rowCheckBatch(change.XID, query, values, oids, claims)
		results, err := tx.Conn().PgConn().ExecBatch(ctx, batch).ReadAll()
		if err != nil {
			return err
		}
		// A short or failed batch fails the check (the channels get phx_error); it must
		// never be indexed past, which would take the whole process down.
		if err := batchComplete(results, 1+2*len(claims)); err != nil {
			return err
		}
		if committed(results[0]) {
			for i, c := range claims {
				visible[c] = len(results[2+2*i].Rows) > 0
			}
			return nil
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("realtime: transaction %d is not visible %s after it was streamed", change.XID, commitWaitMax)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// committedSQL reports whether the transaction $1 (the 32-bit ID the replication stream
// carries) is visible in the statement's snapshot. pg_visible_in_snapshot wants the 64-bit
// ID: its epoch is that of the snapshot's xmax, or the one before when the 32-bit counter
// wrapped in between, since a committed transaction's ID is always below xmax. It reads no
// table, so it needs no privilege.
const committedSQL = `SELECT pg_visible_in_snapshot(
	(CASE WHEN epoch + $1 < xmax THEN epoch + $1 ELSE epoch + $1 - 4294967296 END)::text::xid8, snap)
	FROM (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS xmax FROM (SELECT pg_current_snapshot() AS snap) AS s) AS x,
	LATERAL (SELECT (xmax >> 32) << 32 AS epoch) AS e`

// committed reads committedSQL's answer.
func committed(r *pgconn.Result) bool {
	return len(r.Rows) == 1 && len(r.Rows[0]) == 1 && string(r.Rows[0][0]) == "t"
}

// rowCheckBatch asks whether transaction xid is visible, then selects the row once per claims.
func rowCheckBatch(xid uint32, query string, values [][]byte, oids []uint32, claims []string) *pgconn.Batch {
	batch := &pgconn.Batch{}
	batch.ExecParams(committedSQL, [][]byte{strconv.AppendUint(nil, uint64(xid), 10)}, []uint32{pgtype.Int8OID}, nil, nil)
	for _, c := range claims {
		batch.ExecParams("SELECT set_config('request.jwt.claims', $1, true)", [][]byte{[]byte(c)}, []uint32{pgtype.TextOID}, nil, nil)
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
