package storage

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// List defaults and bounds, as Supabase has them.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// listRequest is the body of POST /object/list/{bucket}.
type listRequest struct {
	Prefix *string `json:"prefix"`
	Limit  *int    `json:"limit"`
	Offset *int    `json:"offset"`
	SortBy *struct {
		Column string `json:"column"`
		Order  string `json:"order"`
	} `json:"sortBy"`
	Search string `json:"search"`
}

var listSortColumns = map[string]bool{"name": true, "updated_at": true, "created_at": true, "last_accessed_at": true}

// listObjects serves POST /object/list/{bucket}: one level of the bucket under prefix, as
// Supabase's storage.search returns it. Objects directly under the prefix come with their
// details; deeper ones are summed up as folders ({name, id: null, metadata: null, ...}).
// Names are relative to the prefix (which is taken as a folder: "photos" means "photos/"),
// search keeps the names starting with it (case-insensitively), and only what the caller's
// SELECT policies show is listed, folders included.
func (s *Service) listObjects(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req listRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Prefix == nil {
		return errMissingParameter("prefix")
	}
	prefix := *req.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	limit, offset := defaultListLimit, 0
	if req.Limit != nil {
		if *req.Limit < 1 {
			return errInvalidParameter("limit", "limit must be at least 1")
		}
		limit = min(*req.Limit, maxListLimit)
	}
	if req.Offset != nil {
		if *req.Offset < 0 {
			return errInvalidParameter("offset", "offset must not be negative")
		}
		offset = *req.Offset
	}
	column, order := "name", "ASC"
	if req.SortBy != nil {
		if req.SortBy.Column != "" {
			if !listSortColumns[req.SortBy.Column] {
				return errInvalidParameter("sortBy", "sortBy.column must be one of name, updated_at, created_at, last_accessed_at")
			}
			column = req.SortBy.Column
		}
		switch strings.ToLower(req.SortBy.Order) {
		case "", "asc":
		case "desc":
			order = "DESC"
		default:
			return errInvalidParameter("sortBy", "sortBy.order must be asc or desc")
		}
	}
	sql := listSQL(column, order)
	out := []fileObject{}
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, r.PathValue("bucket"), prefix+req.Search, utf8.RuneCountInString(prefix), limit, offset)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (fileObject, error) {
			var f fileObject
			var updated, created, accessed *time.Time
			err := row.Scan(&f.Name, &f.ID, &updated, &created, &accessed, &f.Metadata)
			f.UpdatedAt, f.CreatedAt, f.LastAccessedAt = jsTimeOf(updated), jsTimeOf(created), jsTimeOf(accessed)
			f.Metadata = jsonOrNull(f.Metadata)
			return f, err
		})
		return err
	})
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// listSQL builds the listing query for a sort column and order taken from fixed lists.
// Sorting by name interleaves folders and files (case-insensitively, as Supabase does);
// sorting by a date puts the folders first, by name, then the files by that date.
func listSQL(column, order string) string {
	orderBy := `lower(name) COLLATE "C" ` + order + `, name COLLATE "C" ` + order
	if column != "name" {
		orderBy = `folder DESC, (CASE WHEN folder THEN lower(name) END) COLLATE "C" ` + order +
			`, ` + column + ` ` + order + `, name COLLATE "C"`
	}
	return `WITH matched AS (
  SELECT o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata, substr(o.name, $3 + 1) AS rel
  FROM storage.objects o
  WHERE o.bucket_id = $1 AND starts_with(lower(o.name), lower($2))
), entries AS (
  SELECT split_part(rel, '/', 1) AS name, NULL::text AS id, NULL::timestamptz AS updated_at,
         NULL::timestamptz AS created_at, NULL::timestamptz AS last_accessed_at, NULL::jsonb AS metadata,
         true AS folder
  FROM matched WHERE strpos(rel, '/') > 0
  GROUP BY split_part(rel, '/', 1)
  UNION ALL
  SELECT rel, id::text, updated_at, created_at, last_accessed_at, metadata, false
  FROM matched WHERE strpos(rel, '/') = 0
)
SELECT name, id, updated_at, created_at, last_accessed_at, metadata FROM entries
ORDER BY ` + orderBy + `
LIMIT $4 OFFSET $5`
}
