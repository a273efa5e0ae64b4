package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/storage/blob"
)

// maxJSONBody bounds the JSON bodies of the storage API (uploads stream and have limits of
// their own).
const maxJSONBody = 1 << 20

// decodeBody reads a JSON request body of at most maxJSONBody bytes into v.
func decodeBody(r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxJSONBody)
	return httpx.DecodeJSON(r, v)
}

// fileObject is an object as list and remove return it.
type fileObject struct {
	Name           string          `json:"name"`
	ID             *string         `json:"id"`
	UpdatedAt      *jsTime         `json:"updated_at"`
	CreatedAt      *jsTime         `json:"created_at"`
	LastAccessedAt *jsTime         `json:"last_accessed_at"`
	Metadata       json.RawMessage `json:"metadata"`
}

// removedObject is a deleted row as DELETE /object/{bucket} returns it.
type removedObject struct {
	fileObject
	BucketID     string          `json:"bucket_id"`
	Owner        *string         `json:"owner"`
	OwnerID      *string         `json:"owner_id"`
	Version      *string         `json:"version"`
	UserMetadata json.RawMessage `json:"user_metadata"`
}

func removedOf(row objectRow) removedObject {
	id := row.ID
	return removedObject{
		fileObject: fileObject{
			Name: row.Name, ID: &id, UpdatedAt: jsTimeOf(row.UpdatedAt), CreatedAt: jsTimeOf(row.CreatedAt),
			LastAccessedAt: jsTimeOf(row.LastAccessedAt), Metadata: jsonOrNull(row.Metadata),
		},
		BucketID: row.BucketID, Owner: row.OwnerID, OwnerID: row.OwnerID, Version: row.Version,
		UserMetadata: jsonOrNull(row.UserMetadata),
	}
}

func jsonOrNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// deleteObject serves DELETE /object/{bucket}/{name}. The row goes as the caller (its SELECT
// and DELETE policies decide), then the bytes.
func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	bucket, name := r.PathValue("bucket"), r.PathValue("name")
	if err := checkObjectName(name); err != nil {
		return err
	}
	var deleted []objectRow
	visible := false
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		var err error
		deleted, err = deleteObjects(ctx, tx, bucket, []string{name})
		if err != nil || len(deleted) > 0 {
			return err
		}
		// Nothing deleted: AccessDenied (Supabase's answer) only if the caller may see
		// the object. Asked as the caller, not as service_role, so that an object its
		// policies hide gets the answer a missing one gets, and deleting is no way to learn
		// which names exist.
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM storage.objects WHERE bucket_id = $1 AND name = $2)`,
			bucket, name).Scan(&visible)
	})
	if err != nil {
		return err
	}
	if len(deleted) == 0 && !visible {
		// Objects of public buckets are there for anyone to see.
		err := s.inRole(r, serviceScope(r), func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM storage.objects o JOIN storage.buckets b ON b.id = o.bucket_id
WHERE b.public AND o.bucket_id = $1 AND o.name = $2)`, bucket, name).Scan(&visible)
		})
		if err != nil {
			return err
		}
	}
	if len(deleted) == 0 {
		if visible {
			return errAccessDenied("Access denied")
		}
		return errNoSuchKey()
	}
	s.removeBlobsOf(r.Context(), deleted)
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Successfully deleted"})
}

// maxDeletePrefixes bounds one bulk delete, as Supabase does.
const maxDeletePrefixes = 1000

// deleteObjects serves DELETE /object/{bucket} with {"prefixes": [names]}: the objects the
// caller may delete go, with their bytes, and are returned; the others are skipped.
func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req struct {
		Prefixes []string `json:"prefixes"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Prefixes) == 0 {
		return errMissingParameter("prefixes")
	}
	if len(req.Prefixes) > maxDeletePrefixes {
		return errInvalidRequest("At most 1000 objects can be deleted per request.")
	}
	var deleted []objectRow
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		var err error
		deleted, err = deleteObjects(ctx, tx, r.PathValue("bucket"), req.Prefixes)
		return err
	})
	if err != nil {
		return err
	}
	s.removeBlobsOf(r.Context(), deleted)
	out := make([]removedObject, 0, len(deleted))
	for _, row := range deleted {
		out = append(out, removedOf(row))
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

// moveRequest is the body of POST /object/move and /object/copy.
type moveRequest struct {
	BucketID          string `json:"bucketId"`
	SourceKey         string `json:"sourceKey"`
	DestinationKey    string `json:"destinationKey"`
	DestinationBucket string `json:"destinationBucket"`
}

func (m moveRequest) validate() (destBucket string, err error) {
	switch {
	case m.BucketID == "":
		return "", errMissingParameter("bucketId")
	case m.SourceKey == "":
		return "", errMissingParameter("sourceKey")
	case m.DestinationKey == "":
		return "", errMissingParameter("destinationKey")
	}
	if err := checkObjectName(m.SourceKey); err != nil {
		return "", err
	}
	if err := checkObjectName(m.DestinationKey); err != nil {
		return "", err
	}
	destBucket = m.DestinationBucket
	if destBucket == "" {
		destBucket = m.BucketID
	}
	return destBucket, nil
}

const moveObjectSQL = `UPDATE storage.objects
SET bucket_id = $3, name = $4, version = $5, owner = $6, owner_id = $7
WHERE id = $1 AND version IS NOT DISTINCT FROM $2`

// moveObject serves POST /object/move. The bytes are copied to the new name's key first
// (a server-side copy or a hard link), then the row is renamed as the caller (its SELECT
// and UPDATE policies decide, the latter's WITH CHECK on the new name), then the old bytes
// go. A refusal removes the copy.
func (s *Service) moveObject(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req moveRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	destBucket, err := req.validate()
	if err != nil {
		return err
	}
	src, err := s.visibleObject(r, c, req.BucketID, req.SourceKey)
	if err != nil {
		return err
	}
	if destBucket == req.BucketID && req.DestinationKey == req.SourceKey {
		return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Successfully moved"})
	}
	if err := s.checkDestination(r, src, destBucket, req.DestinationKey); err != nil {
		return err
	}
	version := newUUID()
	newKey := blobKey(destBucket, req.DestinationKey, version)
	if err := s.backend.Copy(r.Context(), src.blobKey(), newKey); err != nil {
		return blobError(err)
	}
	o := c.owner()
	var moved int64
	err = s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, moveObjectSQL, src.ID, src.Version, destBucket, req.DestinationKey, version, o.uuid, o.ownerID())
		switch pgCode(err) {
		case pgUniqueViolation:
			return errKeyAlreadyExists().WithCause(err)
		case pgForeignKeyViolation:
			return errNoSuchBucket().WithCause(err)
		}
		moved = tag.RowsAffected()
		return err
	})
	if err == nil && moved == 0 {
		err = errRowLevelSecurity() // the UPDATE policy does not cover this row
	}
	if err != nil {
		s.removeBlob(r.Context(), newKey)
		return err
	}
	s.removeBlob(r.Context(), src.blobKey())
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "Successfully moved"})
}

// visibleObject reads an object as the caller: NoSuchKey if it does not exist or the
// caller's SELECT policies hide it.
func (s *Service) visibleObject(r *http.Request, c caller, bucket, name string) (objectRow, error) {
	var row *objectRow
	err := s.inRole(r, c.scope(r), func(ctx context.Context, tx pgx.Tx) error {
		var err error
		row, err = findObject(ctx, tx, bucket, name)
		return err
	})
	if err != nil {
		return objectRow{}, err
	}
	if row == nil || row.blobKey() == "" {
		return objectRow{}, errNoSuchKey()
	}
	return *row, nil
}

// checkDestination holds an object about to be copied or moved to the rules an upload of
// its bytes to the destination would meet: the destination bucket's size limit and the
// global one, its allowed_mime_types against the stored type, and, when the destination has
// verify_content, against what the first bytes look like. Without it a copy would carry an
// object that an open bucket accepted into a bucket that refuses it. The size is the blob's
// own, not the row's metadata, which SQL may have written.
func (s *Service) checkDestination(r *http.Request, src objectRow, bucket, name string) error {
	limits, err := s.bucketLimits(r.Context(), r, bucket)
	if err != nil {
		return err
	}
	sniff := limits.verifyContent(s.cfg.VerifyContent) && len(limits.AllowedMimeTypes) > 0
	var head []byte
	var attrs blob.Attrs
	if sniff {
		var rc io.ReadCloser
		if rc, attrs, err = s.backend.Open(r.Context(), src.blobKey(), 0, sniffLength); err != nil {
			return blobError(err)
		}
		head, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read the source's first bytes: %w", err)
		}
	} else if attrs, err = s.backend.Stat(r.Context(), src.blobKey()); err != nil {
		return blobError(err)
	}
	if attrs.Size > limits.maxSize(s.cfg.FileSizeLimit) {
		return errEntityTooLarge()
	}
	declared := src.meta().Mimetype
	if declared == "" {
		declared = defaultMimeType
	}
	if err := checkMimeType(declared, limits.AllowedMimeTypes, name); err != nil {
		return err
	}
	if sniff {
		return checkSniffedType(http.DetectContentType(head), declared, limits.AllowedMimeTypes, name)
	}
	return nil
}

// copyResponse is Supabase's answer to a copy.
type copyResponse struct {
	ID       string         `json:"Id"`
	Key      string         `json:"Key"`
	Name     string         `json:"name"`
	BucketID string         `json:"bucket_id"`
	Version  string         `json:"version"`
	Metadata objectMetadata `json:"metadata"`
}

// copyObject serves POST /object/copy: the source is read as the caller (SELECT), its bytes
// copied to a fresh key, and the copy written as a new object of the caller's (INSERT, or
// with x-upsert SELECT and UPDATE on an existing destination), with the source's metadata.
func (s *Service) copyObject(w http.ResponseWriter, r *http.Request) error {
	c, err := requireCaller(r)
	if err != nil {
		return err
	}
	var req moveRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	destBucket, err := req.validate()
	if err != nil {
		return err
	}
	src, err := s.visibleObject(r, c, req.BucketID, req.SourceKey)
	if err != nil {
		return err
	}
	if err := s.checkDestination(r, src, destBucket, req.DestinationKey); err != nil {
		return err
	}
	obj := newObject{
		ID:           newUUID(),
		Bucket:       destBucket,
		Name:         req.DestinationKey,
		Owner:        c.owner(),
		Version:      newUUID(),
		Metadata:     src.meta(),
		UserMetadata: src.UserMetadata,
	}
	obj.Metadata.LastModified = time.Now().UTC().Format(lastModifiedLayout)
	if err := s.backend.Copy(r.Context(), src.blobKey(), blobKey(obj.Bucket, obj.Name, obj.Version)); err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return errNoSuchKey().WithCause(err)
		}
		return err
	}
	res, err := s.commit(r.Context(), c.scope(r), obj, r.Header.Get("x-upsert") == "true")
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, copyResponse{
		ID: res.ID, Key: destBucket + "/" + req.DestinationKey,
		Name: obj.Name, BucketID: destBucket, Version: obj.Version, Metadata: obj.Metadata,
	})
}
