package storage

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// listV2Request is the body of POST /object/list-v2/{bucket} (storage-js listV2()).
type listV2Request struct {
	Prefix        string `json:"prefix"`
	Limit         *int   `json:"limit"`
	Cursor        string `json:"cursor"`
	WithDelimiter bool   `json:"with_delimiter"`
	SortBy        *struct {
		Column string `json:"column"`
		Order  string `json:"order"`
	} `json:"sortBy"`
}

// listV2Response is Supabase's answer: one page of folders and objects, and the cursor of
// the next page when there is one.
type listV2Response struct {
	HasNext       bool          `json:"hasNext"`
	NextCursor    string        `json:"nextCursor,omitempty"`
	NextCursorKey string        `json:"nextCursorKey,omitempty"`
	Folders       []listV2Entry `json:"folders"`
	Objects       []listV2Entry `json:"objects"`
}

// listV2Entry is a folder or an object as list-v2 returns it: full names (folders end in
// "/"), and with a delimiter the key, the name's segment at the prefix's depth.
type listV2Entry struct {
	Key            *string         `json:"key,omitempty"`
	Name           string          `json:"name"`
	ID             *string         `json:"id"`
	UpdatedAt      *jsTime         `json:"updated_at"`
	CreatedAt      *jsTime         `json:"created_at"`
	LastAccessedAt *jsTime         `json:"last_accessed_at"`
	Metadata       json.RawMessage `json:"metadata"`
}

// listV2Cursor is where a page ends, in Supabase's continuation token: base64 of
// "l:<last name>\no:<order>\nc:<column>\na:<last sort value>", each line only when set.
// Tokens from either server page through the other's listing the same way.
type listV2Cursor struct {
	startAfter string // the last entry's name (a folder's without its "/")
	order      string
	column     string
	after      string // the last entry's sort value (a date sort), as toISOString writes it
}

var listV2CursorParts = []struct {
	key   string
	field func(c *listV2Cursor) *string
}{
	{"l", func(c *listV2Cursor) *string { return &c.startAfter }},
	{"o", func(c *listV2Cursor) *string { return &c.order }},
	{"c", func(c *listV2Cursor) *string { return &c.column }},
	{"a", func(c *listV2Cursor) *string { return &c.after }},
}

func (c listV2Cursor) encode() string {
	var lines []string
	for _, p := range listV2CursorParts {
		if v := *p.field(&c); v != "" {
			lines = append(lines, p.key+":"+v)
		}
	}
	return base64.StdEncoding.EncodeToString([]byte(strings.Join(lines, "\n")))
}

func decodeListV2Cursor(token string) (listV2Cursor, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return listV2Cursor{}, errInvalidParameter("continuation token", "")
	}
	var c listV2Cursor
	for line := range strings.SplitSeq(string(raw), "\n") {
		key, value, ok := strings.Cut(line, ":")
		found := false
		for _, p := range listV2CursorParts {
			if ok && p.key == key {
				*p.field(&c), found = value, true
			}
		}
		if !found {
			return listV2Cursor{}, errInvalidParameter("continuation token", "")
		}
	}
	return c, nil
}

// Sort columns and orders list-v2 accepts; the SQL is built only from these.
var (
	listV2SortColumns = map[string]bool{"name": true, "updated_at": true, "created_at": true}
	listV2SortOrders  = map[string]string{"asc": "ASC", "desc": "DESC"}
)

// listObjectsV2 serves POST /object/list-v2/{bucket}: the objects whose names start with
// prefix (literally and case-sensitively), in pages of limit (default and at most 1000) that
// a cursor continues, sorted by name (byte order) or by created_at/updated_at (then name).
// With with_delimiter, names are cut at the first "/" after the prefix: everything under one
// such folder is one folder entry, dated in a date sort by its oldest object's created_at
// (Supabase's rule). Only what the caller's SELECT policies show is listed, folders included.
func (s *Service) listObjectsV2(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req listV2Request
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	limit := maxListLimit
	if req.Limit != nil {
		if *req.Limit < 1 {
			return errInvalidParameter("limit", "limit must be at least 1")
		}
		limit = min(*req.Limit, maxListLimit)
	}
	// cursor is the listing's sort, from the request or, continuing a page, from the cursor
	// (as Supabase does); its order stays "" when none was given, as Supabase's tokens leave
	// it out then.
	var cursor listV2Cursor
	if req.SortBy != nil {
		cursor.column, cursor.order = req.SortBy.Column, req.SortBy.Order
		if !listV2SortColumns[cursor.column] {
			return errInvalidParameter("sortBy", "sortBy.column must be one of name, updated_at, created_at")
		}
	}
	if req.Cursor != "" {
		if cursor, err = decodeListV2Cursor(req.Cursor); err != nil {
			return err
		}
		if cursor.startAfter == "" || (cursor.column != "" && !listV2SortColumns[cursor.column]) {
			return errInvalidParameter("continuation token", "")
		}
	}
	order, ok := listV2SortOrders[cmp.Or(cursor.order, "asc")]
	if !ok {
		return errInvalidParameter("sortBy", "sortBy.order must be asc or desc")
	}
	byDate := cursor.column == "created_at" || cursor.column == "updated_at"
	args := []any{r.PathValue("bucket"), req.Prefix, req.WithDelimiter, cursor.startAfter, limit + 1}
	if byDate {
		after := time.Unix(0, 0) // a continued date sort: where the last page ended
		if cursor.after != "" {
			if after, err = time.Parse(time.RFC3339Nano, cursor.after); err != nil {
				return errInvalidParameter("continuation token", "")
			}
		}
		args = append(args, after)
	}

	sql := listV2SQL(cursor.column, order, byDate)
	var entries []listV2Row
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (listV2Row, error) {
			var e listV2Row
			err := row.Scan(&e.name, &e.id, &e.updatedAt, &e.createdAt, &e.lastAccessedAt, &e.metadata, &e.folder)
			return e, err
		})
		return err
	})
	if err != nil {
		return err
	}

	out := listV2Response{Folders: []listV2Entry{}, Objects: []listV2Entry{}}
	if len(entries) > limit {
		last := entries[limit-1]
		next := listV2Cursor{startAfter: last.name, order: cursor.order, column: cursor.column}
		if byDate {
			next.after = time.Unix(0, 0).UTC().Format(lastModifiedLayout)
			if t := last.sortValue(cursor.column); t != nil {
				next.after = t.UTC().Format(lastModifiedLayout)
			}
		}
		out.HasNext, out.NextCursor, out.NextCursorKey = true, next.encode(), last.name
		entries = entries[:limit]
	}
	levels := 1
	if req.Prefix != "" {
		levels = strings.Count(req.Prefix, "/") + 1
	}
	for _, e := range entries {
		entry := e.entry()
		if req.WithDelimiter {
			key := segment(e.name, levels)
			entry.Key = &key
		}
		if e.folder {
			out.Folders = append(out.Folders, entry)
		} else {
			out.Objects = append(out.Objects, entry)
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// segment is the n-th "/"-separated part of name (1-based), or "" (PostgreSQL's split_part).
func segment(name string, n int) string {
	parts := strings.Split(name, "/")
	if n > len(parts) {
		return ""
	}
	return parts[n-1]
}

// listV2Row is a row of listV2SQL.
type listV2Row struct {
	name                                 string
	id                                   *string
	updatedAt, createdAt, lastAccessedAt *time.Time
	metadata                             json.RawMessage
	folder                               bool
}

func (e listV2Row) sortValue(column string) *time.Time {
	if column == "updated_at" {
		return e.updatedAt
	}
	return e.createdAt
}

func (e listV2Row) entry() listV2Entry {
	name := e.name
	if e.folder {
		name += "/"
	}
	return listV2Entry{
		Name: name, ID: e.id, UpdatedAt: jsTimeOf(e.updatedAt), CreatedAt: jsTimeOf(e.createdAt),
		LastAccessedAt: jsTimeOf(e.lastAccessedAt), Metadata: jsonOrNull(e.metadata),
	}
}

// listV2SQL builds the page query; column and order come from fixed lists. Parameters: $1
// bucket, $2 prefix, $3 with delimiter, $4 the cursor's last name ("" for the first page),
// $5 how many rows (one more than the page, to know whether another follows), and for date
// sorts $6 the cursor's date.
//
// Entries are folders (the name up to the first "/" after the prefix, without it) and
// objects. By name they are in byte order of what they stand for, a folder as its name with
// the "/" (so "a/b.txt" comes before the folder "a/b", as "a/b.txt" < "a/b/..."), and a cursor
// naming a folder continues after everything in it. By date they are ordered by the date at
// millisecond precision (what a cursor records), then by name.
func listV2SQL(column, order string, byDate bool) string {
	op := ">"
	if order == "DESC" {
		op = "<"
	}
	dateOf := func(col string) string {
		return `coalesce(date_trunc('milliseconds', ` + col + `), 'epoch'::timestamptz)`
	}
	var where, orderBy string
	if byDate {
		where = `$4 = '' OR ROW(` + dateOf(column) + `, name COLLATE "C") ` + op + ` ROW($6::timestamptz, $4 COLLATE "C")`
		orderBy = dateOf(column) + ` ` + order + `, name COLLATE "C" ` + order
	} else {
		where = `$4 = '' OR sort_key ` + op + ` (CASE WHEN EXISTS (
      SELECT 1 FROM storage.objects c WHERE c.bucket_id = $1 AND starts_with(c.name, $4 || '/')
    ) THEN $4 || '/' ELSE $4 END) COLLATE "C"`
		orderBy = `sort_key ` + order
	}
	folderDate := `NULL::timestamptz`
	if byDate {
		folderDate = `min(created_at)`
	}
	return `WITH matched AS (
  SELECT o.name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
         CASE WHEN $3 THEN strpos(substr(o.name, length($2) + 1), '/') ELSE 0 END AS slash
  FROM storage.objects o
  WHERE o.bucket_id = $1 AND starts_with(o.name, $2)
), entries AS (
  SELECT left(name, length($2) + slash - 1) AS name, NULL::text AS id,
         ` + folderDate + ` AS updated_at, ` + folderDate + ` AS created_at,
         NULL::timestamptz AS last_accessed_at, NULL::jsonb AS metadata, true AS folder
  FROM matched WHERE slash > 0
  GROUP BY left(name, length($2) + slash - 1)
  UNION ALL
  SELECT name, id::text, updated_at, created_at, last_accessed_at, metadata, false
  FROM matched WHERE slash = 0
), keyed AS (
  SELECT *, (CASE WHEN folder THEN name || '/' ELSE name END) COLLATE "C" AS sort_key FROM entries
)
SELECT name, id, updated_at, created_at, last_accessed_at, metadata, folder FROM keyed
WHERE ` + where + `
ORDER BY ` + orderBy + `
LIMIT $5`
}
