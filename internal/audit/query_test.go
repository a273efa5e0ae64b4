package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
)

// mixed writes entries of several kinds:
//
//	0–4   admin.user.ban by admin-A, success
//	5–7   auth.sign_in_failed by anon, denied, warning, from 192.0.2.7
//	8–9   moderation.report.resolve by admin-B
//	10    admin.user.ban by admin-B, error, critical, two days ago
func (e *env) mixed() {
	e.t.Helper()
	e.write(11, func(i int, en *audit.Entry) {
		switch {
		case i < 5:
			en.Actor = audit.Actor{Type: audit.ActorAdmin, ID: "admin-A", Email: "a@example.com"}
			en.Action, en.ResourceType, en.ResourceID = "admin.user.ban", "user", "u1"
		case i < 8:
			en.Actor = audit.Actor{Type: audit.ActorAnon}
			en.Action, en.ResourceType, en.ResourceID = "auth.sign_in_failed", "user", "u2"
			en.Outcome, en.Severity = audit.Denied, audit.Warning
			en.Client = audit.Client{IP: netip.MustParseAddr("192.0.2.7"), UserAgent: "=HYPERLINK(\"x\")"}
		case i < 10:
			en.Actor = audit.Actor{Type: audit.ActorAdmin, ID: "admin-B", Email: "b@example.com"}
			en.Action, en.ResourceType, en.ResourceID = "moderation.report.resolve", "report", "r1"
		default:
			en.Actor = audit.Actor{Type: audit.ActorAdmin, ID: "admin-B", Email: "b@example.com"}
			en.Action, en.ResourceType, en.ResourceID = "admin.user.ban", "user", "u3"
			en.Outcome, en.Severity = audit.Error, audit.Critical
			en.OccurredAt = ago(48 * time.Hour)
		}
	})
}

func list(t *testing.T, e *env, f audit.Filter) []audit.Row {
	t.Helper()
	page, err := audit.List(context.Background(), e.pool, f, "", audit.MaxPageSize, false)
	require.NoError(t, err)
	require.Nil(t, page.NextCursor)
	return page.Entries
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mixed()
	e.seal()
	cases := []struct {
		name string
		f    audit.Filter
		want int
	}{
		{"everything", audit.Filter{}, 11},
		{"actor by id", audit.Filter{Actor: "admin-B"}, 3},
		{"actor by e-mail", audit.Filter{Actor: "a@example.com"}, 5},
		{"actor type", audit.Filter{ActorType: audit.ActorAnon}, 3},
		{"action", audit.Filter{Action: "admin.user.ban"}, 6},
		{"action prefix", audit.Filter{Action: "auth.*"}, 3},
		{"prefix is not a pattern", audit.Filter{Action: "admin_user%*"}, 0},
		{"resource", audit.Filter{ResourceType: "user", ResourceID: "u2"}, 3},
		{"outcome", audit.Filter{Outcome: audit.Denied}, 3},
		{"severity", audit.Filter{Severity: audit.Critical}, 1},
		{"from", audit.Filter{From: ago(time.Hour)}, 10},
		{"to", audit.Filter{To: ago(time.Hour)}, 1},
		{"combined", audit.Filter{Actor: "admin-B", Action: "admin.*"}, 1},
		{"basic logs of admin-A", audit.Filter{BasicFor: "admin-A"}, 7},
		{"basic logs narrowed", audit.Filter{BasicFor: "admin-A", Action: "auth.*"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := list(t, e, c.f)
			require.Len(t, rows, c.want)
		})
	}
	rows := list(t, e, audit.Filter{Action: "auth.*"})
	require.Equal(t, "192.0.2.7", rows[0].IP)
	require.NotNil(t, rows[0].Seq, "sealed entries carry their link")
	require.Len(t, rows[0].Hash, 32)
	require.Greater(t, rows[0].ID, rows[1].ID, "newest first")

	for _, bad := range []audit.Filter{{Outcome: "maybe"}, {Severity: "loud"}, {ActorType: "robot"}, {From: ago(0), To: ago(time.Hour)}} {
		_, err := audit.List(context.Background(), e.pool, bad, "", 10, false)
		require.ErrorIs(t, err, audit.ErrInvalidFilter)
	}
}

func TestListPagesWithACursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.write(25, nil)
	for _, ascending := range []bool{false, true} {
		var got []int64
		cursor := ""
		pages := 0
		for {
			page, err := audit.List(ctx, e.pool, audit.Filter{}, cursor, 10, ascending)
			require.NoError(t, err)
			pages++
			for _, r := range page.Entries {
				got = append(got, r.ID)
			}
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
			if pages == 1 {
				e.write(1, nil) // written meanwhile: neither repeats nor shifts a page
			}
		}
		require.Equal(t, 3, pages)
		ids := e.ids()
		if ascending {
			require.Equal(t, ids, got)
		} else {
			require.Equal(t, 25, len(got))
			for i := 1; i < len(got); i++ {
				require.Less(t, got[i], got[i-1])
			}
		}
	}
	first, err := audit.List(ctx, e.pool, audit.Filter{}, "", 10, false)
	require.NoError(t, err)
	_, err = audit.List(ctx, e.pool, audit.Filter{}, *first.NextCursor, 10, true)
	require.ErrorIs(t, err, audit.ErrInvalidFilter, "a cursor belongs to its order")
	_, err = audit.List(ctx, e.pool, audit.Filter{}, "not-a-cursor", 10, false)
	require.ErrorIs(t, err, audit.ErrInvalidFilter)
}

func TestExportNDJSONHoldsWhatVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mixed()
	e.seal()
	e.write(1, nil) // unsealed
	var buf bytes.Buffer
	flushes := 0
	n, err := audit.Export(context.Background(), e.pool, audit.Filter{}, audit.FormatNDJSON, &buf, func() error { flushes++; return nil })
	require.NoError(t, err)
	require.EqualValues(t, 12, n)
	require.Positive(t, flushes)
	sc := bufio.NewScanner(&buf)
	var rows []audit.Row
	for sc.Scan() {
		var r audit.Row
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		rows = append(rows, r)
	}
	require.Len(t, rows, 12)
	require.Less(t, rows[0].ID, rows[1].ID, "oldest first")
	require.EqualValues(t, 1, *rows[0].Seq)
	require.Nil(t, rows[11].Seq)
	require.JSONEq(t, `{"i":0,"note":"x"}`, string(rows[0].Details))
	require.Equal(t, `=HYPERLINK("x")`, rows[5].UserAgent, "NDJSON is faithful")
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mixed()
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), e.pool, audit.Filter{Outcome: audit.Denied}, audit.FormatCSV, &buf, nil)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	records, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 4)
	require.Equal(t, []string{"id", "occurred_at", "actor_type", "actor_id", "actor_email", "action", "resource_type",
		"resource_id", "outcome", "severity", "ip", "user_agent", "request_id", "session_id", "details", "seq",
		"prev_hash", "hash"}, records[0])
	require.Equal(t, "auth.sign_in_failed", records[1][5])
	require.Equal(t, `'=HYPERLINK("x")`, records[1][11], "a formula is neutralised")
	require.Equal(t, "", records[1][15], "not sealed yet")

	_, err = audit.Export(context.Background(), e.pool, audit.Filter{}, "xml", &buf, nil)
	require.ErrorIs(t, err, audit.ErrInvalidFilter)
}

func TestExportStreamsInChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.pool.Exec(context.Background(), `INSERT INTO goforward.audit_log (occurred_at, actor_type, action, outcome, severity)
SELECT now(), 'system', 'bulk', 'success', 'info' FROM generate_series(1, 2500)`)
	require.NoError(t, err)
	var sizes []int
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), e.pool, audit.Filter{}, audit.FormatNDJSON, &buf, func() error {
		sizes = append(sizes, buf.Len())
		buf.Reset()
		return nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 2500, n)
	require.GreaterOrEqual(t, len(sizes), 3, "written out a chunk at a time")
	for _, s := range sizes[:2] {
		require.Positive(t, s)
	}
}
