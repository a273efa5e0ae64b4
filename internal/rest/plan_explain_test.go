package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/rest"
)

// TestExplainPlan: with rest.plan_enabled, Accept: application/vnd.pgrst.plan answers with
// EXPLAIN of the request's own statement, run as the caller's role; anon needs rest.plan_anon.
func TestExplainPlan(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, func(c *rest.Config) { c.PlanEnabled = true }, `CREATE TABLE hidden_t (id int); REVOKE ALL ON hidden_t FROM anon, authenticated;`)
	token := e.UserToken(t, userA, nil)
	jsonPlan := map[string]string{"Accept": `application/vnd.pgrst.plan+json; for="application/json"; options=;`}

	r := e.do(t, call{path: "/posts?select=id,authors!author_id(name)&id=eq.1", header: jsonPlan, token: token})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `application/vnd.pgrst.plan+json; for="application/json"; charset=utf-8`, r.Header.Get("Content-Type"))
	var plan []map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &plan), "%s", r.Body)
	require.Len(t, plan, 1)
	require.Contains(t, plan[0], "Plan")

	r = e.do(t, call{path: "/posts?id=eq.1", header: map[string]string{"Accept": "application/vnd.pgrst.plan"}, token: token})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `application/vnd.pgrst.plan+text; for="application/json"; charset=utf-8`, r.Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(r.Body), "Aggregate  (cost="), "%s", r.Body)

	r = e.do(t, call{path: "/posts?id=eq.1", token: token,
		header: map[string]string{"Accept": `application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object+json"; options=analyze|verbose|settings|buffers|wal`}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object+json"; options=analyze|verbose|settings|buffers|wal; charset=utf-8`,
		r.Header.Get("Content-Type"))
	require.NoError(t, json.Unmarshal(r.Body, &plan))
	require.Contains(t, plan[0], "Execution Time", "analyze ran the statement")
	require.Contains(t, plan[0], "Settings")
	require.Equal(t, `"public", "public", "extensions"`, plan[0]["Settings"].(map[string]any)["search_path"])

	// As the caller's role: a table it may not read cannot be explained either.
	r = e.do(t, call{path: "/hidden_t", header: jsonPlan, token: token})
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)

	// analyze runs a write; tx=rollback undoes it.
	r = e.do(t, call{method: "POST", path: "/labels", body: map[string]any{"id": 50, "label": "explained"}, token: token,
		header: map[string]string{"Accept": `application/vnd.pgrst.plan+json; options=analyze`, "Prefer": "tx=rollback"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = e.do(t, call{path: "/labels?id=eq.50"})
	require.Equal(t, "[]", string(r.Body))

	// RPC.
	r = e.do(t, call{path: "/rpc/posts_by?author=1", header: jsonPlan, token: token})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	// anon is refused as if plans did not exist.
	r = e.do(t, call{path: "/posts", header: jsonPlan})
	require.Equal(t, http.StatusNotAcceptable, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "PGRST107")
}

func TestExplainPlanSwitches(t *testing.T) {
	t.Parallel()
	plan := map[string]string{"Accept": "application/vnd.pgrst.plan+json"}
	off := newEnv(t)
	r := off.do(t, call{path: "/posts", header: plan, token: off.UserToken(t, userA, nil)})
	require.Equal(t, http.StatusNotAcceptable, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "PGRST107")

	anon := newEnvConfig(t, func(c *rest.Config) { c.PlanEnabled, c.PlanAnon = true, true })
	r = anon.do(t, call{path: "/posts", header: plan})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// A client that takes JSON too gets JSON.
	r = anon.do(t, call{path: "/labels?id=eq.1", header: map[string]string{"Accept": "application/vnd.pgrst.plan+json, application/json"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `[{"id":1,"label":"classic"}]`, string(r.Body))
}
