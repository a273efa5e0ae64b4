package storage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

type bucketJSON struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Owner            string   `json:"owner"`
	Public           bool     `json:"public"`
	Type             string   `json:"type"`
	FileSizeLimit    *int64   `json:"file_size_limit"`
	AllowedMimeTypes []string `json:"allowed_mime_types"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

func TestBucketLifecycle(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Body: map[string]any{
			"id": "avatars", "name": "avatars", "public": true, "file_size_limit": "1.5MB", "allowed_mime_types": []string{"image/*", ""},
		}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"name":"avatars"}`, string(resp.Body))

		got := decode[bucketJSON](t, e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/avatars"}))
		require.Equal(t, "avatars", got.ID)
		require.True(t, got.Public)
		require.Equal(t, "STANDARD", got.Type)
		require.Equal(t, int64(1_500_000), *got.FileSizeLimit, "decimal units, as Supabase reads them")
		require.Equal(t, []string{"image/*"}, got.AllowedMimeTypes, "empty entries are dropped")
		require.NotEmpty(t, got.CreatedAt)

		dup := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Body: map[string]any{"name": "avatars"}})
		body := requireError(t, dup, "409", "BucketAlreadyExists")
		require.Equal(t, "The resource already exists", body.Message)

		resp = e.asService(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/bucket/avatars", Body: map[string]any{
			"id": "avatars", "name": "avatars", "public": false, "file_size_limit": nil,
		}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"message":"Successfully updated"}`, string(resp.Body))
		got = decode[bucketJSON](t, e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/avatars"}))
		require.False(t, got.Public)
		require.Nil(t, got.FileSizeLimit, "null clears the limit")
		require.Equal(t, []string{"image/*"}, got.AllowedMimeTypes, "an absent field is left as it was")

		e.createBucket(t, map[string]any{"name": "zeta"})
		e.createBucket(t, map[string]any{"name": "alpha"})
		list := decode[[]bucketJSON](t, e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket"}))
		require.Equal(t, []string{"alpha", "avatars", "zeta"}, bucketNames(list))
		list = decode[[]bucketJSON](t, e.asService(t, servicetest.Request{Method: http.MethodGet,
			Path: "/storage/v1/bucket?sortColumn=name&sortOrder=desc&limit=2&offset=1"}))
		require.Equal(t, []string{"avatars", "alpha"}, bucketNames(list))
		list = decode[[]bucketJSON](t, e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket?search=AL"}))
		require.Equal(t, []string{"alpha"}, bucketNames(list))

		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/missing"}), "404", "NoSuchBucket")

		resp = e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/bucket/zeta", Body: map[string]any{}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"message":"Successfully deleted"}`, string(resp.Body))
		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/bucket/zeta"}), "404", "NoSuchBucket")
	})
}

func bucketNames(list []bucketJSON) []string {
	names := make([]string, len(list))
	for i, b := range list {
		names[i] = b.Name
	}
	return names
}

func TestBucketsDeleteOnlyWhenEmptyAndEmptyRemovesEverything(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "docs"})
		for _, name := range []string{"a.txt", "dir/b.txt", "dir/deeper/c.txt"} {
			resp := e.upload(t, e.ServiceRoleKey(), "docs", name, "text/plain", []byte(name), nil)
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		}
		body := requireError(t, e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/bucket/docs"}), "409", "ResourceNotEmpty")
		require.Equal(t, "The bucket you tried to delete is not empty", body.Message)

		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket/docs/empty", Body: map[string]any{}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"message":"Successfully emptied"}`, string(resp.Body))
		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects WHERE bucket_id = 'docs'`))
		require.Empty(t, e.blobKeys(t), "emptying removes the bytes too")

		resp = e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/bucket/docs"})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	})
}

func TestBucketRulesAndPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	for _, name := range []string{"has/slash", "", "ünïcode", string(make([]byte, 101))} {
		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Body: map[string]any{"name": name}})
		require.Equal(t, http.StatusBadRequest, resp.Status, "name %q: %s", name, resp.Body)
	}
	requireError(t, e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket",
		Body: map[string]any{"name": "bad-limit", "file_size_limit": "lots"}}), "400", "InvalidRequest")

	// Without policies on storage.buckets, only the service role manages buckets (as on a new
	// Supabase project): an anon or signed-in caller is refused by row-level security.
	user := e.UserToken(t, uid(1), nil)
	for _, token := range []string{"", user} {
		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Token: token, Body: map[string]any{"name": "mine"}})
		body := requireError(t, resp, "403", "AccessDenied")
		require.Equal(t, "new row violates row-level security policy", body.Message)
	}
	e.createBucket(t, map[string]any{"name": "hidden"})
	list := decode[[]bucketJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: user}))
	require.Empty(t, list, "without a SELECT policy on storage.buckets a user sees none")
	requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/hidden", Token: user}), "404", "NoSuchBucket")

	// A policy from Supabase's docs lets users see public buckets.
	e.exec(t, `create policy "Public buckets are viewable by everyone" on storage.buckets for select using (public = true)`)
	e.createBucket(t, map[string]any{"name": "open", "public": true})
	list = decode[[]bucketJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: user}))
	require.Equal(t, []string{"open"}, bucketNames(list))

	// The service creates buckets owned by the token's subject.
	e.exec(t, `create policy "users create buckets" on storage.buckets for insert to authenticated with check (true)`)
	resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/bucket", Token: user, Body: map[string]any{"name": "owned"}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.buckets WHERE id = 'owned' AND owner_id = $1 AND owner = $1::uuid`, uid(1)))
}

func TestRequestsWithoutAValidTokenAreRefusedLikeSupabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	// No apikey and no Authorization at all: Storage's own refusal, not the gateway's.
	resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Key: "-"})
	body := requireError(t, resp, "403", "AccessDenied")
	require.Equal(t, "Unauthorized", body.Error)
	require.Equal(t, "jwt must be provided", body.Message)

	resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: "not.a.jwt"})
	require.Equal(t, "jwt malformed", requireError(t, resp, "403", "AccessDenied").Message)

	expired := e.UserToken(t, uid(1), map[string]any{"exp": 1_700_000_000, "iat": 1_600_000_000})
	resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: expired})
	require.Equal(t, "jwt expired", requireError(t, resp, "403", "AccessDenied").Message)

	admin := e.UserToken(t, uid(1), map[string]any{"role": "supabase_admin"})
	resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: admin})
	requireError(t, resp, "403", "AccessDenied")
}
