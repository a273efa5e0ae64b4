package rest_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// responseSettingsSQL defines functions and a trigger that set response.headers and
// response.status the way PostgREST users do.
const responseSettingsSQL = `
CREATE FUNCTION rs_accept(name text) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO counters (name) VALUES (name);
	PERFORM set_config('response.headers', json_build_array(json_build_object('X-Accepted', name), json_build_object('Location', '/counters?name=eq.' || name))::text, true);
	PERFORM set_config('response.status', '202', true);
	RETURN 1;
END$$;
CREATE FUNCTION rs_teapot() RETURNS json LANGUAGE sql VOLATILE AS $$
	SELECT set_config('response.status', '418', true);
	SELECT set_config('response.headers', '[{"X-Brew":"tea"},{"X-Brew":"more tea"}]', true);
	SELECT '{"short":"stout"}'::json
$$;
CREATE FUNCTION rs_cached() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT set_config('response.headers', '[{"Cache-Control":"public, max-age=60"}]', true);
	SELECT 'cached'::text
$$;
-- The setting is written after the last row is produced: it only shows if the statement
-- reads it once the function is done.
CREATE FUNCTION rs_counted(n int) RETURNS SETOF int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RETURN QUERY SELECT generate_series(1, n);
	PERFORM set_config('response.headers', json_build_array(json_build_object('X-Rows', n::text))::text, true);
END$$;
CREATE FUNCTION rs_bad_headers(value text) RETURNS int LANGUAGE sql STABLE AS $$
	SELECT set_config('response.headers', value, true);
	SELECT 1
$$;
CREATE FUNCTION rs_bad_status(value text) RETURNS int LANGUAGE sql STABLE AS $$
	SELECT set_config('response.status', value, true);
	SELECT 1
$$;
CREATE FUNCTION rs_framing() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT set_config('response.headers', '[{"Content-Length":"1"},{"Transfer-Encoding":"chunked"},{"X-Kept":"yes"}]', true);
	SELECT 'a longer body'::text
$$;
CREATE FUNCTION rs_no_content() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT set_config('response.status', '204', true);
	SELECT 'dropped'::text
$$;

CREATE FUNCTION rs_write(name text, headers text, status text) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO counters (name) VALUES (name);
	PERFORM set_config('response.headers', headers, true);
	PERFORM set_config('response.status', status, true);
	RETURN 1;
END$$;

CREATE TABLE rs_orders (id int PRIMARY KEY, item text NOT NULL);
CREATE FUNCTION rs_orders_accept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('response.status', '202', true);
	PERFORM set_config('response.headers', json_build_array(json_build_object('X-Order', NEW.id::text))::text, true);
	RETURN NEW;
END$$;
CREATE TRIGGER rs_orders_accept BEFORE INSERT ON rs_orders FOR EACH ROW EXECUTE FUNCTION rs_orders_accept();
GRANT ALL ON rs_orders TO anon;
`

func TestResponseSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, responseSettingsSQL)
	badHeaders := "PGRST111"
	badStatus := "PGRST112"
	run(t, e, []scenario{
		{name: "rpc post sets status and headers, overriding its own", call: call{method: "POST", path: "/rpc/rs_accept", body: map[string]any{"name": "queued"}},
			status: 202, raw: "1", headers: map[string]string{"X-Accepted": "queued", "Location": "/counters?name=eq.queued"}},
		{name: "rpc post sets a status code outside the usual ones", call: call{method: "POST", path: "/rpc/rs_teapot"},
			status: 418, body: `{"short":"stout"}`, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}},
		{name: "get of a stable function sets a header", call: call{path: "/rpc/rs_cached"},
			status: 200, raw: `"cached"`, headers: map[string]string{"Cache-Control": "public, max-age=60"}},
		{name: "setting written after the last row is seen", call: call{method: "POST", path: "/rpc/rs_counted", body: map[string]any{"n": 3}},
			status: 200, body: `[1,2,3]`, headers: map[string]string{"X-Rows": "3"}},
		{name: "insert trigger turns 201 into 202", call: call{method: "POST", path: "/rs_orders", body: map[string]any{"id": 7, "item": "tea"}},
			status: 202, raw: "-", headers: map[string]string{"X-Order": "7"}},
		{name: "headers not an array", call: call{path: "/rpc/rs_bad_headers?value=" + `{"X-A":"b"}`}, status: 500, code: badHeaders},
		{name: "headers object with two keys", call: call{path: "/rpc/rs_bad_headers?value=" + `[{"X-A":"b","X-C":"d"}]`}, status: 500, code: badHeaders},
		{name: "headers value not a string", call: call{path: "/rpc/rs_bad_headers?value=" + `[{"X-A":1}]`}, status: 500, code: badHeaders},
		{name: "headers not json", call: call{path: "/rpc/rs_bad_headers?value=nope"}, status: 500, code: badHeaders},
		{name: "header name with a space", call: call{path: "/rpc/rs_bad_headers?value=" + `[{"X A":"b"}]`}, status: 500, code: badHeaders},
		{name: "status not a number", call: call{path: "/rpc/rs_bad_status?value=teapot"}, status: 500, code: badStatus},
		{name: "status out of range", call: call{path: "/rpc/rs_bad_status?value=999"}, status: 500, code: badStatus},
		{name: "interim status refused", call: call{path: "/rpc/rs_bad_status?value=103"}, status: 500, code: badStatus},
		{name: "no-content status drops the body", call: call{path: "/rpc/rs_no_content"}, status: 204, raw: "-"},
	})

	// The messages are PostgREST's.
	r := e.do(t, call{path: "/rpc/rs_bad_headers?value=" + `{"X-A":"b"}`})
	var body map[string]any
	r.JSON(t, &body)
	require.Equal(t, map[string]any{"code": "PGRST111", "details": nil, "hint": nil,
		"message": "response.headers guc must be a JSON array composed of objects with a single key and a string value"}, body)
	r = e.do(t, call{path: "/rpc/rs_bad_status?value=teapot"})
	r.JSON(t, &body)
	require.Equal(t, map[string]any{"code": "PGRST112", "details": nil, "hint": nil,
		"message": "response.status guc must be a valid status code"}, body)

	// A write that commits on its own is rolled back when its settings fail the response: the
	// client is told of an error, so nothing may have happened.
	for _, tc := range []struct{ name, headers, status, code string }{
		{"bad-headers", `{"X-A":"b"}`, "", "PGRST111"},
		{"bad-header-name", `[{"X A":"b"}]`, "", "PGRST111"},
		{"bad-status", "", "teapot", "PGRST112"},
		{"interim-status", "", "103", "PGRST112"},
	} {
		r := e.do(t, call{method: "POST", path: "/rpc/rs_write", body: map[string]any{"name": tc.name, "headers": tc.headers, "status": tc.status}})
		require.Equal(t, http.StatusInternalServerError, r.Status, "%s: %s", tc.name, r.Body)
		r.JSON(t, &body)
		require.Equal(t, tc.code, body["code"], tc.name)
		var rows int
		require.NoError(t, e.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM counters WHERE name = $1`, tc.name).Scan(&rows))
		require.Zero(t, rows, "%s: the write was rolled back", tc.name)
	}
	r = e.do(t, call{method: "POST", path: "/rpc/rs_write", body: map[string]any{"name": "fine", "headers": `[{"X-Ok":"1"}]`, "status": "201"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, "1", r.Header.Get("X-Ok"))
	// JSON may start with any whitespace; the guard reads it as Go does.
	r = e.do(t, call{method: "POST", path: "/rpc/rs_write", body: map[string]any{"name": "spaced", "headers": "\n\t [{\"X-Ok\":\"2\"}]", "status": ""}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "2", r.Header.Get("X-Ok"))
	var kept int
	require.NoError(t, e.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM counters WHERE name IN ('fine', 'spaced')`).Scan(&kept))
	require.Equal(t, 2, kept)

	// A repeated name sends every value.
	r = e.do(t, call{method: "POST", path: "/rpc/rs_teapot"})
	require.Equal(t, []string{"tea", "more tea"}, r.Header.Values("X-Brew"))

	// Framing headers stay the server's: the whole body arrives with its true length.
	r = e.do(t, call{path: "/rpc/rs_framing"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `"a longer body"`, string(r.Body))
	require.Equal(t, strconv.Itoa(len(r.Body)), r.Header.Get("Content-Length"))
	require.Empty(t, r.Header.Values("Transfer-Encoding"))
	require.Equal(t, "yes", r.Header.Get("X-Kept"))

	// A prepared statement reads the settings afresh on every execution, past the point
	// where PostgreSQL may switch to a generic plan.
	for range 7 {
		r = e.do(t, call{path: "/rpc/rs_cached"})
		require.Equal(t, "public, max-age=60", r.Header.Get("Cache-Control"))
	}

	// The settings are local to their request: later reads, on whichever connection, see none.
	for range 5 {
		r = e.do(t, call{path: "/authors?select=id&order=id"})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.JSONEq(t, `[{"id":1},{"id":2},{"id":3}]`, string(r.Body))
		for _, name := range []string{"X-Accepted", "X-Brew", "Cache-Control", "X-Rows", "X-Order", "Location", "X-Kept"} {
			require.Empty(t, r.Header.Values(name), "header %s", name)
		}
		require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		require.Equal(t, "0-2/*", r.Header.Get("Content-Range"))
	}
	r = e.do(t, call{path: "/counters?name=eq.queued&select=name"})
	require.JSONEq(t, `[{"name":"queued"}]`, string(r.Body))
}
