package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/admin"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/servicetest"
)

// auditEnv is the admin service behind the real gateway, with a data directory for the
// audit log's files. (Names here start with audit so that they stay apart from the other
// admin tests' helpers.)
type auditEnv struct {
	*servicetest.Env
	dir      string
	sessions *access.Sessions
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	e := &auditEnv{dir: audit.Dir(t.TempDir()), sessions: access.NewSessions(access.SessionConfig{IdleTimeout: time.Hour, MaxAge: time.Hour}, nil)}
	e.Env = servicetest.New(t, func(env *servicetest.Env) []gateway.Service {
		svc := admin.New(admin.Config{Environment: "development"}, admin.Deps{Pool: env.DB.Pool, Sessions: e.sessions,
			Keys: env.Keys, Logger: env.Logger, AuditDir: e.dir})
		return []gateway.Service{{Name: "admin", Prefix: admin.Prefix, Mount: svc.Mount, Open: admin.OpenPaths}}
	})
	return e
}

// auditAdmin creates an admin of level and opens a session for it: its user id and token.
func (e *auditEnv) auditAdmin(t *testing.T, level access.Level) (string, string) {
	t.Helper()
	ctx := context.Background()
	var id string
	email := fmt.Sprintf("%s-%d@example.com", level, time.Now().UnixNano())
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `INSERT INTO auth.users (email, created_at, updated_at) VALUES ($1, now(), now()) RETURNING id`, email).Scan(&id))
	_, err := e.DB.Pool.Exec(ctx, `INSERT INTO goforward.admins (user_id, level, granted_via, granted_at, updated_at) VALUES ($1, $2, 'cli', now(), now())`, id, string(level))
	require.NoError(t, err)
	s, err := e.sessions.Create(ctx, e.DB.Pool, access.NewSession{UserID: id, Kind: access.KindAdmin, Level: level, Capabilities: access.For(level, nil, nil)})
	require.NoError(t, err)
	return id, s.Token
}

func (e *auditEnv) record(t *testing.T, en audit.Entry) {
	t.Helper()
	require.NoError(t, audit.Record(context.Background(), e.DB.Pool, en))
}

func (e *auditEnv) get(t *testing.T, token, path string) servicetest.Response {
	t.Helper()
	return e.Do(t, servicetest.Request{Method: "GET", Path: admin.Prefix + path, Key: "-", Token: token})
}

func (e *auditEnv) page(t *testing.T, token, path string) audit.Page {
	t.Helper()
	res := e.get(t, token, path)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var p audit.Page
	res.JSON(t, &p)
	return p
}

func actions(p audit.Page) []string {
	out := []string{}
	for _, r := range p.Entries {
		out = append(out, r.Action+"/"+r.ActorID)
	}
	return out
}

func requireAdminError(t *testing.T, res servicetest.Response, status int, code string) {
	t.Helper()
	require.Equal(t, status, res.Status, "%s", res.Body)
	var body map[string]any
	res.JSON(t, &body)
	require.Equal(t, code, body["error_code"], "%s", res.Body)
	require.EqualValues(t, status, body["code"])
}

func TestAuditListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t)
	for i := range 7 {
		e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: "a1"}, Action: "admin.user.ban", ResourceType: "user", ResourceID: fmt.Sprint(i)})
	}
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAnon}, Action: "auth.sign_in_failed", Outcome: audit.Denied, Severity: audit.Warning})
	key := e.ServiceRoleKey()

	all := e.page(t, key, "/audit")
	require.Len(t, all.Entries, 8)
	require.Equal(t, "auth.sign_in_failed", all.Entries[0].Action, "newest first")
	require.Nil(t, all.NextCursor)

	require.Equal(t, []string{"auth.sign_in_failed/"}, actions(e.page(t, key, "/audit?outcome=denied&severity=warning")))
	require.Len(t, e.page(t, key, "/audit?action=admin.*&actor=a1&resource_type=user").Entries, 7)
	require.Len(t, e.page(t, key, "/audit?resource_type=user&resource_id=3").Entries, 1)
	require.Len(t, e.page(t, key, "/audit?from="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))+"&to="+
		url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))).Entries, 8)
	require.Empty(t, e.page(t, key, "/audit?to="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))).Entries)

	// Pages of three, oldest first, continue where the last ended.
	var seen []int64
	path := "/audit?order=asc&limit=3"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		p := e.page(t, key, path)
		for _, r := range p.Entries {
			seen = append(seen, r.ID)
		}
		if p.NextCursor == nil {
			break
		}
		path = "/audit?order=asc&limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	require.Len(t, seen, 8)
	for i := 1; i < len(seen); i++ {
		require.Greater(t, seen[i], seen[i-1])
	}

	for _, bad := range []string{"?outcome=maybe", "?severity=loud", "?actor_type=robot", "?limit=0", "?limit=1001",
		"?order=sideways", "?from=yesterday", "?cursor=zzz", "?actr=a1"} {
		requireAdminError(t, e.get(t, key, "/audit"+bad), http.StatusBadRequest, admin.CodeValidationFailed)
	}
	requireAdminError(t, e.get(t, "-", "/audit"), http.StatusUnauthorized, admin.CodeNoAuthorization)
	requireAdminError(t, e.get(t, e.AnonKey(), "/audit"), http.StatusForbidden, admin.CodeNotAdmin)
}

// TestModeratorsSeeBasicLogsOnly: moderators and regular admins see their own actions and
// content moderation; super and system admins see everything.
func TestModeratorsSeeBasicLogsOnly(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t)
	modID, modToken := e.auditAdmin(t, access.Moderator)
	regID, regToken := e.auditAdmin(t, access.RegularAdmin)
	_, superToken := e.auditAdmin(t, access.SuperAdmin)
	_, systemToken := e.auditAdmin(t, access.SystemAdmin)
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: modID}, Action: "admin.session.create"})
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: regID}, Action: "admin.user.ban"})
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAdmin, ID: regID}, Action: "moderation.report.resolve"})
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorServiceRole}, Action: "admin.admin.grant"})
	e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorAnon}, Action: "auth.sign_in_failed"})

	require.ElementsMatch(t, []string{"admin.session.create/" + modID, "moderation.report.resolve/" + regID},
		actions(e.page(t, modToken, "/audit")))
	require.ElementsMatch(t, []string{"admin.user.ban/" + regID, "moderation.report.resolve/" + regID},
		actions(e.page(t, regToken, "/audit")))
	require.Empty(t, e.page(t, modToken, "/audit?actor="+regID+"&action=admin.*").Entries, "a filter cannot widen the view")
	for _, token := range []string{superToken, systemToken, e.ServiceRoleKey()} {
		require.Len(t, e.page(t, token, "/audit").Entries, 5)
	}

	// The export is limited the same way; it holds its own record, the moderator's action.
	res := e.get(t, modToken, "/audit/export")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, 3, bytes.Count(res.Body, []byte("\n")))
	require.Contains(t, string(res.Body), `"action":"audit.exported"`)

	// Verifying the whole chain is for those who see all logs; a refusal is itself audited.
	requireAdminError(t, e.get(t, modToken, "/audit/verify"), http.StatusForbidden, admin.CodeInsufficientCapability)
	requireAdminError(t, e.get(t, regToken, "/audit/verify"), http.StatusForbidden, admin.CodeInsufficientCapability)
	require.Equal(t, http.StatusOK, e.get(t, superToken, "/audit/verify").Status)
	var denied int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM goforward.audit_log
WHERE action = 'admin.access_denied' AND resource_id = 'GET /admin/v1/audit/verify'`).Scan(&denied))
	require.Equal(t, 2, denied)
}

func TestAuditExportStreamsEveryEntry(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t)
	_, err := e.DB.Pool.Exec(context.Background(), `INSERT INTO goforward.audit_log (occurred_at, actor_type, action, outcome, severity, user_agent, details)
SELECT now(), 'system', 'bulk.' || (i % 2), 'success', 'info', '=cmd', jsonb_build_object('i', i) FROM generate_series(1, 2345) i`)
	require.NoError(t, err)
	key := e.ServiceRoleKey()

	res := e.get(t, key, "/audit/export?format=ndjson")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, "application/x-ndjson", res.Header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="goforward-audit-\d{8}T\d{6}Z\.ndjson"$`, res.Header.Get("Content-Disposition"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	sc := bufio.NewScanner(bytes.NewReader(res.Body))
	var rows []audit.Row
	for sc.Scan() {
		var r audit.Row
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		rows = append(rows, r)
	}
	require.Len(t, rows, 2345+1, "every entry, and the export's own record last")
	require.JSONEq(t, `{"i":2345}`, string(rows[2344].Details))
	require.Equal(t, "audit.exported", rows[2345].Action)

	res = e.get(t, key, "/audit/export?format=csv&action=bulk.1")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	records, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 1+1173)
	require.Equal(t, "'=cmd", records[1][11])

	requireAdminError(t, e.get(t, key, "/audit/export?format=xml"), http.StatusBadRequest, admin.CodeValidationFailed)
	requireAdminError(t, e.get(t, key, "/audit/export?limit=5"), http.StatusBadRequest, admin.CodeValidationFailed)

	// Every export is on record: who took what.
	p := e.page(t, key, "/audit?action=audit.exported")
	require.Len(t, p.Entries, 2)
	require.Equal(t, audit.ActorServiceRole, p.Entries[0].ActorType)
	require.JSONEq(t, `{"format":"csv","filter":"action=bulk.1&format=csv"}`, string(p.Entries[0].Details))
}

func TestAuditVerifyRoute(t *testing.T) {
	t.Parallel()
	e := newAuditEnv(t)
	for i := range 5 {
		e.record(t, audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "test", ResourceID: fmt.Sprint(i)})
	}
	sealer := audit.NewSealer(e.DB.Pool, audit.SealerConfig{Dir: e.dir})
	n, err := sealer.Seal(context.Background())
	require.NoError(t, err)
	require.Equal(t, 5, n)
	key := e.ServiceRoleKey()

	var r audit.Report
	res := e.get(t, key, "/audit/verify")
	require.Equal(t, http.StatusOK, res.Status)
	res.JSON(t, &r)
	require.True(t, r.OK)
	require.EqualValues(t, 5, r.Checked)
	require.NotNil(t, r.Anchor, "the route reads the head recorded in the data directory")
	var raw map[string]any
	res.JSON(t, &raw)
	require.Contains(t, raw, "first_broken")
	require.Nil(t, raw["first_broken"])

	var third int64
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), `SELECT id FROM goforward.audit_log ORDER BY id OFFSET 2 LIMIT 1`).Scan(&third))
	tx, err := e.DB.Pool.Begin(context.Background())
	require.NoError(t, err)
	_, err = tx.Exec(context.Background(), `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(context.Background(), `UPDATE goforward.audit_log SET resource_id = 'changed' WHERE id = $1`, third)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(context.Background()))

	res = e.get(t, key, "/audit/verify")
	require.Equal(t, http.StatusOK, res.Status)
	res.JSON(t, &r)
	require.False(t, r.OK)
	require.Equal(t, audit.ProblemEdited, r.FirstBroken.Problem)
	require.Equal(t, third, r.FirstBroken.EntryID)
	require.EqualValues(t, 2, r.Checked)
}
