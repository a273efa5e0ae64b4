package storage_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

type uploadJSON struct {
	ID  string `json:"Id"`
	Key string `json:"Key"`
}

type fileJSON struct {
	Name      string         `json:"name"`
	ID        *string        `json:"id"`
	UpdatedAt *string        `json:"updated_at"`
	CreatedAt *string        `json:"created_at"`
	Metadata  map[string]any `json:"metadata"`
}

type infoJSON struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	BucketID     string         `json:"bucket_id"`
	Size         int64          `json:"size"`
	ContentType  string         `json:"content_type"`
	CacheControl string         `json:"cache_control"`
	ETag         string         `json:"etag"`
	Metadata     map[string]any `json:"metadata"`
	LastModified string         `json:"last_modified"`
	CreatedAt    string         `json:"created_at"`
}

func TestUploadDownloadInfo(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "files"})
		svc := e.ServiceRoleKey()
		data := []byte("hello from go forward")
		sum := md5.Sum(data)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`

		metadata := base64.StdEncoding.EncodeToString([]byte(`{"label":"greeting"}`))
		resp := e.upload(t, svc, "files", "folder/hello.txt", "text/plain;charset=UTF-8", data, http.Header{"X-Metadata": {metadata}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		up := decode[uploadJSON](t, resp)
		require.Equal(t, "files/folder/hello.txt", up.Key)
		require.Len(t, up.ID, 36)

		got := e.download(t, svc, "files", "folder/hello.txt")
		require.Equal(t, http.StatusOK, got.Status)
		require.Equal(t, data, got.Body)
		require.Equal(t, "text/plain;charset=UTF-8", got.Header.Get("Content-Type"))
		require.Equal(t, etag, got.Header.Get("ETag"))
		require.Equal(t, "max-age=3600", got.Header.Get("Cache-Control"))
		require.NotEmpty(t, got.Header.Get("Last-Modified"))
		require.Equal(t, "bytes", got.Header.Get("Accept-Ranges"))
		require.Equal(t, "nosniff", got.Header.Get("X-Content-Type-Options"))

		// The same bytes through /object/authenticated, and as an attachment.
		got = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/authenticated/files/folder/hello.txt?download=greeting%20file.txt", Token: svc})
		require.Equal(t, data, got.Body)
		require.Equal(t, "attachment; filename=greeting%20file.txt; filename*=UTF-8''greeting%20file.txt;", got.Header.Get("Content-Disposition"))
		got = e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/files/folder/hello.txt?download", Token: svc})
		require.Equal(t, "attachment;", got.Header.Get("Content-Disposition"))

		head := e.Do(t, servicetest.Request{Method: http.MethodHead, Path: "/storage/v1/object/files/folder/hello.txt", Token: svc})
		require.Equal(t, http.StatusOK, head.Status)
		require.Empty(t, head.Body)
		require.Equal(t, etag, head.Header.Get("ETag"))
		require.Equal(t, "21", head.Header.Get("Content-Length"))

		info := decode[infoJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/files/folder/hello.txt", Token: svc}))
		require.Equal(t, up.ID, info.ID)
		require.Equal(t, "folder/hello.txt", info.Name)
		require.Equal(t, "files", info.BucketID)
		require.Equal(t, int64(len(data)), info.Size)
		require.Equal(t, "text/plain;charset=UTF-8", info.ContentType)
		require.Equal(t, "max-age=3600", info.CacheControl)
		require.Equal(t, etag, info.ETag)
		require.Equal(t, map[string]any{"label": "greeting"}, info.Metadata)
		require.NotEmpty(t, info.Version)
		require.NotEmpty(t, info.LastModified)

		authInfo := decode[infoJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/authenticated/files/folder/hello.txt", Token: svc}))
		require.Equal(t, info, authInfo)
		requireError(t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/authenticated/files/folder/hello.txt", Key: "-"}), "403", "AccessDenied")

		var meta map[string]any
		require.NoError(t, e.DB.Pool.QueryRow(t.Context(),
			`SELECT metadata FROM storage.objects WHERE bucket_id = 'files' AND name = 'folder/hello.txt'`).Scan(&meta))
		require.Equal(t, etag, meta["eTag"])
		require.EqualValues(t, len(data), meta["size"])
		require.Equal(t, "text/plain;charset=UTF-8", meta["mimetype"])
		require.Equal(t, "max-age=3600", meta["cacheControl"])
		require.EqualValues(t, 200, meta["httpStatusCode"])

		requireError(t, e.download(t, svc, "files", "missing.txt"), "404", "NoSuchKey")
		requireError(t, e.download(t, svc, "nobucket", "x.txt"), "404", "NoSuchBucket")
		head = e.Do(t, servicetest.Request{Method: http.MethodHead, Path: "/storage/v1/object/files/missing.txt", Token: svc})
		require.Equal(t, http.StatusBadRequest, head.Status, "exists() reads 400 as false")
	})
}

func TestMultipartUploadAsSupabaseJSSendsIt(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "forms"})
		png := pngBytes(t, 4, 4)
		body, contentType := multipartBody(t, "image/png", png, `{"from":"blob"}`)
		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/forms/pic.png", Token: e.ServiceRoleKey(),
			Body: body, Header: http.Header{"Content-Type": {contentType}, "X-Upsert": {"false"}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

		got := e.download(t, e.ServiceRoleKey(), "forms", "pic.png")
		require.Equal(t, png, got.Body)
		require.Equal(t, "image/png", got.Header.Get("Content-Type"))
		require.Equal(t, "max-age=60", got.Header.Get("Cache-Control"), "the cacheControl field, as max-age")
		info := decode[infoJSON](t, e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/forms/pic.png", Token: e.ServiceRoleKey()}))
		require.Equal(t, map[string]any{"from": "blob"}, info.Metadata)

		empty, contentType := emptyForm(t)
		resp = e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/forms/none.png", Token: e.ServiceRoleKey(),
			Body: empty, Header: http.Header{"Content-Type": {contentType}}})
		requireError(t, resp, "400", "InvalidRequest")
	})
}

func TestOverwriteNeedsUpsertAndReplacesTheBytes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "b"})
		svc := e.ServiceRoleKey()
		first := e.upload(t, svc, "b", "doc.txt", "text/plain", []byte("version one"), nil)
		require.Equal(t, http.StatusOK, first.Status)

		dup := e.upload(t, svc, "b", "doc.txt", "text/plain", []byte("version two"), nil)
		body := requireError(t, dup, "409", "KeyAlreadyExists")
		require.Equal(t, "Duplicate", body.Error)
		require.Equal(t, "The resource already exists", body.Message)
		require.Equal(t, []byte("version one"), e.download(t, svc, "b", "doc.txt").Body)

		up := e.upload(t, svc, "b", "doc.txt", "text/plain", []byte("version two"), http.Header{"X-Upsert": {"true"}})
		require.Equal(t, http.StatusOK, up.Status, "%s", up.Body)
		require.Equal(t, decode[uploadJSON](t, first).ID, decode[uploadJSON](t, up).ID, "the object keeps its id")
		require.Equal(t, []byte("version two"), e.download(t, svc, "b", "doc.txt").Body)

		put := e.Do(t, servicetest.Request{Method: http.MethodPut, Path: "/storage/v1/object/b/doc.txt", Token: svc,
			Body: []byte("version three"), Header: http.Header{"Content-Type": {"text/plain"}}})
		require.Equal(t, http.StatusOK, put.Status, "PUT always replaces: %s", put.Body)
		require.Equal(t, []byte("version three"), e.download(t, svc, "b", "doc.txt").Body)

		require.Len(t, e.blobKeys(t), 1, "the replaced versions' bytes are gone")
	})
}

func TestListReturnsOneLevelWithFolders(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "tree"})
		svc := e.ServiceRoleKey()
		for _, name := range []string{"b.txt", "a.txt", "Photos/x.png", "photos/1.png", "photos/2.png", "photos/sub/deep.png", "Zed.txt"} {
			require.Equal(t, http.StatusOK, e.upload(t, svc, "tree", name, "text/plain", []byte(name), nil).Status)
		}
		list := func(body map[string]any) []fileJSON {
			resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list/tree", Body: body})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			return decode[[]fileJSON](t, resp)
		}
		names := func(files []fileJSON) []string {
			out := make([]string, len(files))
			for i, f := range files {
				out[i] = f.Name
			}
			return out
		}

		root := list(map[string]any{"prefix": "", "limit": 100, "offset": 0, "sortBy": map[string]any{"column": "name", "order": "asc"}})
		require.Equal(t, []string{"a.txt", "b.txt", "Photos", "photos", "Zed.txt"}, names(root))
		for _, f := range root {
			if f.Name == "photos" || f.Name == "Photos" {
				require.Nil(t, f.ID, "folders have id null")
				require.Nil(t, f.Metadata)
				require.Nil(t, f.UpdatedAt)
			} else {
				require.NotNil(t, f.ID)
				require.EqualValues(t, len(f.Name), f.Metadata["size"])
			}
		}

		// Prefixes match case-insensitively, as Supabase's ILIKE does: "photos" takes in
		// "Photos/x.png" too. Names are relative to the prefix.
		sub := list(map[string]any{"prefix": "photos"})
		require.Equal(t, []string{"1.png", "2.png", "sub", "x.png"}, names(sub))
		require.Equal(t, []string{"x.png", "sub", "2.png", "1.png"}, names(list(map[string]any{"prefix": "photos/", "sortBy": map[string]any{"column": "name", "order": "desc"}})))
		require.Equal(t, []string{"2.png"}, names(list(map[string]any{"prefix": "photos", "limit": 1, "offset": 1})))
		require.Equal(t, []string{"sub"}, names(list(map[string]any{"prefix": "photos", "search": "S"})), "search matches the start, case-insensitively")

		byDate := list(map[string]any{"prefix": "photos", "sortBy": map[string]any{"column": "created_at", "order": "desc"}})
		require.Equal(t, []string{"sub", "2.png", "1.png", "x.png"}, names(byDate), "folders first, then files by date")

		require.Empty(t, list(map[string]any{"prefix": "nothing/here"}))
		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list/tree", Body: map[string]any{"prefix": "", "sortBy": map[string]any{"column": "size"}}})
		requireError(t, resp, "400", "InvalidParameter")
	})
}

func TestMoveCopyAndRemove(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "src"})
		e.createBucket(t, map[string]any{"name": "dst"})
		svc := e.ServiceRoleKey()
		require.Equal(t, http.StatusOK, e.upload(t, svc, "src", "a/one.txt", "text/plain", []byte("one"), nil).Status)

		resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move",
			Body: map[string]any{"bucketId": "src", "sourceKey": "a/one.txt", "destinationKey": "b/moved.txt"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"message":"Successfully moved"}`, string(resp.Body))
		requireError(t, e.download(t, svc, "src", "a/one.txt"), "404", "NoSuchKey")
		require.Equal(t, []byte("one"), e.download(t, svc, "src", "b/moved.txt").Body)

		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move",
			Body: map[string]any{"bucketId": "src", "sourceKey": "b/moved.txt", "destinationKey": "across.txt", "destinationBucket": "dst"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, []byte("one"), e.download(t, svc, "dst", "across.txt").Body)

		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy",
			Body: map[string]any{"bucketId": "dst", "sourceKey": "across.txt", "destinationKey": "copy.txt"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.Equal(t, "dst/copy.txt", decode[uploadJSON](t, resp).Key)
		require.Equal(t, []byte("one"), e.download(t, svc, "dst", "copy.txt").Body)

		// A copy onto an existing name needs x-upsert; a move onto one is refused.
		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy",
			Body: map[string]any{"bucketId": "dst", "sourceKey": "across.txt", "destinationKey": "copy.txt"}})
		requireError(t, resp, "409", "KeyAlreadyExists")
		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/move",
			Body: map[string]any{"bucketId": "dst", "sourceKey": "across.txt", "destinationKey": "copy.txt"}})
		requireError(t, resp, "409", "KeyAlreadyExists")
		resp = e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/copy",
			Body: map[string]any{"bucketId": "dst", "sourceKey": "missing.txt", "destinationKey": "x.txt"}})
		requireError(t, resp, "404", "NoSuchKey")

		resp = e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/dst/copy.txt"})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		require.JSONEq(t, `{"message":"Successfully deleted"}`, string(resp.Body))
		requireError(t, e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/dst/copy.txt"}), "404", "NoSuchKey")

		require.Equal(t, http.StatusOK, e.upload(t, svc, "dst", "two.txt", "text/plain", []byte("two"), nil).Status)
		resp = e.asService(t, servicetest.Request{Method: http.MethodDelete, Path: "/storage/v1/object/dst",
			Body: map[string]any{"prefixes": []string{"across.txt", "two.txt", "never-was.txt"}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		removed := decode[[]fileJSON](t, resp)
		require.ElementsMatch(t, []string{"across.txt", "two.txt"}, []string{removed[0].Name, removed[1].Name}, "unknown names are skipped")
		require.Len(t, removed, 2)

		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Empty(t, e.blobKeys(t), "every blob went with its row")
	})
}

func TestObjectNamesAreValidated(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "names"})
		svc := e.ServiceRoleKey()
		for _, name := range []string{"a%2F..%2F..%2Fetc%2Fpasswd", "..%2Fescape", "a/%2E%2E/b", "dot/%2E/x", "tilde~", "percent%25", "ctl%01x", "nul%00x", "back%5Cslash", strings.Repeat("k", 1025)} {
			resp := e.upload(t, svc, "names", name, "text/plain", []byte("x"), nil)
			require.Equal(t, http.StatusBadRequest, resp.Status, "name %q: %s", name, resp.Body)
		}
		require.Zero(t, e.count(t, `SELECT count(*) FROM storage.objects`))
		require.Empty(t, e.blobKeys(t))

		for _, name := range []string{"with space.txt", "ünïcode/файл.txt", "emoji😀.txt", "q&a (1)!.txt"} {
			resp := e.upload(t, svc, "names", name, "text/plain", []byte(name), nil)
			require.Equal(t, http.StatusOK, resp.Status, "name %q: %s", name, resp.Body)
			require.Equal(t, []byte(name), e.download(t, svc, "names", name).Body)
		}
	})
}

func TestInfoMetadataIsAnObjectEvenWithoutCustomMetadata(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "plain"})
		svc := e.ServiceRoleKey()
		rawMetadata := func(name string) string {
			t.Helper()
			resp := e.Do(t, servicetest.Request{Method: http.MethodGet, Path: "/storage/v1/object/info/plain/" + name, Token: svc})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			var body map[string]json.RawMessage
			resp.JSON(t, &body)
			return string(body["metadata"])
		}

		// Raw and multipart uploads without metadata store {}, as Supabase's uploads do.
		require.Equal(t, http.StatusOK, e.upload(t, svc, "plain", "raw.txt", "text/plain", []byte("raw"), nil).Status)
		form, contentType := multipartBody(t, "text/plain", []byte("form"), "")
		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/plain/form.txt", Token: svc,
			Body: form, Header: http.Header{"Content-Type": {contentType}}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		for _, name := range []string{"raw.txt", "form.txt"} {
			require.Equal(t, "{}", rawMetadata(name), name)
			require.Equal(t, 1, e.count(t, `SELECT count(*) FROM storage.objects WHERE name = $1 AND user_metadata = '{}'::jsonb`, name))
		}
		// A row without any (older rows, resumable uploads, SQL) reads as {} too.
		e.exec(t, `UPDATE storage.objects SET user_metadata = NULL WHERE name = 'raw.txt'`)
		require.Equal(t, "{}", rawMetadata("raw.txt"))
		// Custom metadata is returned as it was given.
		md := base64.StdEncoding.EncodeToString([]byte(`{"x":1}`))
		require.Equal(t, http.StatusOK, e.upload(t, svc, "plain", "md.txt", "text/plain", []byte("md"), http.Header{"X-Metadata": {md}}).Status)
		require.JSONEq(t, `{"x":1}`, rawMetadata("md.txt"))
	})
}
