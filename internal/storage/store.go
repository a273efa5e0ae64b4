package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// bucketLimits is what an upload needs to know about its bucket. It is read as service_role,
// as Supabase reads it as its superuser: uploading into a bucket must not need a policy on
// storage.buckets.
type bucketLimits struct {
	ID               string
	Public           bool
	FileSizeLimit    *int64
	AllowedMimeTypes []string
	VerifyContent    *bool // nil: the server's Config.VerifyContent decides
}

// verifyContent reports whether the bucket's allowed_mime_types is also held against the
// sniffed bytes of what is stored in it.
func (b bucketLimits) verifyContent(global bool) bool {
	if b.VerifyContent != nil {
		return *b.VerifyContent
	}
	return global
}

// maxSize is the most bytes an object may have in this bucket under the global limit.
func (b bucketLimits) maxSize(global int64) int64 {
	if b.FileSizeLimit != nil && *b.FileSizeLimit > 0 && *b.FileSizeLimit < global {
		return *b.FileSizeLimit
	}
	return global
}

const selectBucketLimitsSQL = `SELECT id, coalesce(public, false), file_size_limit, allowed_mime_types, verify_content
FROM storage.buckets WHERE id = $1`

// findBucketLimits returns the bucket, or nil when there is none.
func findBucketLimits(ctx context.Context, tx pgx.Tx, id string) (*bucketLimits, error) {
	var b bucketLimits
	err := tx.QueryRow(ctx, selectBucketLimitsSQL, id).Scan(&b.ID, &b.Public, &b.FileSizeLimit, &b.AllowedMimeTypes, &b.VerifyContent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find bucket: %w", err)
	}
	return &b, nil
}

// objectMetadata is storage.objects.metadata as Supabase writes it (S3's response headers,
// camel-cased), which clients read back from list and info.
type objectMetadata struct {
	ETag           string `json:"eTag"`
	Size           int64  `json:"size"`
	Mimetype       string `json:"mimetype"`
	CacheControl   string `json:"cacheControl"`
	LastModified   string `json:"lastModified"`
	ContentLength  int64  `json:"contentLength"`
	HTTPStatusCode int    `json:"httpStatusCode"`
}

// objectRow is one row of storage.objects.
type objectRow struct {
	ID             string
	BucketID       string
	Name           string
	OwnerID        *string
	Version        *string
	Metadata       json.RawMessage // as stored; may be NULL or written by hand
	UserMetadata   json.RawMessage
	CreatedAt      *time.Time
	UpdatedAt      *time.Time
	LastAccessedAt *time.Time
}

// meta decodes the metadata leniently: rows written with SQL by hand may have any shape.
func (o objectRow) meta() objectMetadata {
	var m objectMetadata
	if len(o.Metadata) > 0 {
		_ = json.Unmarshal(o.Metadata, &m)
	}
	return m
}

// blobKey is where the row's current bytes are; "" when the row has no version (written by
// hand), which has no bytes.
func (o objectRow) blobKey() string {
	if o.Version == nil || *o.Version == "" {
		return ""
	}
	return blobKey(o.BucketID, o.Name, *o.Version)
}

const objectColumns = `id::text, bucket_id, name, owner_id, version, metadata, user_metadata, created_at, updated_at, last_accessed_at`

func scanObject(row pgx.Row) (objectRow, error) {
	var o objectRow
	err := row.Scan(&o.ID, &o.BucketID, &o.Name, &o.OwnerID, &o.Version, &o.Metadata, &o.UserMetadata,
		&o.CreatedAt, &o.UpdatedAt, &o.LastAccessedAt)
	return o, err
}

const selectObjectSQL = `SELECT ` + objectColumns + ` FROM storage.objects WHERE bucket_id = $1 AND name = $2`

// findObject returns the object as the transaction's role sees it, or nil.
func findObject(ctx context.Context, tx pgx.Tx, bucket, name string) (*objectRow, error) {
	o, err := scanObject(tx.QueryRow(ctx, selectObjectSQL, bucket, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find object: %w", err)
	}
	return &o, nil
}

// newObject is a version of an object about to become current.
type newObject struct {
	ID           string // used when the row is created
	Bucket       string
	Name         string
	Owner        owner
	Version      string
	Metadata     objectMetadata
	UserMetadata json.RawMessage
}

// writeResult says what writeObject did.
type writeResult struct {
	ID              string
	PreviousVersion string // the version replaced, "" for a new object
}

// SQL of writeObject. None of it uses RETURNING: with row-level security RETURNING needs a
// SELECT policy, and Supabase lets an INSERT-only policy upload.
const (
	lockObjectSQL = `SELECT id::text, coalesce(version, '') FROM storage.objects
WHERE bucket_id = $1 AND name = $2 FOR UPDATE`
	insertObjectSQL = `INSERT INTO storage.objects (id, bucket_id, name, owner, owner_id, version, metadata, user_metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	insertObjectIfAbsentSQL = insertObjectSQL + ` ON CONFLICT (bucket_id, name) DO NOTHING`
	updateObjectSQL         = `UPDATE storage.objects
SET owner = $2, owner_id = $3, version = $4, metadata = $5, user_metadata = $6, last_accessed_at = now()
WHERE id = $1`
)

// writeObject makes o the current version of its object, as the transaction's role: an
// INSERT for a new object (a name already taken is KeyAlreadyExists unless upsert), else,
// with upsert, an UPDATE of the row locked first, so the version it replaces is known for
// certain even when uploads race. Policies decide: INSERT for a new object, SELECT and UPDATE
// to replace one, as on Supabase.
func writeObject(ctx context.Context, tx pgx.Tx, o newObject, upsert bool) (writeResult, error) {
	args, err := insertObjectArgs(o)
	if err != nil {
		return writeResult{}, err
	}
	meta := args[6]
	if !upsert {
		if _, err := tx.Exec(ctx, insertObjectSQL, args...); err != nil {
			return writeResult{}, insertError(err)
		}
		return writeResult{ID: o.ID}, nil
	}
	// Twice at most: a row that appears between the lock and the insert (a racing upload)
	// is locked and replaced on the second pass.
	for range 2 {
		var id, previous string
		err := tx.QueryRow(ctx, lockObjectSQL, o.Bucket, o.Name).Scan(&id, &previous)
		switch {
		case err == nil:
			if _, err := tx.Exec(ctx, updateObjectSQL, id, o.Owner.uuid, o.Owner.ownerID(), o.Version, meta, nullJSON(o.UserMetadata)); err != nil {
				return writeResult{}, objectWriteError(err)
			}
			return writeResult{ID: id, PreviousVersion: previous}, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return writeResult{}, objectWriteError(err)
		}
		tag, err := tx.Exec(ctx, insertObjectIfAbsentSQL, args...)
		if err != nil {
			return writeResult{}, objectWriteError(err)
		}
		if tag.RowsAffected() == 1 {
			return writeResult{ID: o.ID}, nil
		}
	}
	// The name is taken by a row this caller may not see or change.
	return writeResult{}, errRowLevelSecurity()
}

// insertObjectArgs are insertObjectSQL's parameters for o.
func insertObjectArgs(o newObject) ([]any, error) {
	meta, err := json.Marshal(o.Metadata)
	if err != nil {
		return nil, err
	}
	return []any{o.ID, o.Bucket, o.Name, o.Owner.uuid, o.Owner.ownerID(), o.Version, meta, nullJSON(o.UserMetadata)}, nil
}

// insertError explains a failed insertObjectSQL.
func insertError(err error) error {
	if pgCode(err) == pgUniqueViolation {
		return errKeyAlreadyExists().WithCause(err)
	}
	return objectWriteError(err)
}

func objectWriteError(err error) error {
	if pgCode(err) == pgForeignKeyViolation {
		return errNoSuchBucket().WithCause(err)
	}
	return dbError(fmt.Errorf("write object: %w", err))
}

// nullJSON stores absent user metadata as NULL rather than the JSON null.
func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// allowDeleteSQL lifts storage.protect_delete() for this transaction: the service removes
// the bytes of what it deletes, so it may delete rows.
const allowDeleteSQL = `SELECT set_config('storage.allow_delete_query', 'true', true)`

const deleteObjectsSQL = `DELETE FROM storage.objects WHERE bucket_id = $1 AND name = ANY($2) RETURNING ` + objectColumns

// deleteObjects deletes the named objects the transaction's role may see and delete, and
// returns them. Names it may not delete are silently skipped, as Supabase does.
func deleteObjects(ctx context.Context, tx pgx.Tx, bucket string, names []string) ([]objectRow, error) {
	if _, err := tx.Exec(ctx, allowDeleteSQL); err != nil {
		return nil, fmt.Errorf("allow delete: %w", err)
	}
	rows, err := tx.Query(ctx, deleteObjectsSQL, bucket, names)
	if err != nil {
		return nil, dbError(fmt.Errorf("delete objects: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (objectRow, error) { return scanObject(row) })
	if err != nil {
		return nil, dbError(fmt.Errorf("delete objects: %w", err))
	}
	return out, nil
}
