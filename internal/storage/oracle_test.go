package storage_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

// TestObjectsHiddenByPoliciesLookMissing checks every object route for an existence oracle:
// whatever a caller asks about an object its policies hide, the answer is the one it gets
// for a name that does not exist.
func TestObjectsHiddenByPoliciesLookMissing(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "private"})
		e.exec(t, supabaseDocsPolicies)
		a, b := uid(1), uid(2)
		tokenA, tokenB := e.UserToken(t, a, nil), e.UserToken(t, b, nil)
		hidden, absent := a+"/notes.txt", a+"/absent.txt"
		require.Equal(t, http.StatusOK, e.upload(t, tokenA, "private", hidden, "text/plain", []byte("A's notes"), nil).Status)

		routes := map[string]func(name string) servicetest.Request{
			"delete": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private/" + n}
			},
			"download": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/private/" + n}
			},
			"authenticated download": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/authenticated/private/" + n}
			},
			"head": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodHead, Path: "/storage/v1/object/authenticated/private/" + n}
			},
			"info": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/private/" + n}
			},
			"authenticated info": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/authenticated/private/" + n}
			},
			"render": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/render/image/authenticated/private/" + n + "?width=2"}
			},
			"move source": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move",
					Body: map[string]any{"bucketId": "private", "sourceKey": n, "destinationKey": b + "/taken.txt"}}
			},
			"copy source": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy",
					Body: map[string]any{"bucketId": "private", "sourceKey": n, "destinationKey": b + "/taken.txt"}}
			},
			"sign": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/private/" + n, Body: map[string]any{"expiresIn": 60}}
			},
			"sign many": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/private", Body: map[string]any{"expiresIn": 60, "paths": []string{n}}}
			},
			"sign upload": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/upload/sign/private/" + n, Header: http.Header{"X-Upsert": {"true"}}}
			},
			"update": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/object/private/" + n,
					Body: []byte("B's"), Header: http.Header{"Content-Type": {"text/plain"}}}
			},
			"upsert": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/private/" + n,
					Body: []byte("B's"), Header: http.Header{"Content-Type": {"text/plain"}, "X-Upsert": {"true"}}}
			},
			"bulk delete": func(n string) servicetest.Request {
				return servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private", Body: map[string]any{"prefixes": []string{n}}}
			},
		}
		for route, request := range routes {
			for _, token := range []string{tokenB, ""} {
				onHidden, onAbsent := request(hidden), request(absent)
				onHidden.Token, onAbsent.Token = token, token
				got, want := e.Do(t, onHidden), e.Do(t, onAbsent)
				require.Equal(t, want.Status, got.Status, "%s (anon: %v): %s / %s", route, token == "", got.Body, want.Body)
				// Answers that echo the name are compared with the name swapped.
				require.Equal(t, string(want.Body), strings.ReplaceAll(string(got.Body), hidden, absent), "%s (anon: %v)", route, token == "")
			}
		}
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private/" + hidden, Token: tokenB}), "404", "NoSuchKey")
		require.Equal(t, []byte("A's notes"), e.download(t, tokenA, "private", hidden).Body, "A's file is intact")
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects`))

		// An object the caller may see but not delete is still AccessDenied, as on Supabase.
		e.exec(t, `create policy "shared is readable" on storage.objects for select to authenticated using (name like 'shared/%')`)
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "private", "shared/readme.txt", "text/plain", []byte("hi"), nil).Status)
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private/shared/readme.txt", Token: tokenB}), "403", "AccessDenied")
	})
}

// TestBucketDeleteTellsNothingToWhoCannotDeleteIt: whether a bucket exists and holds
// objects is told only to a caller whose policies let it delete the bucket.
func TestBucketDeleteTellsNothingToWhoCannotDeleteIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	e.createBucket(t, map[string]any{"name": "full"})
	e.createBucket(t, map[string]any{"name": "empty"})
	svc := e.ServiceRoleKey()
	require.Equal(t, http.StatusOK, e.upload(t, svc, "full", "f.txt", "text/plain", []byte("x"), nil).Status)
	user := e.UserToken(t, uid(1), nil)
	deleteBucket := func(token, id string) servicetest.Response {
		return e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/bucket/" + id, Token: token})
	}

	missing := deleteBucket(user, "never-was")
	requireError(t, missing, "404", "NoSuchBucket")
	for _, id := range []string{"full", "empty"} {
		for _, token := range []string{user, ""} {
			got := deleteBucket(token, id)
			require.Equal(t, missing.Status, got.Status, "%s: %s", id, got.Body)
			require.Equal(t, string(missing.Body), string(got.Body), id)
		}
	}
	// Seeing a bucket is not deleting it.
	e.exec(t, `create policy "buckets are visible" on storage.buckets for select to authenticated using (true)`)
	require.Equal(t, string(missing.Body), string(deleteBucket(user, "full").Body))

	// With the right to delete, a caller learns the bucket is not empty, and the service
	// role always does.
	e.exec(t, `create policy "buckets can go" on storage.buckets for delete to authenticated using (true)`)
	requireError(t, deleteBucket(user, "full"), "409", "ResourceNotEmpty")
	requireError(t, deleteBucket(svc, "full"), "409", "ResourceNotEmpty")
	require.Equal(t, http.StatusOK, deleteBucket(user, "empty").Status)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.buckets`))
}
