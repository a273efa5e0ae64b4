package realtime

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/sync/errgroup"

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

// checkRowsSQL asks realtime.gf_check_rows (migration 0021) whether the rows' transaction is
// visible yet, what the role may select of the table, and which rows each claims may see
// under row-level security: one statement, and one execution of a plan prepared once, per
// claims.
const checkRowsSQL = `SELECT committed, rls, columns, visible FROM realtime.gf_check_rows($1, $2, $3, $4, $5, $6)`

// Bounds of the wait for a change's transaction to become visible.
const (
	commitWaitFirst = time.Millisecond
	commitWaitMax   = 250 * time.Millisecond
)

// maxChecksPerCall bounds the row checks (claims × rows) of one statement, so that one call
// never holds a connection for long.
const maxChecksPerCall = 4096

// checkParallelism is how many statements of one set run at once, on as many connections:
// PostgreSQL evaluates one statement on one core, and many subscribers' checks of one change
// are independent.
const checkParallelism = 2

// minClaimsPerCall is the fewest claims worth a statement of their own when the claims of a
// set are spread over checkParallelism statements.
const minClaimsPerCall = 128

// rowSet is changes of one table and transaction checked together: consecutive changes of
// one transaction need one statement per role, not one per change.
type rowSet struct {
	changes []*replication.Change
	// claims[i] lists the distinct claims of changes[i]'s candidates.
	claims [][]string
}

// authorize decides what the subscribers of one role see of one change.
func (d *changeDispatcher) authorize(ctx context.Context, change *replication.Change, role string, group []candidate) (*roleVerdict, error) {
	verdicts, err := d.authorizeSet(ctx, []*replication.Change{change}, role, [][]candidate{group})
	if err != nil {
		return nil, err
	}
	return verdicts[0], nil
}

// authorizeSet decides what the subscribers of one role see of consecutive changes of one
// table and transaction (groups[i] are changes[i]'s candidates of the role). Supabase's rule:
// a subscriber receives an inserted or updated row only if its role and claims may select it
// under row-level security. Subscribers with identical claims share a check; a role that
// row-level security does not restrict (no RLS on the table, BYPASSRLS) needs no row check,
// and neither do DELETEs. An error means the check could not be made: nobody of the role may
// be given the changes.
func (d *changeDispatcher) authorizeSet(ctx context.Context, changes []*replication.Change, role string, groups [][]candidate) ([]*roleVerdict, error) {
	switch role {
	case db.RoleAnon, db.RoleAuthenticated, db.RoleServiceRole:
	default:
		return nil, fmt.Errorf("%w: %q", db.ErrRoleNotAllowed, role)
	}
	first := changes[0]
	keyColumns, hasKey := primaryKey(first)
	set := rowSet{changes: changes, claims: make([][]string, len(changes))}
	for i, group := range groups {
		seen := map[string]bool{}
		for _, c := range group {
			key := string(c.auth.principal.Claims)
			if !seen[key] {
				seen[key] = true
				set.claims[i] = append(set.claims[i], key)
			}
		}
	}
	start := time.Now()
	defer func() { d.svc.metrics.checkSeconds.Observe(time.Since(start).Seconds()) }()

	calls := set.calls(hasKey && first.Type != replication.Delete)
	results := make([]checkResult, len(calls))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(checkParallelism)
	for i, call := range calls {
		g.Go(func() error {
			var err error
			results[i], err = d.checkRows(gctx, first, role, keyColumns, call.keys, call.claims)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	verdicts := make([]*roleVerdict, len(changes))
	var access *roleAccess
	for i, call := range calls {
		res := results[i]
		if access == nil {
			access = newRoleAccess(first, res.rls, res.columns)
		}
		if res.visible == nil {
			continue
		}
		d.svc.metrics.rowChecks.Add(float64(len(call.claims) * len(call.rows)))
		for _, v := range res.visible {
			c, r := int(v)/len(call.rows), int(v)%len(call.rows)
			if c >= len(call.claims) {
				return nil, fmt.Errorf("realtime: row check answered for claims %d of %d", c, len(call.claims))
			}
			row := call.rows[r]
			if verdicts[row] == nil {
				verdicts[row] = &roleVerdict{visible: map[string]bool{}}
			}
			verdicts[row].visible[call.claims[c]] = true
		}
	}
	for i, change := range changes {
		v := verdicts[i]
		if v == nil {
			v = &roleVerdict{}
			verdicts[i] = v
		}
		v.access = access
		// Rows that were checked and found by nobody: an empty map, not "everybody".
		// Under row-level security a row nobody was found to see, or that could not be looked
		// up (its key values missing), goes to nobody: an empty map, never nil ("everybody").
		if v.visible == nil && access.rls && access.errorText == "" && change.Type != replication.Delete {
			v.visible = map[string]bool{}
		}
	}
	return verdicts, nil
}

// newRoleAccess is what the role may see of the change's table, given whether row-level
// security applies to it and the columns it may select.
func newRoleAccess(change *replication.Change, rls bool, columns []string) *roleAccess {
	access := &roleAccess{columns: make(map[string]bool, len(columns)), rls: rls}
	for _, c := range columns {
		access.columns[c] = true
	}
	access.resolveMasks(change.Columns)
	if change.Type == replication.Delete {
		return access
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
	return access
}

// checkCall is one statement's share of a rowSet: the key values of some of its changes
// (rows, indexes into the set) and the claims to check them under.
type checkCall struct {
	rows   []int
	keys   []string
	claims []string
}

// calls splits the set into statements. Without rows to check (DELETEs, no key) one call
// with no rows reads the role's access. Changes are checked together when they share most of
// their claims; otherwise each change gets its own call, so that a transaction of rows each
// watched by different subscribers does not check every row under every subscriber's claims.
func (s rowSet) calls(checkRows bool) []checkCall {
	if !checkRows {
		return []checkCall{{}}
	}
	keyColumns, _ := primaryKey(s.changes[0])
	type entry struct {
		row  int
		keys []string
	}
	var rows []entry
	for i, ch := range s.changes {
		if keys, ok := keyValues(ch, keyColumns); ok && len(s.claims[i]) > 0 {
			rows = append(rows, entry{i, keys})
		}
	}
	if len(rows) == 0 {
		return []checkCall{{}}
	}
	union := map[string]bool{}
	var unionOrder []string
	needed := 0
	for _, r := range rows {
		needed += len(s.claims[r.row])
		for _, c := range s.claims[r.row] {
			if !union[c] {
				union[c] = true
				unionOrder = append(unionOrder, c)
			}
		}
	}
	var out []checkCall
	if len(unionOrder)*len(rows) <= 2*needed {
		// Together: every row under every claims, the claims spread over checkParallelism
		// statements, each within maxChecksPerCall.
		for _, claims := range claimChunks(unionOrder) {
			perCall := max(1, maxChecksPerCall/len(claims))
			for lo := 0; lo < len(rows); lo += perCall {
				call := checkCall{claims: claims}
				for _, r := range rows[lo:min(lo+perCall, len(rows))] {
					call.rows = append(call.rows, r.row)
					call.keys = append(call.keys, r.keys...)
				}
				out = append(out, call)
			}
		}
		return out
	}
	for _, r := range rows {
		for _, claims := range claimChunks(s.claims[r.row]) {
			out = append(out, checkCall{rows: []int{r.row}, keys: r.keys, claims: claims})
		}
	}
	return out
}

// claimChunks splits claims into checkParallelism parts of at least minClaimsPerCall (one
// part when there are fewer), none larger than maxChecksPerCall.
func claimChunks(claims []string) [][]string {
	size := max(minClaimsPerCall, (len(claims)+checkParallelism-1)/checkParallelism)
	size = min(size, maxChecksPerCall)
	var out [][]string
	for lo := 0; lo < len(claims); lo += size {
		out = append(out, claims[lo:min(lo+size, len(claims))])
	}
	return out
}

// checkResult is realtime.gf_check_rows's answer.
type checkResult struct {
	rls     bool
	columns []string
	visible []int32 // nil when no row was checked
}

// checkRows runs one call of realtime.gf_check_rows on the request pool, whose login role
// (authenticator) is the only one allowed to: the function switches to role itself.
//
// PostgreSQL writes a commit to the WAL, from where it is streamed, a moment before other
// sessions see it; a check in that moment would find an inserted row missing, or an updated
// row as it was before. So the function first asks whether the change's transaction is
// visible yet, and the call is repeated until it is (the lookups that follow a positive
// answer take fresh snapshots, so they see the commit). The question is asked of the
// snapshot, not of the table: looking for the row as a role that bypasses row-level security
// would need that role's privileges on the schema and table, which an application's own
// schema need not grant, and would take an updated row's previous version for the commit. A
// transaction still invisible after commitWaitMax fails the check.
func (d *changeDispatcher) checkRows(ctx context.Context, change *replication.Change, role string, keyColumns, keys, claims []string) (checkResult, error) {
	if keys == nil {
		keys = []string{}
	}
	if claims == nil {
		claims = []string{}
	}
	if keyColumns == nil {
		keyColumns = []string{}
	}
	wait := commitWaitFirst
	deadline := time.Now().Add(commitWaitMax)
	for {
		var (
			committed, rls pgtype.Bool
			res            checkResult
		)
		err := d.svc.runner.Pool().QueryRow(ctx, checkRowsSQL, role, change.RelationID, int64(change.XID), keyColumns, keys, claims).
			Scan(&committed, &rls, &res.columns, &res.visible)
		if err != nil {
			return res, err
		}
		if committed.Bool {
			res.rls = rls.Bool
			return res, nil
		}
		if time.Now().Add(wait).After(deadline) {
			return res, fmt.Errorf("realtime: transaction %d is not visible %s after it was streamed", change.XID, commitWaitMax)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// primaryKey returns the change's primary key columns, and whether it has any.
func primaryKey(change *replication.Change) ([]string, bool) {
	var names []string
	for _, c := range change.Columns {
		if c.PrimaryKey {
			names = append(names, c.Name)
		}
	}
	return names, len(names) > 0
}

// keyValues returns the changed row's key values in PostgreSQL's own text form (the
// function casts them to the columns' types), or false when the row does not carry them all.
func keyValues(change *replication.Change, keyColumns []string) ([]string, bool) {
	values := make([]string, 0, len(keyColumns))
	for i, c := range change.Columns {
		if !c.PrimaryKey {
			continue
		}
		if i >= len(change.New) || change.New[i].State != replication.Present {
			return nil, false
		}
		values = append(values, change.New[i].Text)
	}
	return values, len(values) == len(keyColumns) && len(values) > 0
}
