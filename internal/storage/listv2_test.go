package storage_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/servicetest"
	"github.com/goforward/goforward/internal/storage"
)

type listV2JSON struct {
	HasNext       bool          `json:"hasNext"`
	NextCursor    *string       `json:"nextCursor"`
	NextCursorKey *string       `json:"nextCursorKey"`
	Folders       []listV2Entry `json:"folders"`
	Objects       []listV2Entry `json:"objects"`
}

type listV2Entry struct {
	Key       *string         `json:"key"`
	Name      string          `json:"name"`
	ID        *string         `json:"id"`
	CreatedAt *string         `json:"created_at"`
	UpdatedAt *string         `json:"updated_at"`
	Metadata  json.RawMessage `json:"metadata"`
}

// listV2Objects are the names of the list-v2 tests, with the creation time (seconds into
// 2024) each gets: not the order of their names, two in the same millisecond, and a folder
// (docs) whose oldest object is not its first by name.
var listV2Objects = map[string]string{
	"wild_1/hit.txt":  "00:00:01",
	"docs/2.txt":      "00:00:02",
	"a.txt":           "00:00:03",
	"docs/1.txt":      "00:00:03",
	"B.txt":           "00:00:04",
	"docs.txt":        "00:00:04.0003",
	"pics/x.png":      "00:00:05",
	"docs/sub/3.txt":  "00:00:06",
	"wildX1/miss.txt": "00:00:07",
}

func TestListV2PagesFoldersAndObjectsAsSupabaseDoes(t *testing.T) {
	t.Parallel()
	eachBackend(t, storage.Config{}, func(t *testing.T, e *env) {
		e.createBucket(t, map[string]any{"name": "files"})
		svc := e.ServiceRoleKey()
		for name, created := range listV2Objects {
			require.Equal(t, http.StatusOK, e.upload(t, svc, "files", name, "text/plain", []byte(name), nil).Status)
			e.exec(t, `UPDATE storage.objects SET created_at = ('2024-01-01 ' || $2 || '+00')::timestamptz,
  updated_at = '2025-01-01 00:00:00+00' WHERE name = $1`, name, created)
		}
		list := func(body map[string]any) listV2JSON {
			t.Helper()
			resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list-v2/files", Body: body})
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			return decode[listV2JSON](t, resp)
		}
		names := func(entries []listV2Entry) []string {
			out := []string{}
			for _, e := range entries {
				out = append(out, e.Name)
			}
			return out
		}
		// pages lists with body page by page, following nextCursor, and returns each page's
		// folders and objects in the order listed (a folder ends in "/").
		pages := func(body map[string]any) [][]string {
			t.Helper()
			var out [][]string
			body = maps.Clone(body)
			for range 10 {
				page := list(body)
				entries := append(names(page.Folders), names(page.Objects)...)
				out = append(out, entries)
				if !page.HasNext {
					require.Nil(t, page.NextCursor)
					return out
				}
				require.NotNil(t, page.NextCursor)
				body["cursor"] = *page.NextCursor
			}
			t.Fatal("more pages than entries")
			return nil
		}

		// Without a delimiter: every object under the prefix, by full name in byte order.
		flat := list(map[string]any{})
		require.False(t, flat.HasNext)
		require.Empty(t, flat.Folders)
		require.Equal(t, []string{"B.txt", "a.txt", "docs.txt", "docs/1.txt", "docs/2.txt", "docs/sub/3.txt", "pics/x.png",
			"wildX1/miss.txt", "wild_1/hit.txt"}, names(flat.Objects))
		require.Nil(t, flat.Objects[0].Key, "no key without a delimiter")
		require.NotNil(t, flat.Objects[0].ID)
		require.Regexp(t, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`), *flat.Objects[0].CreatedAt)
		require.Equal(t, "2024-01-01T00:00:04.000Z", *flat.Objects[0].CreatedAt)
		require.Contains(t, string(flat.Objects[0].Metadata), `"mimetype":"text/plain"`)
		// The prefix is literal, as a string, not a folder: _ is no wildcard.
		require.Equal(t, []string{"wild_1/hit.txt"}, names(list(map[string]any{"prefix": "wild_"}).Objects))
		require.Equal(t, []string{"docs.txt", "docs/1.txt", "docs/2.txt", "docs/sub/3.txt"}, names(list(map[string]any{"prefix": "docs"}).Objects))
		require.Empty(t, list(map[string]any{"prefix": "DOCS"}).Objects, "prefixes match case-sensitively")

		// With a delimiter: one level, folders as full names ending in "/", with keys.
		root := list(map[string]any{"with_delimiter": true})
		require.Equal(t, []string{"docs/", "pics/", "wildX1/", "wild_1/"}, names(root.Folders))
		require.Equal(t, []string{"B.txt", "a.txt", "docs.txt"}, names(root.Objects))
		folder := root.Folders[0]
		require.Equal(t, "docs", *folder.Key)
		require.Nil(t, folder.ID)
		require.Nil(t, folder.CreatedAt)
		require.Equal(t, "null", string(folder.Metadata))
		require.Equal(t, "B.txt", *root.Objects[0].Key)

		docs := list(map[string]any{"with_delimiter": true, "prefix": "docs/"})
		require.Equal(t, []string{"docs/sub/"}, names(docs.Folders))
		require.Equal(t, "sub", *docs.Folders[0].Key)
		require.Equal(t, []string{"docs/1.txt", "docs/2.txt"}, names(docs.Objects))
		require.Equal(t, "1.txt", *docs.Objects[0].Key)
		partial := list(map[string]any{"with_delimiter": true, "prefix": "docs"})
		require.Equal(t, []string{"docs/"}, names(partial.Folders))
		require.Equal(t, []string{"docs.txt"}, names(partial.Objects))

		// Pages by name: a folder is where its objects are in byte order ("docs.txt" before
		// "docs/"), and a cursor on a folder continues after everything in it.
		first := list(map[string]any{"with_delimiter": true, "limit": 2})
		require.True(t, first.HasNext)
		require.Equal(t, base64.StdEncoding.EncodeToString([]byte("l:a.txt")), *first.NextCursor, "Supabase's token")
		require.Equal(t, "a.txt", *first.NextCursorKey)
		require.Equal(t, [][]string{{"B.txt", "a.txt"}, {"docs/", "docs.txt"}, {"pics/", "wildX1/"}, {"wild_1/"}},
			pages(map[string]any{"with_delimiter": true, "limit": 2}))
		require.Equal(t, [][]string{{"wild_1/", "wildX1/", "pics/"}, {"docs/", "docs.txt", "a.txt"}, {"B.txt"}},
			pages(map[string]any{"with_delimiter": true, "limit": 3, "sortBy": map[string]any{"column": "name", "order": "desc"}}))
		require.Equal(t, [][]string{{"docs/1.txt", "docs/2.txt"}, {"docs/sub/3.txt"}},
			pages(map[string]any{"prefix": "docs/", "limit": 2}))

		// Pages by date: a folder is dated by its oldest object; equal milliseconds go by
		// name, also across a page boundary (B.txt and docs.txt).
		byCreated := map[string]any{"with_delimiter": true, "limit": 2, "sortBy": map[string]any{"column": "created_at", "order": "asc"}}
		require.Equal(t, [][]string{{"wild_1/", "docs/"}, {"a.txt", "B.txt"}, {"pics/", "docs.txt"}, {"wildX1/"}}, pages(byCreated))
		dated := list(byCreated)
		require.Equal(t, "2024-01-01T00:00:02.000Z", *dated.Folders[1].CreatedAt, "the folder's oldest object")
		byCreated["sortBy"] = map[string]any{"column": "created_at", "order": "desc"}
		require.Equal(t, [][]string{{"wildX1/", "pics/"}, {"docs.txt", "B.txt"}, {"docs/", "a.txt"}, {"wild_1/"}}, pages(byCreated))
		require.Equal(t, [][]string{{"wild_1/hit.txt", "docs/2.txt", "a.txt"}, {"docs/1.txt", "B.txt", "docs.txt"},
			{"pics/x.png", "docs/sub/3.txt", "wildX1/miss.txt"}},
			pages(map[string]any{"limit": 3, "sortBy": map[string]any{"column": "created_at"}}))
		// A cursor as Supabase's server writes it continues here too.
		supabaseCursor := base64.StdEncoding.EncodeToString([]byte("l:a.txt\no:asc\nc:created_at\na:2024-01-01T00:00:03.000Z"))
		next := list(map[string]any{"with_delimiter": true, "limit": 2, "cursor": supabaseCursor})
		require.Equal(t, []string{"B.txt", "docs.txt"}, names(next.Objects))

		for _, bad := range []map[string]any{
			{"cursor": "not base64!"},
			{"cursor": base64.StdEncoding.EncodeToString([]byte("x:y"))},
			{"limit": 0},
			{"sortBy": map[string]any{"column": "size"}},
			{"sortBy": map[string]any{"column": "name", "order": "sideways"}},
		} {
			resp := e.asService(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list-v2/files", Body: bad})
			requireError(t, resp, "400", "InvalidParameter")
		}
	})
}

func TestListV2ShowsOnlyWhatPoliciesLetTheCallerSee(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local", storage.Config{})
	e.createBucket(t, map[string]any{"name": "private"})
	e.exec(t, supabaseDocsPolicies)
	a, b := uid(1), uid(2)
	tokenA, tokenB := e.UserToken(t, a, nil), e.UserToken(t, b, nil)
	for _, name := range []string{a + "/notes.txt", a + "/photos/1.png"} {
		require.Equal(t, http.StatusOK, e.upload(t, tokenA, "private", name, "text/plain", []byte("x"), nil).Status)
	}
	require.Equal(t, http.StatusOK, e.upload(t, tokenB, "private", b+"/secret/plan.txt", "text/plain", []byte("y"), nil).Status)

	list := func(token string, body map[string]any) listV2JSON {
		resp := e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list-v2/private", Token: token, Body: body})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		return decode[listV2JSON](t, resp)
	}
	got := list(tokenA, map[string]any{"with_delimiter": true})
	require.Len(t, got.Folders, 1, "only a's folder: b's objects are hidden, and so is the folder they make")
	require.Equal(t, a+"/", got.Folders[0].Name)
	require.Len(t, list(tokenA, map[string]any{}).Objects, 2)
	require.Empty(t, list(tokenA, map[string]any{"prefix": b + "/"}).Objects)
	requireError(t, e.Do(t, servicetest.Request{Method: http.MethodPost, Path: "/storage/v1/object/list-v2/private", Key: "-", Body: map[string]any{}}),
		"403", "AccessDenied")
}
