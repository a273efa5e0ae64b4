package rest_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, call{path: "/"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "application/openapi+json; charset=utf-8", r.Header.Get("Content-Type"))
	var doc struct {
		Swagger     string                    `json:"swagger"`
		BasePath    string                    `json:"basePath"`
		Paths       map[string]map[string]any `json:"paths"`
		Definitions map[string]struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	r.JSON(t, &doc)
	require.Equal(t, "2.0", doc.Swagger)
	require.Contains(t, doc.Paths, "/posts")
	require.Contains(t, doc.Paths["/posts"], "post")
	require.Contains(t, doc.Paths, "/rpc/add")
	require.Contains(t, doc.Paths["/rpc/add"], "get", "stable functions may be called with GET")
	require.Contains(t, doc.Paths["/rpc/bump"], "get", "volatile ones too, read-only")
	require.Equal(t, []string{"id", "title"}, doc.Definitions["posts"].Required)
	require.Equal(t, "integer", doc.Definitions["posts"].Properties["id"]["type"])
	require.Equal(t, "text[]", doc.Definitions["posts"].Properties["tags"]["format"])
	require.NotContains(t, doc.Paths, "/things", "other schemas need Accept-Profile")

	r = e.do(t, call{path: "/", header: map[string]string{"Accept-Profile": "other"}})
	r.JSON(t, &doc)
	require.Contains(t, doc.Paths, "/things")

	r = e.do(t, call{method: http.MethodOptions, path: "/posts"})
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE", r.Header.Get("Allow"))
}

// TestSchemaCacheFollowsDDL checks that a table created while the service runs becomes
// reachable without a restart, through the event trigger and the service's background loop.
func TestSchemaCacheFollowsDDL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	r := e.do(t, call{path: "/late_table"})
	require.Equal(t, http.StatusNotFound, r.Status)

	_, err := e.DB.Pool.Exec(context.Background(), `CREATE TABLE late_table (id int); INSERT INTO late_table VALUES (7);`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return e.do(t, call{path: "/late_table"}).Status == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, jsonText(t, `[{"id":7}]`), jsonOf(t, e.do(t, call{path: "/late_table"})))

	// ReloadSchema does the same on demand.
	_, err = e.DB.Pool.Exec(context.Background(), `ALTER TABLE late_table ADD COLUMN note text`)
	require.NoError(t, err)
	require.NoError(t, e.svc.ReloadSchema(context.Background()))
	require.Equal(t, http.StatusOK, e.do(t, call{path: "/late_table?select=note"}).Status)
}

// TestOpenAPIFollowsPrivileges checks that the description lists only what the caller's role
// may reach, as PostgREST's default openapi-mode = follow-privileges does, while service_role
// sees everything.
func TestOpenAPIFollowsPrivileges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `
		CREATE TABLE hidden (id int PRIMARY KEY, secret text);
		REVOKE ALL ON hidden FROM anon;
		CREATE TABLE partly (id int PRIMARY KEY, public_note text, private_note text);
		REVOKE ALL ON partly FROM anon;
		GRANT SELECT (id, public_note) ON partly TO anon;
		CREATE TABLE inbox (id int PRIMARY KEY, message text);
		REVOKE ALL ON inbox FROM anon;
		GRANT INSERT ON inbox TO anon;
		CREATE FUNCTION internal_only() RETURNS int LANGUAGE sql AS 'SELECT 1';
		REVOKE EXECUTE ON FUNCTION internal_only() FROM PUBLIC, anon;`)
	type description struct {
		Paths       map[string]map[string]any `json:"paths"`
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	describe := func(token string) description {
		r := e.do(t, call{path: "/", token: token})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var doc description
		r.JSON(t, &doc)
		return doc
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}

	anon := describe("")
	require.NotContains(t, anon.Paths, "/hidden")
	require.NotContains(t, anon.Definitions, "hidden")
	require.NotContains(t, anon.Paths, "/rpc/internal_only")
	require.Contains(t, anon.Paths, "/rpc/add")
	require.Equal(t, []string{"get"}, keys(anon.Paths["/partly"]), "select on two columns only")
	require.Equal(t, []string{"id", "public_note"}, keys(anon.Definitions["partly"].Properties))
	require.Equal(t, []string{"post"}, keys(anon.Paths["/inbox"]), "insert only")
	require.Equal(t, []string{"delete", "get", "patch", "post"}, keys(anon.Paths["/posts"]))

	service := describe(e.ServiceRoleKey())
	require.Contains(t, service.Paths, "/hidden")
	require.Contains(t, service.Paths, "/rpc/internal_only")
	require.Equal(t, []string{"id", "private_note", "public_note"}, keys(service.Definitions["partly"].Properties))
	require.Equal(t, []string{"delete", "get", "patch", "post"}, keys(service.Paths["/inbox"]))
}
