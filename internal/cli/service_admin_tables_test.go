package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/servicetest"
)

// tablesFixture: posts, hidden from every API role by row-level security without policies,
// and payroll, which regular admins are not assigned.
const tablesFixture = `
CREATE TABLE public.payroll (id int PRIMARY KEY, salary int NOT NULL);
CREATE TABLE public.posts (id int PRIMARY KEY, title text NOT NULL UNIQUE, payroll_id int REFERENCES public.payroll (id),
	edited_by uuid DEFAULT auth.uid());
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.payroll ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.posts, public.payroll TO anon, authenticated, service_role;
INSERT INTO public.payroll VALUES (1, 5000);
INSERT INTO public.posts (id, title) VALUES (1, 'first'), (2, 'second');
CREATE FUNCTION public.salaries() RETURNS SETOF public.payroll LANGUAGE sql STABLE AS 'SELECT * FROM public.payroll';
`

func newTablesEnv(t *testing.T) *adminEnv {
	t.Helper()
	e := newAdminEnv(t, adminEnvOptions{config: func(c *config.Config) {
		c.Services = []string{"auth", "rest", "admin"}
	}})
	_, err := e.DB.Pool.Exec(context.Background(), tablesFixture)
	require.NoError(t, err)
	return e
}

// adminWith creates an admin of level assigned tables and signs it in.
func (e *adminEnv) adminWith(t *testing.T, email, level string, tables ...string) (id, token string) {
	t.Helper()
	id = e.newAdmin(t, email, level)
	if tables == nil {
		tables = []string{}
	}
	_, err := e.DB.Pool.Exec(context.Background(), "UPDATE goforward.admins SET assigned_tables = $2 WHERE user_id = $1", id, tables)
	require.NoError(t, err)
	return id, e.session(t, email)
}

// table calls /admin/v1/rest/v1 with token.
func (e *adminEnv) table(t *testing.T, token, method, path string, body any, header http.Header) servicetest.Response {
	t.Helper()
	return e.do(t, servicetest.Request{Method: method, Path: adminTablesPrefix + path, Token: token, Body: body, Header: header})
}

// TestAdminTableData: a regular admin assigned public.posts reads and edits posts past its
// row-level security, as service_role, and is refused public.payroll (directly, embedded
// and through a function); every write is in the audit log, and so is every refusal.
func TestAdminTableData(t *testing.T) {
	t.Parallel()
	e := newTablesEnv(t)
	id, token := e.adminWith(t, "editor@example.com", "regular_admin", "public.posts")
	rep := http.Header{"Prefer": {"return=representation"}}

	// Through /rest/v1 nobody sees a post: RLS has no policy for the API roles.
	user := e.userSession(t, "editor@example.com")
	res := e.Do(t, servicetest.Request{Method: "GET", Path: "/rest/v1/posts", Token: user})
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[]`, string(res.Body))

	res = e.table(t, token, "GET", "/posts?select=id,title&order=id", nil, nil)
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":1,"title":"first"},{"id":2,"title":"second"}]`, string(res.Body))

	res = e.table(t, token, "PATCH", "/posts?id=eq.1&select=title,edited_by", map[string]any{"title": "edited"}, rep)
	require.Equal(t, 200, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"title":"edited","edited_by":null}]`, string(res.Body))
	res = e.table(t, token, "POST", "/posts?select=id,edited_by", map[string]any{"id": 3, "title": "third"}, rep)
	require.Equal(t, 201, res.Status, "%s", res.Body)
	assert.JSONEq(t, `[{"id":3,"edited_by":"`+id+`"}]`, string(res.Body), "auth.uid() is the admin")
	res = e.table(t, token, "DELETE", "/posts?id=eq.2", nil, nil)
	require.Equal(t, 204, res.Status, "%s", res.Body)
	res = e.table(t, token, "POST", "/posts", map[string]any{"id": 4}, nil)
	require.Equal(t, 400, res.Status, "no title: %s", res.Body)
	res = e.table(t, token, "POST", "/posts", map[string]any{"id": 4, "title": "edited"}, nil)
	require.Equal(t, 409, res.Status, "a duplicate title: %s", res.Body)
	var titles []string
	rows, err := e.DB.Pool.Query(context.Background(), "SELECT title FROM public.posts ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		titles = append(titles, s)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"edited", "third"}, titles)

	for _, c := range []struct{ method, path string }{
		{"GET", "/payroll"},
		{"PATCH", "/payroll?id=eq.1"},
		{"GET", "/posts?select=title,payroll(salary)"},
		{"POST", "/rpc/salaries"},
		{"GET", "/rpc/salaries"},
	} {
		var body any
		if c.method != "GET" {
			body = map[string]any{"salary": 1}
		}
		res := e.table(t, token, c.method, c.path, body, nil)
		require.Equal(t, 403, res.Status, "%s %s: %s", c.method, c.path, res.Body)
		assert.Contains(t, string(res.Body), `"code":"42501"`)
	}
	var salary int
	require.NoError(t, e.DB.Pool.QueryRow(context.Background(), "SELECT salary FROM public.payroll").Scan(&salary))
	assert.Equal(t, 5000, salary)

	// Every write, and every refusal, is in the audit log.
	updates, inserts, deletes := e.audits(t, "admin.table_data.update"), e.audits(t, "admin.table_data.insert"), e.audits(t, "admin.table_data.delete")
	require.Len(t, updates, 1)
	require.Len(t, deletes, 1)
	require.Len(t, inserts, 3, "the insert, and the two that failed")
	for _, a := range append(append(updates, inserts...), deletes...) {
		assert.Equal(t, "admin", a.ActorType)
		assert.Equal(t, id, a.ActorID)
		assert.Equal(t, "editor@example.com", a.ActorEmail)
		assert.Equal(t, "public.posts", a.ResourceID)
	}
	assert.Equal(t, "success", updates[0].Outcome)
	assert.Equal(t, "id=eq.1&select=title,edited_by", updates[0].Details["query"])
	assert.Equal(t, []any{"title"}, updates[0].Details["columns"])
	assert.Equal(t, float64(1), updates[0].Details["rows"])
	assert.NotContains(t, updates[0].Details, "edited", "values are not recorded")
	assert.Equal(t, "success", inserts[0].Outcome)
	assert.Equal(t, []string{"error", "error"}, []string{inserts[1].Outcome, inserts[2].Outcome})
	assert.Equal(t, "23505", inserts[2].Details["error_code"])
	assert.Equal(t, float64(1), deletes[0].Details["rows"])
	denied := e.audits(t, "admin.table_data.access_denied")
	require.Len(t, denied, 5)
	assert.Equal(t, "public.payroll", denied[0].ResourceID)
	assert.Equal(t, "/admin/v1/rest/v1/payroll", denied[0].Details["path"])
	assert.Equal(t, "denied", denied[0].Outcome)
	assert.Equal(t, "public.salaries", denied[3].ResourceID)
}

// TestAdminTableDataLevels: system and super admins and the service-role key reach every
// table and function; a moderator reaches nothing unless assigned; credentials that are not
// an admin's are refused.
func TestAdminTableDataLevels(t *testing.T) {
	t.Parallel()
	e := newTablesEnv(t)
	_, system := e.adminWith(t, "system@example.com", "system_admin")
	_, super := e.adminWith(t, "super@example.com", "super_admin")
	_, moderator := e.adminWith(t, "mod@example.com", "moderator")
	_, assignedModerator := e.adminWith(t, "mod2@example.com", "moderator", "public.posts")
	e.createUser(t, "plain@example.com")
	user := e.userSession(t, "plain@example.com")
	cases := []struct {
		name, token, key   string
		posts, payroll, fn int
	}{
		{"system admin", system, "", 200, 200, 200},
		{"super admin", super, "", 200, 200, 200},
		{"service-role key", e.ServiceRoleKey(), e.ServiceRoleKey(), 200, 200, 200},
		{"moderator", moderator, "", 403, 403, 403},
		{"moderator assigned posts", assignedModerator, "", 200, 403, 403},
		{"a user's token", user, e.AnonKey(), 403, 403, 403},
		{"anon key", e.AnonKey(), e.AnonKey(), 403, 403, 403},
		{"no credentials", "-", "", 401, 401, 401},
	}
	for _, c := range cases {
		for path, want := range map[string]int{"/posts?select=id": c.posts, "/payroll?select=salary": c.payroll, "/rpc/salaries": c.fn} {
			res := e.do(t, servicetest.Request{Method: "GET", Path: adminTablesPrefix + path, Token: c.token, Key: c.key})
			assert.Equal(t, want, res.Status, "%s %s: %s", c.name, path, res.Body)
			assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), "%s %s", c.name, path)
		}
	}
}

// TestAdminTableDataReach: an admin limited to assigned tables cannot reach another table
// through a many-to-many embed's junction table, and the OpenAPI description lists only what
// it may reach.
func TestAdminTableDataReach(t *testing.T) {
	t.Parallel()
	e := newTablesEnv(t)
	_, err := e.DB.Pool.Exec(context.Background(), `
CREATE TABLE public.tags (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.post_tags (post_id int REFERENCES public.posts (id), tag_id int REFERENCES public.tags (id), PRIMARY KEY (post_id, tag_id));
GRANT ALL ON public.tags, public.post_tags TO service_role;
INSERT INTO public.tags VALUES (1, 'news'); INSERT INTO public.post_tags VALUES (1, 1);
NOTIFY pgrst, 'reload schema'`)
	require.NoError(t, err)
	_, token := e.adminWith(t, "editor@example.com", "regular_admin", "public.posts", "public.tags")
	_, super := e.adminWith(t, "super@example.com", "super_admin")

	// The schema cache reloads in the background: poll until the junction is known.
	require.Eventually(t, func() bool {
		return e.table(t, super, "GET", "/posts?select=id,tags(name)", nil, nil).Status == 200
	}, 10*time.Second, 20*time.Millisecond)
	res := e.table(t, token, "GET", "/posts?select=id,tags(name)", nil, nil)
	require.Equal(t, 403, res.Status, "the junction public.post_tags is not assigned: %s", res.Body)
	assert.Contains(t, string(res.Body), "public.post_tags")
	res = e.table(t, token, "GET", "/tags?select=name", nil, nil)
	require.Equal(t, 200, res.Status, "%s", res.Body)

	res = e.table(t, token, "GET", "/", nil, nil)
	require.Equal(t, 200, res.Status, "%s", res.Body)
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	assert.Contains(t, doc.Paths, "/posts")
	assert.Contains(t, doc.Paths, "/tags")
	for _, hidden := range []string{"/payroll", "/post_tags", "/rpc/salaries"} {
		assert.NotContains(t, doc.Paths, hidden)
	}
	res = e.table(t, super, "GET", "/", nil, nil)
	require.Equal(t, 200, res.Status, "%s", res.Body)
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	assert.Contains(t, doc.Paths, "/payroll")
	assert.Contains(t, doc.Paths, "/rpc/salaries")
}
