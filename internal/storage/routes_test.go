package storage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

func TestBucketsCannotBeNamedAfterTheAPIsRouteWords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	for _, name := range []string{"list", "list-v2", "info", "sign", "upload", "public", "authenticated", "move", "copy", "render", "List-V2"} {
		for _, body := range []map[string]any{{"name": name}, {"id": name, "name": "fine"}} {
			resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Body: body})
			got := requireError(t, resp, "400", "InvalidBucketName")
			require.Contains(t, got.Message, "reserved", "%v", body)
		}
	}
	require.Zero(t, e.count(t, `SELECT count(*) FROM storage.buckets`))
	// Names that merely contain a route word are fine.
	e.createBucket(t, map[string]any{"name": "public-images"})
	e.createBucket(t, map[string]any{"name": "listing"})
}

func TestARouteThatDoesNotExistNeverFallsThroughToTheObjectRoutes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		// Buckets named after route words, as a database from before they were refused (or
		// written with SQL) may hold them.
		for _, word := range []string{"list-v2", "list", "info", "move", "sign", "upload", "copy"} {
			e.exec(t, `INSERT INTO storage.buckets (id, name) VALUES ($1, $1)`, word)
		}
		e.createBucket(t, map[string]any{"name": "docs"})
		svc := e.ServiceRoleKey()
		require.Equal(t, http.StatusOK, e.upload(t, svc, "docs", "a.txt", "text/plain", []byte("a"), nil).Status)

		notFound := func(method, path string, body any) {
			t.Helper()
			resp := e.Do(t, servicetest.Request{Method: method, Path: "/storage/v1" + path, Token: svc, Body: body,
				Header: http.Header{"Content-Type": {"text/plain"}}})
			require.Equal(t, http.StatusNotFound, resp.Status, "%s %s: %s", method, path, resp.Body)
			var got storageError
			resp.JSON(t, &got)
			require.Equal(t, storageError{StatusCode: "404", Code: "InvalidRequest", Error: "Not Found",
				Message: "Route " + method + ":" + path + " not found"}, got)
		}
		// Uploads, downloads and deletes whose first segment is a route word: routes that
		// do not exist for this method or shape, not objects of a bucket named so.
		notFound(http.MethodPost, "/object/list-v2/docs/a.txt", []byte("stored by mistake"))
		notFound(http.MethodPost, "/object/info/docs/b.txt", []byte("stored by mistake"))
		notFound(http.MethodPut, "/object/sign/docs/c.txt", []byte("stored by mistake"))
		notFound(http.MethodPost, "/object/copy/x", []byte("stored by mistake"))
		notFound(http.MethodGet, "/object/list/docs", nil)
		notFound(http.MethodGet, "/object/upload/docs/a.txt", nil)
		notFound(http.MethodDelete, "/object/move/a.txt", nil)
		notFound(http.MethodDelete, "/object/list", map[string]any{"prefixes": []string{"a.txt"}})
		// Paths no route takes at all answer the same way.
		notFound(http.MethodGet, "/no/such/route", nil)
		notFound(http.MethodPatch, "/object/docs/a.txt", nil)

		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects`), "nothing was stored or deleted")
		require.Len(t, e.blobKeys(t), 1)

		// The fixed routes still serve those words: list-v2 lists.
		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list-v2/docs", Body: map[string]any{}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, "a.txt", decode[listV2JSON](t, resp).Objects[0].Name)
	})
}
