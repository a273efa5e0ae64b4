package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
)

// bucketBody is a bucket as Supabase Storage returns it: only these fields (type only in the
// list), timestamps as toISOString writes them, and owner the owner column's UUID or "" (what
// its serializer makes of NULL).
type bucketBody struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Owner            string   `json:"owner"`
	Public           bool     `json:"public"`
	Type             string   `json:"type,omitempty"`
	FileSizeLimit    *int64   `json:"file_size_limit"`
	AllowedMimeTypes []string `json:"allowed_mime_types"`
	CreatedAt        *jsTime  `json:"created_at"`
	UpdatedAt        *jsTime  `json:"updated_at"`
}

const bucketColumns = `id, name, coalesce(owner::text, ''), coalesce(public, false), type::text,
file_size_limit, allowed_mime_types, created_at, updated_at`

// scanBucket reads a row of bucketColumns; withType keeps the type, which Supabase sends in
// the list of buckets but not for one bucket.
func scanBucket(row pgx.Row, withType bool) (bucketBody, error) {
	var b bucketBody
	var created, updated *time.Time
	err := row.Scan(&b.ID, &b.Name, &b.Owner, &b.Public, &b.Type, &b.FileSizeLimit, &b.AllowedMimeTypes, &created, &updated)
	b.CreatedAt, b.UpdatedAt = jsTimeOf(created), jsTimeOf(updated)
	if !withType {
		b.Type = ""
	}
	return b, err
}

// inRole runs fn as the caller of r, mapping database errors to Storage's.
func (s *Service) inRole(r *http.Request, scope db.RequestScope, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx := r.Context()
	err := s.runner.InRole(ctx, scope, func(tx pgx.Tx) error { return fn(ctx, tx) })
	return dbError(err)
}

// bucketSortColumns are the columns GET /bucket may sort by.
var bucketSortColumns = map[string]string{"id": "id", "name": "name", "created_at": "created_at", "updated_at": "updated_at"}

// listBuckets serves GET /bucket?limit=&offset=&search=&sortColumn=&sortOrder=: the buckets
// the caller's SELECT policies on storage.buckets let it see.
func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	column, ok := bucketSortColumns[q.Get("sortColumn")]
	if q.Get("sortColumn") == "" {
		column, ok = "name", true
	}
	if !ok {
		return errInvalidParameter("sortColumn", "sortColumn must be one of id, name, created_at, updated_at")
	}
	order := "ASC"
	switch q.Get("sortOrder") {
	case "", "asc":
	case "desc":
		order = "DESC"
	default:
		return errInvalidParameter("sortOrder", "sortOrder must be asc or desc")
	}
	limit, err := queryInt(q.Get("limit"), -1, "limit")
	if err != nil {
		return err
	}
	offset, err := queryInt(q.Get("offset"), 0, "offset")
	if err != nil {
		return err
	}
	sql := `SELECT ` + bucketColumns + ` FROM storage.buckets
WHERE $1 = '' OR name ILIKE '%' || replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || '%'
ORDER BY ` + column + ` ` + order + `, id
LIMIT CASE WHEN $2 < 0 THEN NULL ELSE $2 END OFFSET $3`
	out := []bucketBody{}
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, q.Get("search"), limit, offset)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (bucketBody, error) { return scanBucket(row, true) })
		return err
	})
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func queryInt(v string, def int64, name string) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalidParameter(name, name+" must be a non-negative whole number")
	}
	return n, nil
}

// getBucket serves GET /bucket/{id}.
func (s *Service) getBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var b bucketBody
	found := false
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		var err error
		b, err = scanBucket(tx.QueryRow(ctx, `SELECT `+bucketColumns+` FROM storage.buckets WHERE id = $1`, r.PathValue("id")), false)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return errNoSuchBucket()
	}
	return httpx.WriteJSON(w, http.StatusOK, b)
}

// bucketRequest is the body of POST /bucket and PUT /bucket/{id}. Absent fields of an
// update are left as they are; null clears a limit.
type bucketRequest struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Public           *bool           `json:"public"`
	FileSizeLimit    fileSizeLimit   `json:"file_size_limit"`
	AllowedMimeTypes json.RawMessage `json:"allowed_mime_types"`
	Type             string          `json:"type"`
	// VerifyContent is Go Forward's verify_content column: true or false decides for the
	// bucket, null follows the server's storage.verify_content. Not part of Supabase's API
	// (storage-js never sends it) and not in the bucket JSON.
	VerifyContent nullableBool `json:"verify_content"`
}

// nullableBool is a JSON field that may be absent, null or a boolean.
type nullableBool struct {
	set   bool  // the field was present
	value *bool // nil: null
}

func (n *nullableBool) UnmarshalJSON(data []byte) error {
	n.set = true
	if string(data) == "null" {
		return nil
	}
	var v bool
	if err := json.Unmarshal(data, &v); err != nil {
		return errInvalidRequest("verify_content must be true, false or null")
	}
	n.value = &v
	return nil
}

// mimeTypes reads allowed_mime_types: absent (unchanged), null (any type) or a list, from
// which empty entries are dropped as Supabase drops them.
func (b bucketRequest) mimeTypes() (set bool, types []string, err error) {
	if len(b.AllowedMimeTypes) == 0 {
		return false, nil, nil
	}
	if err := json.Unmarshal(b.AllowedMimeTypes, &types); err != nil {
		return false, nil, errInvalidRequest("allowed_mime_types must be a list of MIME types")
	}
	kept := types[:0]
	for _, t := range types {
		if t != "" {
			kept = append(kept, t)
		}
	}
	if types == nil {
		return true, nil, nil
	}
	return true, kept, nil
}

// createBucket serves POST /bucket. It needs an INSERT policy on storage.buckets, so on a
// default project only the service role can create buckets, as on Supabase.
func (s *Service) createBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req bucketRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return errMissingParameter("name")
	}
	id := req.ID
	if id == "" {
		id = req.Name
	}
	if err := checkNewBucketName(id); err != nil {
		return err
	}
	if err := checkNewBucketName(req.Name); err != nil {
		return err
	}
	switch req.Type {
	case "", "STANDARD":
	default:
		return errInvalidParameter("type", "Only STANDARD buckets are supported")
	}
	_, mimeTypes, err := req.mimeTypes()
	if err != nil {
		return err
	}
	o := c.owner()
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types, verify_content)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, req.Name, o.uuid, o.ownerID(), req.Public != nil && *req.Public, req.FileSizeLimit.bytes, mimeTypes,
			req.VerifyContent.value)
		if pgCode(err) == pgUniqueViolation {
			return errBucketAlreadyExists().WithCause(err)
		}
		return err
	})
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"name": req.Name})
}

// updateBucket serves PUT /bucket/{id}: public, file_size_limit, allowed_mime_types and
// verify_content.
func (s *Service) updateBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req bucketRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	setMime, mimeTypes, err := req.mimeTypes()
	if err != nil {
		return err
	}
	var updated int64
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE storage.buckets SET
  public = coalesce($2, public),
  file_size_limit = CASE WHEN $3 THEN $4 ELSE file_size_limit END,
  allowed_mime_types = CASE WHEN $5 THEN $6 ELSE allowed_mime_types END,
  verify_content = CASE WHEN $7 THEN $8 ELSE verify_content END,
  updated_at = now()
WHERE id = $1`, r.PathValue("id"), req.Public, req.FileSizeLimit.set, req.FileSizeLimit.bytes, setMime, mimeTypes,
			req.VerifyContent.set, req.VerifyContent.value)
		updated = tag.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if updated == 0 {
		return errNoSuchBucket()
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Successfully updated"})
}

// deleteBucket serves DELETE /bucket/{id}: only an empty bucket can go. The row is deleted
// as the caller, and the objects' foreign key is what refuses a bucket that still has
// objects: that check only happens for a row the caller's policies let it delete, so a
// caller who may not delete the bucket (or not even see it) gets NoSuchBucket whether or
// not the bucket exists and holds objects. Supabase counts the objects as its superuser
// first, which tells anyone that a bucket exists and is not empty.
func (s *Service) deleteBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	var deleted int64
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, allowDeleteSQL); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM storage.buckets WHERE id = $1`, id)
		if pgCode(err) == pgForeignKeyViolation {
			return errBucketNotEmpty().WithCause(err)
		}
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if deleted == 0 {
		return errNoSuchBucket()
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Successfully deleted"})
}

// emptiedMessage is Supabase's answer to emptying a bucket.
const emptiedMessage = "Empty bucket has been queued. Completion may take up to an hour."

// emptyBatch is how many objects one transaction of emptyBucket deletes.
const emptyBatch = 1000

// emptyBucket serves POST /bucket/{id}/empty: it deletes every object the caller may delete
// (all of them for the service role), in batches, with their bytes.
func (s *Service) emptyBucket(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	var exists bool
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM storage.buckets WHERE id = $1)`, id).Scan(&exists)
	})
	if err != nil {
		return err
	}
	if !exists {
		return errNoSuchBucket()
	}
	// Batches walk the names in order, so rows the caller may see but not delete are passed
	// over rather than met again.
	after := ""
	for {
		var selected int
		var deleted []objectRow
		err := s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id::text, name FROM storage.objects
WHERE bucket_id = $1 AND name > $2 ORDER BY name LIMIT $3`, id, after, emptyBatch)
			if err != nil {
				return err
			}
			var ids []string
			for rows.Next() {
				var oid string
				if err := rows.Scan(&oid, &after); err != nil {
					return err
				}
				ids = append(ids, oid)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			selected = len(ids)
			if selected == 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, allowDeleteSQL); err != nil {
				return err
			}
			rows, err = tx.Query(ctx, `DELETE FROM storage.objects WHERE id = ANY($1::uuid[]) RETURNING `+objectColumns, ids)
			if err != nil {
				return err
			}
			deleted, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (objectRow, error) { return scanObject(row) })
			return err
		})
		if err != nil {
			return fmt.Errorf("empty bucket: %w", err)
		}
		s.removeBlobsOf(r.Context(), deleted)
		if selected < emptyBatch {
			break
		}
	}
	// Supabase queues the work and says so; the bucket is already empty here, but clients
	// (and storage-js's own tests) match this text.
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": emptiedMessage})
}

// removeBlobsOf removes the bytes of deleted rows.
func (s *Service) removeBlobsOf(ctx context.Context, rows []objectRow) {
	for _, row := range rows {
		if key := row.blobKey(); key != "" {
			s.removeBlob(ctx, key)
		}
	}
}
