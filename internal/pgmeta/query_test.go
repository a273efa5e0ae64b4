package pgmeta_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/pgmeta"
	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/sqlguard"
)

// sql calls POST /pg/query (path carries the query string) with the service-role key.
func (h *harness) sql(t *testing.T, path string, body any) servicetest.Response {
	t.Helper()
	if s, ok := body.(string); ok {
		body = map[string]any{"query": s}
	}
	return h.Do(t, servicetest.Request{Method: "POST", Path: path, Body: body, Key: h.ServiceRoleKey()})
}

// rows runs query and expects 200 with an array of objects.
func (h *harness) rows(t *testing.T, query string) []object {
	t.Helper()
	res := h.sql(t, "/pg/query", query)
	require.Equal(t, 200, res.Status, "%s: %s", query, res.Body)
	var out []object
	res.JSON(t, &out)
	return out
}

// queryAudits are the meta.query entries, oldest first.
func (h *harness) queryAudits(t *testing.T) []auditEntry {
	t.Helper()
	rows, err := h.DB.Pool.Query(t.Context(), `SELECT actor_type, outcome, severity, resource_id, details
FROM goforward.audit_log WHERE action = 'meta.query' ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []auditEntry
	for rows.Next() {
		var e auditEntry
		require.NoError(t, rows.Scan(&e.ActorType, &e.Outcome, &e.Severity, &e.ResourceID, &e.Details))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestQueryAnswers: the rows of the last statement that returned any, typed as
// postgres-meta's node-postgres types them.
func TestQueryAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.people (id int8 PRIMARY KEY, name text, tags text[], doc jsonb);
INSERT INTO public.people VALUES (1, 'Ada', '{math,"with space",NULL}', '{"a": [1, 2]}'), (2, 'Alan', '{}', NULL)`)

	assert.Equal(t, []object{{"id": 1.0, "name": "Ada"}, {"id": 2.0, "name": "Alan"}},
		h.rows(t, "select id, name from people order by id"))

	got := h.rows(t, `select 1::int2 a, 2::int4 b, 9007199254740993::int8 big, 9007199254740991::int8 safe,
1.5::float8 f, 'NaN'::float8 nan, 12.30::numeric n, true t, false ff, null::text z,
'{"x": 1}'::json j, '{1,2,NULL}'::int[] ia, '{1.5,2}'::float8[] fa, '{9007199254740993}'::int8[] ba,
'{"{\"k\": 1}"}'::jsonb[] ja, '{{a,b},{c,"d,e"}}'::text[] nested, '{t,f}'::bool[] bools,
'2024-01-02'::date d, '2024-01-02 03:04:05+00'::timestamptz ts, '1 day'::interval i, '\xdead'::bytea bin,
'00000000-0000-0000-0000-000000000001'::uuid u, '{"(1,2)"}'::point[] pts`)
	require.Len(t, got, 1)
	want := object{
		"a": 1.0, "b": 2.0, "big": "9007199254740993", "safe": 9007199254740991.0,
		"f": 1.5, "nan": nil, "n": "12.30", "t": true, "ff": false, "z": nil,
		"j": object{"x": 1.0}, "ia": []any{1.0, 2.0, nil}, "fa": []any{1.5, 2.0}, "ba": []any{"9007199254740993"},
		"ja": []any{object{"k": 1.0}}, "nested": []any{[]any{"a", "b"}, []any{"c", "d,e"}}, "bools": []any{true, false},
		"d": "2024-01-02", "ts": "2024-01-02 03:04:05+00", "i": "1 day", "bin": `\xdead`,
		"u": "00000000-0000-0000-0000-000000000001", "pts": `{"(1,2)"}`,
	}
	assert.Equal(t, want, got[0])
	assert.Equal(t, object{"tags": []any{"math", "with space", nil}, "doc": object{"a": []any{1.0, 2.0}}},
		h.rows(t, "select tags, doc from people where id = 1")[0])

	// A name several columns share: once, where it first appears, with the last value.
	res := h.sql(t, "/pg/query", "select 1 as a, 2 as b, 3 as a")
	require.Equal(t, 200, res.Status)
	assert.Equal(t, `[{"a":3,"b":2}]`, strings.TrimSpace(string(res.Body)))

	// Several statements: the last result that has rows, as postgres-meta answers.
	assert.Equal(t, []object{{"x": 1.0}}, h.rows(t, "select 1 as x; update people set name = name where false"))
	assert.Equal(t, []object{{"y": 2.0}}, h.rows(t, "select 1 as x; select 2 as y; select 3 as z where false"))
	assert.Equal(t, []object{}, h.rows(t, "update people set name = 'Ada' where id = 1"))
	assert.Equal(t, []object{}, h.rows(t, "-- nothing but a comment"))

	// postgres-meta's parameters, for one statement.
	res = h.sql(t, "/pg/query", map[string]any{"query": "select $1::int + 1 as n, $2::text as s, $3::jsonb as j, $4::text as z",
		"parameters": []any{41, "it's", map[string]any{"k": true}, nil}})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, `[{"n":42,"s":"it's","j":{"k":true},"z":null}]`, strings.TrimSpace(string(res.Body)))
	res = h.sql(t, "/pg/query", map[string]any{"query": "select $1; select 2", "parameters": []any{1}})
	assert.Equal(t, 400, res.Status)

	res = h.sql(t, "/pg/query", map[string]any{"query": "  "})
	assert.Equal(t, 400, res.Status)
	assert.JSONEq(t, `{"error": "query not found", "code": "query_not_found"}`, string(res.Body))
}

// TestQueryAllResults: every statement's result with its command, columns and rows.
func TestQueryAllResults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TYPE public.mood AS ENUM ('ok', 'sad'); CREATE TABLE public.t (id int, m public.mood)`)
	res := h.sql(t, "/pg/query?all_results=true",
		"insert into t values (1, 'ok'), (2, 'sad'); select id, m, id as id from t order by id; select 'x'::text as s where false")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var body struct {
		Results []struct {
			Command      string            `json:"command"`
			RowsAffected int64             `json:"rows_affected"`
			Columns      []json.RawMessage `json:"columns"`
			Rows         [][]any           `json:"rows"`
			Truncated    bool              `json:"truncated"`
		} `json:"results"`
	}
	res.JSON(t, &body)
	require.Len(t, body.Results, 3)
	assert.Equal(t, "INSERT", body.Results[0].Command)
	assert.Equal(t, int64(2), body.Results[0].RowsAffected)
	assert.Empty(t, body.Results[0].Columns)
	assert.Equal(t, "SELECT", body.Results[1].Command)
	require.Len(t, body.Results[1].Columns, 3)
	assert.JSONEq(t, `{"name": "id", "type": "int4", "type_oid": 23}`, string(body.Results[1].Columns[0]))
	var mood struct {
		Name, Type string
	}
	require.NoError(t, json.Unmarshal(body.Results[1].Columns[1], &mood))
	assert.Equal(t, "m", mood.Name)
	assert.Equal(t, "public.mood", mood.Type)
	assert.Equal(t, [][]any{{1.0, "ok", 1.0}, {2.0, "sad", 2.0}}, body.Results[1].Rows)
	assert.Equal(t, [][]any{}, body.Results[2].Rows)
	assert.JSONEq(t, `{"name": "s", "type": "text", "type_oid": 25}`, string(body.Results[2].Columns[0]))
}

// TestQueryErrors: PostgreSQL's refusal in postgres-meta's shape, with psql's rendering and
// a position into the SQL as sent (read_only's own prefix taken off).
func TestQueryErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/pg/query", "/pg/query?read_only=true"} {
		res := h.sql(t, path, "select 1;\nselect * from missing_table")
		require.Equal(t, 400, res.Status, "%s", res.Body)
		var body object
		res.JSON(t, &body)
		want := "ERROR:  42P01: relation \"missing_table\" does not exist\nLINE 2: select * from missing_table\n                      ^\n"
		assert.Equal(t, want, body["error"], path)
		assert.Equal(t, want, body["formattedError"])
		assert.Equal(t, "42P01", body["code"])
		assert.Equal(t, "relation \"missing_table\" does not exist", body["message"])
		assert.Equal(t, "ERROR", body["severity"])
		assert.Equal(t, "25", body["position"])
		assert.Equal(t, "error", body["name"])
	}

	// Refused by the parser before anything runs, answered as PostgreSQL would.
	res := h.sql(t, "/pg/query", "select * form t")
	require.Equal(t, 400, res.Status)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "42601", body["code"])
	assert.Equal(t, "ERROR:  42601: syntax error at or near \"form\"\nLINE 1: select * form t\n                 ^\n", body["error"])

	res = h.sql(t, "/pg/query", "create table t (a int); copy t from stdin")
	assert.Equal(t, 400, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "copy_needs_client_protocol")
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from pg_class where relname = 't' and relnamespace = 'public'::regnamespace"))
}

// TestQueryReadOnly: ?read_only=true holds even for a SELECT whose function writes, and
// transaction control cannot end or lift it.
func TestQueryReadOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.log (msg text);
CREATE FUNCTION public.volatile_fn() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO public.log VALUES ('written'); SELECT 1 $$`)

	res := h.sql(t, "/pg/query?read_only=true", "SELECT volatile_fn()")
	require.Equal(t, 400, res.Status, "%s", res.Body)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "25006", body["code"])
	assert.Contains(t, body["message"], "read-only transaction")
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from log"))

	for _, sql := range []string{
		"COMMIT; SELECT volatile_fn()",
		"SET TRANSACTION READ WRITE; SELECT volatile_fn()",
		"SET transaction_read_only = off; SELECT volatile_fn()",
		"ROLLBACK; SELECT volatile_fn()",
		"BEGIN; SELECT volatile_fn(); COMMIT",
	} {
		res := h.sql(t, "/pg/query?read_only=true", sql)
		assert.Equal(t, 400, res.Status, "%s: %s", sql, res.Body)
		assert.Contains(t, string(res.Body), "transaction_control_in_read_only", sql)
	}
	// set_config in a SELECT comes after the transaction's snapshot: the server refuses it.
	res = h.sql(t, "/pg/query?read_only=true", "SELECT set_config('transaction_read_only', 'off', false); SELECT volatile_fn()")
	assert.Equal(t, 400, res.Status, "%s", res.Body)
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from log"))

	// Reads work, and without the flag the function writes.
	assert.Equal(t, []object{{"x": 1.0}}, h.rows(t, "select 1 as x"))
	res = h.sql(t, "/pg/query?read_only=true", "select 1 as x")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, []object{{"volatile_fn": 1.0}}, h.rows(t, "SELECT volatile_fn()"))
	assert.Equal(t, []object{{"n": 1.0}}, h.rows(t, "select count(*)::int n from log"))
}

// TestQueryConfirm: dangerous statements run only when confirm names each of their classes;
// otherwise 409 with the classification and warnings, and nothing runs.
func TestQueryConfirm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.keep (id int); INSERT INTO public.keep VALUES (1), (2)`)
	count := func() float64 { return h.rows(t, "select count(*)::int n from keep")[0]["n"].(float64) }

	sql := "delete from keep; drop table keep"
	res := h.sql(t, "/pg/query", sql)
	require.Equal(t, 409, res.Status, "%s", res.Body)
	var body struct {
		Error       string   `json:"error"`
		Code        string   `json:"code"`
		Unconfirmed []string `json:"unconfirmed"`
		Statements  []struct {
			SQL      string   `json:"sql"`
			Kind     string   `json:"kind"`
			Classes  []string `json:"classes"`
			Warnings []string `json:"warnings"`
		} `json:"statements"`
	}
	res.JSON(t, &body)
	assert.Equal(t, "confirmation_required", body.Code)
	assert.Equal(t, []string{"delete_without_where", "drop"}, body.Unconfirmed)
	assert.Contains(t, body.Error, `"confirm": ["delete_without_where", "drop"]`)
	require.Len(t, body.Statements, 2)
	assert.Equal(t, "write", body.Statements[0].Kind)
	assert.Equal(t, []string{"delete_without_where"}, body.Statements[0].Classes)
	assert.NotEmpty(t, body.Statements[0].Warnings)
	assert.Equal(t, "ddl", body.Statements[1].Kind)
	assert.Equal(t, float64(2), count())

	// Half confirmed is not confirmed.
	res = h.sql(t, "/pg/query", map[string]any{"query": sql, "confirm": []string{"drop"}})
	require.Equal(t, 409, res.Status)
	res.JSON(t, &body)
	assert.Equal(t, []string{"delete_without_where"}, body.Unconfirmed)
	assert.Equal(t, float64(2), count())

	res = h.sql(t, "/pg/query", map[string]any{"query": "delete from keep", "confirm": []string{"delete_without_where"}})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, float64(0), count())
	res = h.sql(t, "/pg/query", map[string]any{"query": "drop table keep", "confirm": []string{"drop", "truncate"}})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	res = h.sql(t, "/pg/query", "select * from keep")
	assert.Equal(t, 400, res.Status)
}

// TestQueryLimits: the row limit cuts every result and says so; the statement timeout and
// the request's deadline stop long statements, and the connection is usable afterwards.
func TestQueryLimits(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, pgmeta.Config{SQL: pgmeta.SQLConfig{
		MaxRows: 5, StatementTimeout: 300 * time.Millisecond, RequestTimeout: 2 * time.Second, MaxConns: 1,
	}})

	res := h.sql(t, "/pg/query", "select g from generate_series(1, 20) g")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, "true", res.Header.Get(pgmeta.TruncatedHeader))
	var rows []object
	res.JSON(t, &rows)
	assert.Equal(t, []object{{"g": 1.0}, {"g": 2.0}, {"g": 3.0}, {"g": 4.0}, {"g": 5.0}}, rows)
	res = h.sql(t, "/pg/query", "select g from generate_series(1, 5) g")
	assert.Empty(t, res.Header.Get(pgmeta.TruncatedHeader))

	res = h.sql(t, "/pg/query?all_results=true", "select g from generate_series(1, 20) g; select 1 as one")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var all struct {
		Results []struct {
			Rows      [][]any `json:"rows"`
			Truncated bool    `json:"truncated"`
		} `json:"results"`
	}
	res.JSON(t, &all)
	require.Len(t, all.Results, 2)
	assert.Len(t, all.Results[0].Rows, 5)
	assert.True(t, all.Results[0].Truncated)
	assert.False(t, all.Results[1].Truncated)
	last := h.queryAudits(t)
	assert.Equal(t, float64(21), last[len(last)-1].Details["rows"])
	assert.Equal(t, true, last[len(last)-1].Details["truncated"])

	// statement_timeout: PostgreSQL cancels the statement.
	res = h.sql(t, "/pg/query", "select pg_sleep(5)")
	require.Equal(t, 400, res.Status, "%s", res.Body)
	var body object
	res.JSON(t, &body)
	assert.Equal(t, "57014", body["code"])
	assert.Equal(t, "canceling statement due to statement timeout", body["message"])

	// SQL that lifts statement_timeout still ends at the request's deadline.
	res = h.sql(t, "/pg/query", "set statement_timeout = 0; select pg_sleep(30)")
	require.Equal(t, 408, res.Status, "%s", res.Body)
	assert.JSONEq(t, `{"error": "Query read timeout", "code": "query_timeout"}`, string(res.Body))
	entries := h.queryAudits(t)
	timedOut := entries[len(entries)-1]
	assert.Equal(t, "error", timedOut.Outcome)
	assert.Equal(t, "query_timeout", timedOut.Details["reason"])
	// The sleeping backend is gone, and the one connection the runner may hold serves again,
	// with the configured timeout back.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, h.DB.Pool.QueryRow(t.Context(),
			"select count(*) from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()").Scan(&n))
		return n == 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []object{{"statement_timeout": "300ms"}}, h.rows(t, "show statement_timeout"))
}

// TestQuerySessionReset: nothing a request leaves in its session (role, settings, prepared
// statements, temporary tables, cursors, advisory locks, an open transaction) meets the
// next one, which runs on the same connection here (the runner holds one).
func TestQuerySessionReset(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, pgmeta.Config{SQL: pgmeta.SQLConfig{MaxConns: 1}})
	owner := h.rows(t, "select current_user as u")[0]["u"]
	pid := h.rows(t, "select pg_backend_pid() as pid")[0]["pid"]

	res := h.sql(t, "/pg/query", map[string]any{"query": `set role anon; set search_path = nowhere; prepare p as select 1;
create temp table scratch (a int); select pg_advisory_lock(42); declare c cursor with hold for select 1; listen somewhere`,
		"confirm": []string{"set_role"}})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, pid, h.rows(t, "select pg_backend_pid() as pid")[0]["pid"], "the connection is reused")
	assert.Equal(t, []object{{"u": owner, "p": "\"$user\", public"}}, h.rows(t, "select current_user as u, current_setting('search_path') as p"))
	for _, sql := range []string{"execute p", "select * from scratch", "fetch c"} {
		assert.Equal(t, 400, h.sql(t, "/pg/query", sql).Status, sql)
	}
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from pg_locks where locktype = 'advisory'"))
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from pg_listening_channels()"))

	// A transaction left open is rolled back, not committed by the next request.
	h.exec(t, "CREATE TABLE public.pending (a int)")
	res = h.sql(t, "/pg/query", "begin; insert into pending values (1)")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, []object{{"n": 0.0}}, h.rows(t, "select count(*)::int n from pending"))
	assert.Equal(t, pid, h.rows(t, "select pg_backend_pid() as pid")[0]["pid"])
}

// TestQueryAudit: every request is audited, run or refused, with its fingerprints,
// classification, duration and outcome, never the SQL or its values.
func TestQueryAudit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, "CREATE TABLE public.secrets (v text)")
	const secret = "hunter2-very-secret"
	h.sql(t, "/pg/query", "insert into secrets values ('"+secret+"')")
	h.sql(t, "/pg/query", "select * from secrets where v = '"+secret+"'")
	h.sql(t, "/pg/query", "delete from secrets")
	h.sql(t, "/pg/query", map[string]any{"query": "delete from secrets", "confirm": []string{"delete_without_where"}})
	h.sql(t, "/pg/query", "select * from nowhere where v = '"+secret+"'")
	h.sql(t, "/pg/query", "select '"+secret+"' form t")
	regular := h.adminToken(t, access.RegularAdmin)
	h.Do(t, servicetest.Request{Method: "POST", Path: "/pg/query", Key: "-", Token: regular,
		Body: map[string]any{"query": "select '" + secret + "'"}})

	entries := h.queryAudits(t)
	require.Len(t, entries, 7)
	for _, e := range entries {
		raw, err := json.Marshal(e)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), secret)
		assert.NotContains(t, string(raw), "secrets where")
	}
	ins, sel, refused, deleted, failed, syntax, denied := entries[0], entries[1], entries[2], entries[3], entries[4], entries[5], entries[6]
	assert.Equal(t, "service_role", ins.ActorType)
	assert.Equal(t, "success", ins.Outcome)
	assert.Equal(t, "info", ins.Severity)
	assert.Equal(t, []any{"write"}, ins.Details["kinds"])
	assert.NotEmpty(t, ins.ResourceID)
	stmts := ins.Details["statements"].([]any)
	require.Len(t, stmts, 1)
	assert.Equal(t, ins.ResourceID, stmts[0].(map[string]any)["fingerprint"])
	assert.Contains(t, ins.Details, "duration_ms")

	// The fingerprint is the statement's whatever its constants.
	other := h.sql(t, "/pg/query", "select * from secrets where v = 'something else'")
	require.Equal(t, 200, other.Status)
	assert.Equal(t, sel.ResourceID, h.queryAudits(t)[7].ResourceID)
	assert.Equal(t, []any{"read"}, sel.Details["kinds"])
	assert.Equal(t, float64(1), sel.Details["rows"])

	assert.Equal(t, "denied", refused.Outcome)
	assert.Equal(t, "confirmation_required", refused.Details["reason"])
	assert.Equal(t, []any{"delete_without_where"}, refused.Details["classes"])
	assert.NotContains(t, refused.Details, "duration_ms")

	assert.Equal(t, "success", deleted.Outcome)
	assert.Equal(t, "critical", deleted.Severity)
	assert.Equal(t, []any{"delete_without_where"}, deleted.Details["confirmed"])

	assert.Equal(t, "error", failed.Outcome)
	assert.Equal(t, "42P01", failed.Details["error_code"])
	assert.Equal(t, "error", syntax.Outcome)
	assert.Equal(t, "syntax_error", syntax.Details["reason"])

	assert.Equal(t, "admin", denied.ActorType)
	assert.Equal(t, "denied", denied.Outcome)
	assert.Equal(t, "insufficient_capability", denied.Details["reason"])
	assert.NotEmpty(t, denied.ResourceID)
}

// TestQueryAuthorization: only can_access_sql runs SQL (system admins, the service-role
// key); reading SQL (analyze, format, parse) is open to every admin.
func TestQueryAuthorization(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name       string
		key, token string
		run, read  int
	}{
		{"no credentials", "-", "-", 401, 401},
		{"anon key", h.AnonKey(), "", 403, 403},
		{"moderator", "-", h.adminToken(t, access.Moderator), 403, 200},
		{"regular admin", "-", h.adminToken(t, access.RegularAdmin), 403, 200},
		{"super admin", "-", h.adminToken(t, access.SuperAdmin), 403, 200},
		{"system admin", "-", h.adminToken(t, access.SystemAdmin), 200, 200},
		{"service-role key", h.ServiceRoleKey(), "", 200, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Do(t, servicetest.Request{Method: "POST", Path: "/pg/query", Key: tc.key, Token: tc.token, Body: map[string]any{"query": "select 1 as one"}})
			assert.Equal(t, tc.run, res.Status, "%s", res.Body)
			if tc.run == 403 && tc.key == "-" {
				assert.Contains(t, string(res.Body), "can_access_sql")
			}
			for _, path := range []string{"/pg/query/analyze", "/pg/query/format", "/pg/query/parse"} {
				res := h.Do(t, servicetest.Request{Method: "POST", Path: path, Key: tc.key, Token: tc.token, Body: map[string]any{"query": "select 1"}})
				assert.Equal(t, tc.read, res.Status, "%s: %s", path, res.Body)
			}
		})
	}
	var denied int
	require.NoError(t, h.DB.Pool.QueryRow(t.Context(),
		"select count(*) from goforward.audit_log where action = 'meta.query' and outcome = 'denied' and actor_type = 'admin'").Scan(&denied))
	assert.Equal(t, 3, denied)
}

// TestQueryAnalyzeFormatParse: the routes that read SQL without running it.
func TestQueryAnalyzeFormatParse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.sql(t, "/pg/query/analyze", "select 1; drop table t;\n-- a comment\ntruncate u")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var analysis struct {
		Statements []struct {
			Kind    string   `json:"kind"`
			Classes []string `json:"classes"`
			Line    int      `json:"line"`
		} `json:"statements"`
		Classes              []string `json:"classes"`
		Warnings             []string `json:"warnings"`
		RequiresConfirmation bool     `json:"requires_confirmation"`
	}
	res.JSON(t, &analysis)
	require.Len(t, analysis.Statements, 3)
	assert.Equal(t, "read", analysis.Statements[0].Kind)
	assert.Equal(t, []string{"drop"}, analysis.Statements[1].Classes)
	assert.Equal(t, 2, analysis.Statements[2].Line, "the statement starts at its comment")
	assert.Equal(t, []string{"drop", "truncate"}, analysis.Classes)
	assert.Len(t, analysis.Warnings, 2, "%v", analysis.Warnings)
	assert.True(t, analysis.RequiresConfirmation)
	assert.Empty(t, h.queryAudits(t), "analysis runs nothing")

	// The catalog decides volatility: a SELECT calling a volatile function is a write.
	h.exec(t, "CREATE FUNCTION public.bump() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 1'")
	res = h.sql(t, "/pg/query/analyze", "select bump()")
	res.JSON(t, &analysis)
	assert.Equal(t, "write", analysis.Statements[0].Kind)
	assert.False(t, analysis.RequiresConfirmation)

	res = h.sql(t, "/pg/query/format", "select a, b from t where a = 1 and b = 2")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "select\n  a,\n  b\nfrom\n  t\nwhere\n  a = 1\n  and b = 2\n", string(res.Body))

	res = h.sql(t, "/pg/query/parse", "select 1")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var tree struct {
		Version int               `json:"version"`
		Stmts   []json.RawMessage `json:"stmts"`
	}
	res.JSON(t, &tree)
	assert.Len(t, tree.Stmts, 1)
	assert.Positive(t, tree.Version)

	res = h.sql(t, "/pg/query/parse", "select * form t")
	assert.Equal(t, 400, res.Status)
	assert.JSONEq(t, `{"error": "syntax error at or near \"form\""}`, string(res.Body))
}

// TestQueryAuditConcurrent: concurrent requests share audit batches, and each one's entry is
// committed, once, before its answer.
func TestQueryAuditConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, pgmeta.Config{SQL: pgmeta.SQLConfig{MaxConns: 8}})
	const n = 48
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A column's name changes the fingerprint; a constant or an alias would not.
			sql := fmt.Sprintf("select c%d from (values (1)) v (c%d)", i, i)
			stmts, err := sqlguard.Analyze(sql)
			if !assert.NoError(t, err) {
				return
			}
			res := h.sql(t, "/pg/query", sql)
			assert.Equal(t, 200, res.Status, "%s", res.Body)
			var found int
			assert.NoError(t, h.DB.Pool.QueryRow(t.Context(),
				`SELECT count(*) FROM goforward.audit_log WHERE action = 'meta.query' AND resource_id = $1`, stmts[0].Fingerprint).Scan(&found))
			assert.Equal(t, 1, found, "the entry of %q is there when its answer is", sql)
		}()
	}
	wg.Wait()
	entries := h.queryAudits(t)
	require.Len(t, entries, n)
	seen := map[string]bool{}
	for _, e := range entries {
		assert.Equal(t, "success", e.Outcome)
		seen[e.ResourceID] = true
	}
	assert.Len(t, seen, n, "one entry per request")
}

// TestQueryDefaults: without settings, a statement may run 30 seconds and a result answers
// at most 10,000 rows, saying when there were more.
func TestQueryDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	assert.Equal(t, []object{{"statement_timeout": "30s"}}, h.rows(t, "show statement_timeout"))

	res := h.sql(t, "/pg/query", "select g from generate_series(1, 10001) g")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Equal(t, "true", res.Header.Get(pgmeta.TruncatedHeader))
	var rows []object
	res.JSON(t, &rows)
	require.Equal(t, 10000, len(rows), "rows answered")
	assert.Equal(t, object{"g": 10000.0}, rows[len(rows)-1])

	res = h.sql(t, "/pg/query", "select g from generate_series(1, 10000) g")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.Empty(t, res.Header.Get(pgmeta.TruncatedHeader))
}

// TestQueryFreesConnectionBeforeAudit: a request waiting for its audit entry to commit does
// not hold the runner's connection, so the next request's SQL runs meanwhile; neither answers
// before its entry is in the log.
func TestQueryFreesConnectionBeforeAudit(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, pgmeta.Config{SQL: pgmeta.SQLConfig{MaxConns: 1}})
	h.exec(t, `CREATE TABLE public.marks (n int)`)
	ctx := t.Context()

	// Entries cannot commit while this transaction holds the log.
	lock, err := h.DB.Pool.Begin(ctx)
	require.NoError(t, err)
	defer lock.Rollback(ctx) //nolint:errcheck
	_, err = lock.Exec(ctx, `LOCK TABLE goforward.audit_log IN SHARE MODE`)
	require.NoError(t, err)

	answered := make(chan servicetest.Response, 2)
	for _, n := range []int{1, 2} {
		go func() { answered <- h.sql(t, "/pg/query", fmt.Sprintf("insert into marks values (%d)", n)) }()
	}
	require.Eventually(t, func() bool {
		var count int
		require.NoError(t, h.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM public.marks`).Scan(&count))
		return count == 2
	}, 30*time.Second, 20*time.Millisecond, "both inserts ran on the one runner connection while the first waited for its entry")
	select {
	case res := <-answered:
		t.Fatalf("answered before its audit entry committed: %d %s", res.Status, res.Body)
	default:
	}

	require.NoError(t, lock.Rollback(ctx))
	for range 2 {
		res := <-answered
		assert.Equal(t, 200, res.Status, "%s", res.Body)
	}
	assert.Len(t, h.queryAudits(t), 2)
}
