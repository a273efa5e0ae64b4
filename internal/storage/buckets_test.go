package storage_test

import (
	"net/http"
	"strings"
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
		require.Empty(t, got.Type, "Supabase lists a bucket's type, but leaves it out of one bucket")
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
		require.JSONEq(t, `{"message":"Empty bucket has been queued. Completion may take up to an hour."}`, string(resp.Body),
			"Supabase's words, although the bucket is empty already")
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
	// No apikey and no Authorization at all: Storage's own refusal, not the gateway's, in
	// the words of jose, the JWT library of Supabase Storage (storage-js's tests match it).
	resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Key: "-"})
	body := requireError(t, resp, "403", "AccessDenied")
	require.Equal(t, "Unauthorized", body.Error)
	require.Equal(t, "Invalid Compact JWS", body.Message)

	refusal := func(token string) string {
		t.Helper()
		resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: token})
		return requireError(t, resp, "403", "AccessDenied").Message
	}
	require.Equal(t, "Invalid Compact JWS", refusal("not-a-jwt"))
	require.Equal(t, "JWS Protected Header is invalid", refusal("not.a.jwt"))
	expired := e.UserToken(t, uid(1), map[string]any{"exp": 1_700_000_000, "iat": 1_600_000_000})
	require.Equal(t, `"exp" claim timestamp check failed`, refusal(expired))
	valid := e.UserToken(t, uid(1), nil)
	require.Equal(t, "signature verification failed", refusal(valid[:len(valid)-4]+"AAAA"))
	header, rest, _ := strings.Cut(valid, ".")
	require.Equal(t, "JWS Protected Header is invalid", refusal(header[:len(header)-3]+"."+rest))

	admin := e.UserToken(t, uid(1), map[string]any{"role": "supabase_admin"})
	resp = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket", Token: admin})
	requireError(t, resp, "403", "AccessDenied")
}

func TestBucketJSONIsExactlySupabases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	// The bucket of storage-js's seed, with its fixed dates.
	e.exec(t, `INSERT INTO storage.buckets (id, name, owner, created_at, updated_at, public) VALUES
  ('bucket2', 'bucket2', '4d56e902-f0a0-4662-8448-a4d9e643c142', '2021-02-17T04:43:32.770Z', '2021-02-17T04:43:32.770Z', false)`)
	e.createBucket(t, map[string]any{"name": "limited", "public": true, "file_size_limit": 1000, "allowed_mime_types": []string{"image/png"}})
	e.exec(t, `UPDATE storage.buckets SET created_at = '2024-05-06 07:08:09.123456+00', updated_at = '2024-05-06 07:08:09.1+00', owner_id = 'not-a-uuid' WHERE id = 'limited'`)

	resp := e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/bucket2"})
	require.Equal(t, http.StatusOK, resp.Status)
	require.JSONEq(t, `{"id":"bucket2","name":"bucket2","owner":"4d56e902-f0a0-4662-8448-a4d9e643c142","public":false,
"file_size_limit":null,"allowed_mime_types":null,"created_at":"2021-02-17T04:43:32.770Z","updated_at":"2021-02-17T04:43:32.770Z"}`,
		string(resp.Body))
	resp = e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket/limited"})
	require.JSONEq(t, `{"id":"limited","name":"limited","owner":"","public":true,"file_size_limit":1000,
"allowed_mime_types":["image/png"],"created_at":"2024-05-06T07:08:09.123Z","updated_at":"2024-05-06T07:08:09.100Z"}`,
		string(resp.Body))

	// The list adds the type, as Supabase's does.
	resp = e.asService(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/bucket"})
	require.JSONEq(t, `[{"id":"bucket2","name":"bucket2","owner":"4d56e902-f0a0-4662-8448-a4d9e643c142","public":false,"type":"STANDARD",
"file_size_limit":null,"allowed_mime_types":null,"created_at":"2021-02-17T04:43:32.770Z","updated_at":"2021-02-17T04:43:32.770Z"},
{"id":"limited","name":"limited","owner":"","public":true,"type":"STANDARD","file_size_limit":1000,
"allowed_mime_types":["image/png"],"created_at":"2024-05-06T07:08:09.123Z","updated_at":"2024-05-06T07:08:09.100Z"}]`,
		string(resp.Body))
}
