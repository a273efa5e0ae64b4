package realtime

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/security"
)

// setCheckSchema mixes the kinds of policies applications write: ownership through
// auth.uid() (also in Supabase's recommended (select auth.uid()) form, an init plan),
// policies for one role, policies on other claims, a restrictive policy, a helper function
// reading a table of its own, column privileges and a composite key.
const setCheckSchema = `
CREATE TABLE public.memberships (member uuid, team text);
GRANT SELECT ON public.memberships TO authenticated;
CREATE FUNCTION public.in_team(t text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $$ SELECT EXISTS (SELECT 1 FROM public.memberships m WHERE m.member = auth.uid() AND m.team = t) $$;

CREATE TABLE public.mixed (id int PRIMARY KEY, owner uuid, team text, public boolean, secret text);
ALTER TABLE public.mixed ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.mixed FOR SELECT TO authenticated USING (owner = (SELECT auth.uid()));
CREATE POLICY own_plain ON public.mixed FOR SELECT TO authenticated USING (owner = auth.uid() AND team IS NULL);
CREATE POLICY claimed_team ON public.mixed FOR SELECT TO authenticated USING (team = auth.jwt() ->> 'team');
CREATE POLICY member ON public.mixed FOR SELECT TO authenticated USING (public.in_team(team));
CREATE POLICY admin ON public.mixed FOR SELECT TO authenticated USING (auth.jwt() -> 'app_metadata' ->> 'role' = 'admin');
CREATE POLICY published ON public.mixed FOR SELECT TO anon USING (public);
CREATE POLICY not_banned ON public.mixed AS RESTRICTIVE FOR SELECT TO authenticated
  USING (coalesce(auth.jwt() ->> 'banned', '') <> 'true');
GRANT SELECT ON public.mixed TO anon, authenticated;

CREATE TABLE public.pairs (a int, b text, owner uuid, PRIMARY KEY (a, b));
ALTER TABLE public.pairs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.pairs FOR SELECT TO authenticated USING (owner = auth.uid());
CREATE POLICY everyone ON public.pairs FOR SELECT TO anon USING (a % 2 = 0);
GRANT SELECT ON public.pairs TO anon, authenticated;

CREATE TABLE public.keyhidden (id int PRIMARY KEY, note text);
ALTER TABLE public.keyhidden ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON public.keyhidden FOR SELECT TO authenticated USING (true);
REVOKE ALL ON public.keyhidden FROM anon, authenticated;
GRANT SELECT (note) ON public.keyhidden TO authenticated;
`

// TestSetBasedCheckSpreadOverStatements checks many subscribers, whose claims are spread
// over several statements run at once, against each asking alone.
func TestSetBasedCheckSpreadOverStatements(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, setCheckSchema)
	require.NoError(t, err)
	var xid, relid uint32
	err = pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
		for i := range 3 {
			if _, err := tx.Exec(ctx, `INSERT INTO public.mixed VALUES ($1, $2, $3, false, 'x')`, i, user(i*7), fmt.Sprintf("t%d", i)); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `SELECT txid_current()::bigint % 4294967296, 'public.mixed'::regclass::oid`).Scan(&xid, &relid)
	})
	require.NoError(t, err)
	svc := checkService(t, database)
	n := 2*minClaimsPerCall + 40
	claims := make([]string, n)
	cands := make([]candidate, n)
	for i := range claims {
		claims[i] = fmt.Sprintf(`{"role":"authenticated","sub":%q,"team":"t%d","n":%d}`, user(i%30), i%5, i)
		cands[i] = candidate{auth: &channelAuth{principal: security.Principal{Role: "authenticated", Claims: []byte(claims[i])}}}
	}
	rows := keyRows(3, func(i int) []string { return []string{strconv.Itoa(i)} })
	changes := make([]*replication.Change, len(rows))
	groups := make([][]candidate, len(rows))
	for i, key := range rows {
		changes[i] = keyChange(relid, xid, "mixed", []string{"id"}, key)
		groups[i] = cands
	}
	require.Greater(t, len(rowSet{changes: changes, claims: [][]string{claims, claims, claims}}.calls(true)), 1, "the claims take several statements")
	want := individualChecks(t, database, "authenticated", claims, "mixed", []string{"id"}, rows)
	verdicts, err := svc.changes.authorizeSet(ctx, changes, "authenticated", groups)
	require.NoError(t, err)
	visible := 0
	for r := range changes {
		for ci, c := range cands {
			require.Equal(t, want[ci][r], delivered(verdicts[r], c), "row %d as %s", r, claims[ci])
			if want[ci][r] {
				visible++
			}
		}
	}
	require.Positive(t, visible)
	require.Less(t, visible, n*len(rows))
}

func user(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// setCheckClaims are the subscribers: users owning rows, team members by claim and by the
// memberships table, admins, banned users, and anonymous visitors.
func setCheckClaims() map[string][]string {
	var authenticated []string
	for i := range 24 {
		claims := fmt.Sprintf(`{"role":"authenticated","sub":%q`, user(i%12))
		switch i % 6 {
		case 1:
			claims += fmt.Sprintf(`,"team":"t%d"`, i%4)
		case 2:
			claims += `,"app_metadata":{"role":"admin"}`
		case 3:
			claims += `,"banned":"true","team":"t1"`
		case 4:
			claims += `,"app_metadata":{"role":"admin"},"banned":"true"`
		}
		authenticated = append(authenticated, claims+fmt.Sprintf(`,"n":%d}`, i))
	}
	authenticated = append(authenticated, `{"role":"authenticated"}`)
	return map[string][]string{
		"authenticated": authenticated,
		"anon":          {`{"role":"anon"}`, `{"role":"anon","sub":"` + user(1) + `"}`},
		"service_role":  {`{"role":"service_role"}`},
	}
}

// TestSetBasedCheckMatchesIndividualChecks compares what one set-based check decides for
// every subscriber of a transaction's rows with what each subscriber, asking alone as a REST
// request would, may select: the same rows, for every role, policy and claims, whether the
// rows are checked together or one by one.
func TestSetBasedCheckMatchesIndividualChecks(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	ctx := t.Context()
	_, err := database.Pool.Exec(ctx, setCheckSchema)
	require.NoError(t, err)
	// Every row in one transaction, as one streamed transaction of changes.
	var xid uint32
	err = pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
		for i := range 12 {
			if _, err := tx.Exec(ctx, `INSERT INTO public.memberships VALUES ($1, $2)`, user(i), fmt.Sprintf("t%d", i%3)); err != nil {
				return err
			}
		}
		for i := range 40 {
			var team *string
			if i%5 != 0 {
				s := fmt.Sprintf("t%d", i%4)
				team = &s
			}
			if _, err := tx.Exec(ctx, `INSERT INTO public.mixed VALUES ($1, $2, $3, $4, 'x')`, i, user(i%14), team, i%3 == 0); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO public.pairs VALUES ($1, $2, $3)`, i, "k "+strconv.Itoa(i), user(i%13)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO public.keyhidden VALUES (1, 'n')`)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT txid_current()::bigint % 4294967296`).Scan(&xid)
	})
	require.NoError(t, err)
	svc := checkService(t, database)
	claims := setCheckClaims()

	for _, tc := range []struct {
		table string
		keys  []string // key columns
		rows  [][]string
	}{
		{table: "mixed", keys: []string{"id"}, rows: keyRows(40, func(i int) []string { return []string{strconv.Itoa(i)} })},
		{table: "pairs", keys: []string{"a", "b"}, rows: keyRows(40, func(i int) []string { return []string{strconv.Itoa(i), "k " + strconv.Itoa(i)} })},
		{table: "keyhidden", keys: []string{"id"}, rows: [][]string{{"1"}}},
	} {
		var relid uint32
		require.NoError(t, database.Pool.QueryRow(ctx, `SELECT $1::regclass::oid`, "public."+tc.table).Scan(&relid))
		changes := make([]*replication.Change, len(tc.rows))
		for i, key := range tc.rows {
			changes[i] = keyChange(relid, xid, tc.table, tc.keys, key)
		}
		for role, roleClaims := range claims {
			want := individualChecks(t, database, role, roleClaims, tc.table, tc.keys, tc.rows)
			seen := map[bool]int{}
			for _, w := range want {
				for _, v := range w {
					seen[v]++
				}
			}
			t.Logf("%s as %s: %v", tc.table, role, seen)
			cands := make([]candidate, len(roleClaims))
			for i, c := range roleClaims {
				cands[i] = candidate{auth: &channelAuth{principal: security.Principal{Role: role, Claims: []byte(c)}}}
			}
			// Every subscriber on every row: one statement for the whole transaction.
			groups := make([][]candidate, len(changes))
			for i := range groups {
				groups[i] = cands
			}
			verdicts, err := svc.changes.authorizeSet(ctx, changes, role, groups)
			require.NoError(t, err)
			// Each row watched by a different few subscribers: checked row by row.
			sparse := make([][]candidate, len(changes))
			for i := range sparse {
				sparse[i] = []candidate{cands[i%len(cands)]}
			}
			sparseVerdicts, err := svc.changes.authorizeSet(ctx, changes, role, sparse)
			require.NoError(t, err)
			for r := range changes {
				for ci, c := range cands {
					label := fmt.Sprintf("%s row %v as %s %s", tc.table, tc.rows[r], role, c.auth.principal.Claims)
					require.Equal(t, want[ci][r], delivered(verdicts[r], c), label)
					if ci == r%len(cands) {
						require.Equal(t, want[ci][r], delivered(sparseVerdicts[r], c), "checked alone: "+label)
					}
				}
			}
			// One change alone, as authorize does.
			single, err := svc.changes.authorize(ctx, changes[0], role, cands)
			require.NoError(t, err)
			if tc.table == "keyhidden" && role != "service_role" {
				require.Equal(t, errUnauthorized, single.access.errorText, "the role may not select the key")
			}
			for ci, c := range cands {
				require.Equal(t, want[ci][0], delivered(single, c), "single change, claims %s", c.auth.principal.Claims)
			}
		}
	}
}

// delivered reports whether the candidate gets the row itself (not an error event instead).
func delivered(v *roleVerdict, c candidate) bool {
	cv := v.of(c)
	return !cv.skip && cv.access.errorText == ""
}

func keyRows(n int, key func(int) []string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = key(i)
	}
	return out
}

func keyChange(relid, xid uint32, table string, keyColumns, key []string) *replication.Change {
	ch := &replication.Change{RelationID: relid, Schema: "public", Table: table, Type: replication.Insert, XID: xid}
	for i, name := range keyColumns {
		ch.Columns = append(ch.Columns, replication.Column{Name: name, PrimaryKey: true})
		ch.New = append(ch.New, replication.Value{Text: key[i]})
	}
	return ch
}

// individualChecks asks, for each claims and row, whether a REST request of that role and
// claims could select the row: want[claims][row].
func individualChecks(t *testing.T, database *pgtest.Database, role string, claims []string, table string, keyColumns []string, rows [][]string) [][]bool {
	t.Helper()
	ctx := context.Background()
	where := ""
	for i, k := range keyColumns {
		if i > 0 {
			where += " AND "
		}
		where += fmt.Sprintf("%s::text = $%d", pgx.Identifier{k}.Sanitize(), i+1)
	}
	want := make([][]bool, len(claims))
	for ci, c := range claims {
		want[ci] = make([]bool, len(rows))
		for r, key := range rows {
			err := pgx.BeginFunc(ctx, database.Pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, role, c); err != nil {
					return err
				}
				args := make([]any, len(key))
				for i, v := range key {
					args[i] = v
				}
				return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public.`+table+` WHERE `+where+`)`, args...).Scan(&want[ci][r])
			})
			if err != nil && role != "service_role" && table == "keyhidden" {
				require.ErrorContains(t, err, "permission denied")
				want[ci][r] = false // the key is not selectable: Error 401, never the row
				continue
			}
			require.NoError(t, err)
		}
	}
	return want
}
