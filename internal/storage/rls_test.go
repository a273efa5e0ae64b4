package storage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

// supabaseDocsPolicies are Supabase's documented examples, verbatim but for the bucket
// name: users upload only into the folder named after their id and read, replace and delete
// only what they uploaded (access-control and ownership guides).
const supabaseDocsPolicies = `
create policy "Allow authenticated uploads"
on storage.objects
for insert
to authenticated
with check (
  bucket_id = 'private' and
  (storage.foldername(name))[1] = (select auth.uid()::text)
);

create policy "Individual user Access"
on storage.objects for select
to authenticated
using ( (select auth.uid()) = owner_id::uuid );

create policy "User can update their own objects"
on storage.objects
for update
to authenticated
using (
    owner_id = (select auth.uid()::text)
);

create policy "User can delete their own objects"
on storage.objects
for delete
to authenticated
using (
    owner_id = (select auth.uid()::text)
);
`

func TestPoliciesFromSupabasesDocsDecideEveryOperation(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "private"})
		e.exec(t, supabaseDocsPolicies)
		a, b := uid(1), uid(2)
		tokenA, tokenB := e.UserToken(t, a, nil), e.UserToken(t, b, nil)

		// Uploads land only in the caller's own folder, owned by the caller.
		resp := e.upload(t, tokenA, "private", a+"/notes.txt", "text/plain", []byte("A's notes"), nil)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects WHERE name = $1 AND owner_id = $2 AND owner = $2::uuid`, a+"/notes.txt", a))
		require.Equal(t, http.StatusOK, e.upload(t, tokenB, "private", b+"/mine.txt", "text/plain", []byte("B's"), nil).Status)

		blobsBefore := len(e.blobKeys(t))
		body := requireError(t, e.upload(t, tokenA, "private", b+"/planted.txt", "text/plain", []byte("x"), nil), "403", "AccessDenied")
		require.Equal(t, "new row violates row-level security policy", body.Message)
		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects WHERE name = $1`, b+"/planted.txt"))
		require.Len(t, e.blobKeys(t), blobsBefore, "a refused upload stores nothing")

		// Reading: the owner can, another user cannot even tell the object exists.
		require.Equal(t, []byte("A's notes"), e.download(t, tokenA, "private", a+"/notes.txt").Body)
		requireError(t, e.download(t, tokenB, "private", a+"/notes.txt"), "404", "NoSuchKey")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/private/" + a + "/notes.txt", Token: tokenB}), "404", "NoSuchKey")

		// Listing shows each user only their own folder.
		listRoot := func(token string) []string {
			resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list/private", Token: token, Body: map[string]any{"prefix": ""}})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			var names []string
			for _, f := range decode[[]fileJSON](t, resp) {
				names = append(names, f.Name)
			}
			return names
		}
		require.Equal(t, []string{a}, listRoot(tokenA))
		require.Equal(t, []string{b}, listRoot(tokenB))
		require.Empty(t, listRoot(""), "anon sees nothing without a policy for anon")

		// B cannot overwrite, move, copy, sign or delete A's file.
		requireError(t, e.upload(t, tokenB, "private", a+"/notes.txt", "text/plain", []byte("B wins"), http.Header{"X-Upsert": {"true"}}), "403", "AccessDenied")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/object/private/" + a + "/notes.txt", Token: tokenB,
			Body: []byte("B wins"), Header: http.Header{"Content-Type": {"text/plain"}}}), "403", "AccessDenied")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move", Token: tokenB,
			Body: map[string]any{"bucketId": "private", "sourceKey": a + "/notes.txt", "destinationKey": b + "/stolen.txt"}}), "404", "NoSuchKey")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy", Token: tokenB,
			Body: map[string]any{"bucketId": "private", "sourceKey": a + "/notes.txt", "destinationKey": b + "/stolen.txt"}}), "404", "NoSuchKey")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/sign/private/" + a + "/notes.txt", Token: tokenB,
			Body: map[string]any{"expiresIn": 60}}), "404", "NoSuchKey")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private/" + a + "/notes.txt", Token: tokenB}), "404", "NoSuchKey")
		resp = e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private", Token: tokenB,
			Body: map[string]any{"prefixes": []string{a + "/notes.txt"}}})
		require.Equal(t, http.StatusOK, resp.Status)
		require.JSONEq(t, `[]`, string(resp.Body), "a bulk delete skips what the caller may not delete")
		require.Equal(t, []byte("A's notes"), e.download(t, tokenA, "private", a+"/notes.txt").Body, "A's file is intact")

		// Anonymous callers cannot touch the private bucket.
		requireError(t, e.upload(t, "", "private", "anon.txt", "text/plain", []byte("x"), nil), "403", "AccessDenied")
		requireError(t, e.download(t, "", "private", a+"/notes.txt"), "404", "NoSuchKey")
		noKey := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/private/" + a + "/notes.txt", Key: "-"})
		requireError(t, noKey, "404", "NoSuchBucket")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/public/private/" + a + "/notes.txt", Key: "-"}), "404", "NoSuchBucket")

		// The owner replaces, moves inside their folder, and deletes their own file.
		resp = e.upload(t, tokenA, "private", a+"/notes.txt", "text/plain", []byte("A's notes, v2"), http.Header{"X-Upsert": {"true"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, []byte("A's notes, v2"), e.download(t, tokenA, "private", a+"/notes.txt").Body)
		resp = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move", Token: tokenA,
			Body: map[string]any{"bucketId": "private", "sourceKey": a + "/notes.txt", "destinationKey": a + "/renamed.txt"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		resp = e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/private/" + a + "/renamed.txt", Token: tokenA})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, 1, len(e.blobKeys(t)), "only B's file is left")
	})
}

func TestPublicBucketsServeReadsWithoutAuthButWritesStillNeedPolicies(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "pub", "public": true})
		require.Equal(t, http.StatusOK, e.upload(t, e.ServiceRoleKey(), "pub", "logo.txt", "text/plain", []byte("public bytes"), nil).Status)

		for _, path := range []string{"/storage/v1/object/public/pub/logo.txt", "/storage/v1/object/pub/logo.txt"} {
			resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: path, Key: "-"})
			require.Equal(t, http.StatusOK, resp.Status, "%s: %s", path, resp.Body)
			require.Equal(t, []byte("public bytes"), resp.Body)
		}
		// A signed-in user reads public objects without any SELECT policy, as on Supabase.
		require.Equal(t, []byte("public bytes"), e.download(t, e.UserToken(t, uid(3), nil), "pub", "logo.txt").Body)
		info := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/public/pub/logo.txt", Key: "-"})
		require.Equal(t, http.StatusOK, info.Status, "%s", info.Body)

		requireError(t, e.upload(t, "", "pub", "anon.txt", "text/plain", []byte("x"), nil), "403", "AccessDenied")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/pub/logo.txt"}), "403", "AccessDenied")
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list/pub", Key: "-", Body: map[string]any{"prefix": ""}}), "403", "AccessDenied")
	})
}
