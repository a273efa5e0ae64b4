package rest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeoJSON: Accept: application/geo+json answers a FeatureCollection built by PostGIS's
// ST_AsGeoJSON, found through the request's search_path (extensions), as in PostgREST. Where
// PostGIS is not installed the request fails as PostgREST's does (42883, 404).
func TestGeoJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `CREATE SCHEMA extensions; GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;`)
	geo := map[string]string{"Accept": "application/geo+json"}
	_, err := e.DB.Pool.Exec(context.Background(), `CREATE EXTENSION postgis SCHEMA extensions`)
	if err != nil {
		r := e.do(t, call{path: "/labels", header: geo})
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), `"42883"`)
		return
	}
	_, err = e.DB.Pool.Exec(context.Background(), `
CREATE TABLE shops (id int PRIMARY KEY, address text, location extensions.geometry(POINT, 4326));
INSERT INTO shops VALUES (1, '1369 Cambridge St', extensions.ST_SetSRID(extensions.ST_MakePoint(-71.10044, 42.373695), 4326)),
	(2, 'Nowhere', NULL);
NOTIFY pgrst, 'reload schema';`)
	require.NoError(t, err)
	require.NoError(t, e.svc.ReloadSchema(context.Background()))
	r := e.do(t, call{path: "/shops?select=id,address,location&id=eq.1", header: geo})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "application/geo+json; charset=utf-8", r.Header.Get("Content-Type"))
	require.Equal(t, jsonText(t, `{"type":"FeatureCollection","features":[{"type":"Feature",
		"geometry":{"type":"Point","coordinates":[-71.10044,42.373695]},"properties":{"id":1,"address":"1369 Cambridge St"}}]}`), jsonOf(t, r))

	r = e.do(t, call{path: "/shops?id=eq.9", header: geo})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, jsonText(t, `{"type":"FeatureCollection","features":[]}`), jsonOf(t, r))
}
