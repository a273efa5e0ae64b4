package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
)

// sealed writes n entries, seals them and returns their ids.
func (e *env) sealed(n int) []int64 {
	e.t.Helper()
	e.write(n, nil)
	require.Equal(e.t, n, e.seal())
	ids := e.ids()
	require.Len(e.t, ids, n)
	return ids
}

func requireBroken(t *testing.T, r audit.Report, problem string, seq, entryID int64) {
	t.Helper()
	require.False(t, r.OK, "verify passed: %+v", r)
	require.NotNil(t, r.FirstBroken)
	require.Equal(t, problem, r.FirstBroken.Problem, r.FirstBroken.Detail)
	require.Equal(t, seq, r.FirstBroken.Seq, r.FirstBroken.Detail)
	require.Equal(t, entryID, r.FirstBroken.EntryID, r.FirstBroken.Detail)
	require.NotEmpty(t, r.FirstBroken.Detail)
}

func TestVerifyAcceptsTheUnsealedTail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	empty := e.verify()
	require.True(t, empty.OK)
	require.Zero(t, empty.Checked)

	e.sealed(10)
	e.write(3, nil)
	r := e.verify()
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.EqualValues(t, 10, r.Checked)
	require.EqualValues(t, 3, r.Unsealed)
	require.NotNil(t, r.Anchor, "the sealer recorded its head in the data directory")
	require.Equal(t, r.Head.Hash, r.Anchor.Hash)

	require.Equal(t, 3, e.seal())
	r = e.verify()
	require.True(t, r.OK)
	require.EqualValues(t, 13, r.Checked)
	require.Zero(t, r.Unsealed)
}

func TestVerifyFindsAnEditedEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`UPDATE goforward.audit_log SET actor_email = 'someone-else@example.com' WHERE id = $1`, ids[4])
	requireBroken(t, e.verify(), audit.ProblemEdited, 5, ids[4])
}

func TestVerifyFindsAnEditedDetail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`UPDATE goforward.audit_log SET details = details || '{"note":"y"}' WHERE id = $1`, ids[6])
	requireBroken(t, e.verify(), audit.ProblemEdited, 7, ids[6])
}

func TestVerifyFindsADeletedEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`DELETE FROM goforward.audit_log WHERE id = $1`, ids[3])
	requireBroken(t, e.verify(), audit.ProblemRemoved, 4, ids[3])
}

func TestVerifyFindsADeletedEntryAndItsLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`DELETE FROM goforward.audit_log WHERE id = $1`, ids[3])
	e.tamper(`DELETE FROM goforward.audit_chain WHERE entry_id = $1`, ids[3])
	r := e.verify()
	requireBroken(t, r, audit.ProblemRemoved, 4, 0)
	require.Contains(t, r.FirstBroken.Detail, "links 4 to 4")
}

func TestVerifyFindsSwappedEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`UPDATE goforward.audit_log a SET occurred_at = b.occurred_at, actor_type = b.actor_type, actor_id = b.actor_id,
  actor_email = b.actor_email, action = b.action, resource_type = b.resource_type, resource_id = b.resource_id,
  outcome = b.outcome, severity = b.severity, ip = b.ip, user_agent = b.user_agent, request_id = b.request_id,
  session_id = b.session_id, details = b.details
FROM goforward.audit_log b WHERE (a.id = $1 AND b.id = $2) OR (a.id = $2 AND b.id = $1)`, ids[2], ids[5])
	r := e.verify()
	requireBroken(t, r, audit.ProblemReordered, 3, ids[2])
	require.Contains(t, r.FirstBroken.Detail, "swapped")
}

func TestVerifyFindsAMovedEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	// Entry 2 is dropped and entry 3's content moved into its place, as if 3 happened earlier.
	e.tamper(`UPDATE goforward.audit_log a SET occurred_at = b.occurred_at, actor_id = b.actor_id,
  resource_id = b.resource_id, details = b.details
FROM goforward.audit_log b WHERE a.id = $1 AND b.id = $2`, ids[1], ids[2])
	r := e.verify()
	requireBroken(t, r, audit.ProblemReordered, 2, ids[1])
	require.Contains(t, r.FirstBroken.Detail, "holds what was sealed as entry")
}

func TestVerifyFindsATruncatedTail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	e.tamper(`DELETE FROM goforward.audit_chain WHERE entry_id >= $1`, ids[7])
	e.tamper(`DELETE FROM goforward.audit_log WHERE id >= $1`, ids[7])

	r := e.verify()
	requireBroken(t, r, audit.ProblemTruncated, 8, 0)
	require.Contains(t, r.FirstBroken.Detail, "link 10")

	// Without the head recorded outside the database the cut is invisible: that is what the
	// anchor is for.
	bare, err := audit.Verify(context.Background(), e.pool, "")
	require.NoError(t, err)
	require.True(t, bare.OK)

	// The sealer refuses to carry on from the cut, and raises the alarm.
	e.write(1, nil)
	_, err = e.sealer(audit.SealerConfig{}).Seal(context.Background())
	require.ErrorIs(t, err, audit.ErrChainBroken)
	require.Equal(t, 7, e.count(`SELECT count(*) FROM goforward.audit_chain`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM goforward.security_alerts WHERE rule = 'audit_chain_broken' AND severity = 'critical'`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM goforward.audit_log WHERE action = 'audit.chain_broken' AND severity = 'critical'`))
}

func TestVerifyFindsLinksRemovedToResealEditedEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	// Cut the last two links so the entries look unsealed, then edit them.
	e.tamper(`DELETE FROM goforward.audit_chain WHERE entry_id >= $1`, ids[8])
	e.tamper(`UPDATE goforward.audit_log SET outcome = 'success', severity = 'info' WHERE id >= $1`, ids[8])
	requireBroken(t, e.verify(), audit.ProblemTruncated, 9, 0)
	_, err := e.sealer(audit.SealerConfig{}).Seal(context.Background())
	require.ErrorIs(t, err, audit.ErrChainBroken, "the sealer does not seal the edited entries afresh")
}

func TestVerifyFindsAnEntryInsertedBelowSealedOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write(5, nil)
	// A rolled-back write leaves a gap in the ids.
	tx, err := e.pool.Begin(context.Background())
	require.NoError(t, err)
	require.NoError(t, audit.Record(context.Background(), tx, audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "gone"}))
	require.NoError(t, tx.Rollback(context.Background()))
	e.write(4, nil)
	e.seal()
	gap := e.ids()[4] + 1
	e.tamper(`INSERT INTO goforward.audit_log (id, occurred_at, actor_type, action, outcome, severity)
OVERRIDING SYSTEM VALUE VALUES ($1, now() - interval '1 day', 'system', 'admin.forged', 'success', 'info')`, gap)
	requireBroken(t, e.verify(), audit.ProblemInserted, 0, gap)
}

func TestVerifyFindsARecomputedChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(10)
	// Someone who knows the algorithm edits an entry and recomputes every link after it: the
	// chain is consistent again, but no longer ends on the head the sealer recorded.
	e.tamper(`UPDATE goforward.audit_log SET action = 'admin.harmless' WHERE id = $1`, ids[2])
	e.tamper(`DELETE FROM goforward.audit_chain`)
	elsewhere := audit.NewSealer(e.pool, audit.SealerConfig{Dir: audit.Dir(t.TempDir())})
	n, err := elsewhere.Seal(context.Background())
	require.NoError(t, err)
	require.Equal(t, 10, n)

	bare, err := audit.Verify(context.Background(), e.pool, "")
	require.NoError(t, err)
	require.True(t, bare.OK, "the recomputed chain is consistent in itself")
	r := e.verify()
	requireBroken(t, r, audit.ProblemRewritten, 10, ids[9])
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.sealed(2)
	ctx := context.Background()
	for _, sql := range []string{
		`UPDATE goforward.audit_log SET action = 'x'`,
		`DELETE FROM goforward.audit_log`,
		`TRUNCATE goforward.audit_log CASCADE`,
		`UPDATE goforward.audit_chain SET hash = '\x00'`,
		`DELETE FROM goforward.audit_chain`,
		`TRUNCATE goforward.audit_chain`,
	} {
		_, err := e.pool.Exec(ctx, sql)
		require.ErrorContains(t, err, "append-only", sql)
	}
	require.Equal(t, ids, e.ids())
	require.True(t, e.verify().OK)
}
