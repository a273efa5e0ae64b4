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
)

// resumablePrefix is the blob key prefix of resumable upload parts. "[" cannot start a
// bucket id, so parts never share a key with an object's bytes.
const resumablePrefix = "[resumable]/"

// resumableUpload is a row of storage.resumable_uploads: a TUS upload in progress. Its
// bytes so far are parts, one blob per PATCH, concatenated when the last one arrives.
type resumableUpload struct {
	ID           string
	BucketID     string
	Name         string
	OwnerID      string
	Length       int64
	Offset       int64
	Parts        []uploadPart
	ContentType  string
	CacheControl string
	UserMetadata json.RawMessage
	Upsert       bool
	ExpiresAt    time.Time
}

type uploadPart struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

func (u resumableUpload) partKeys() []string {
	keys := make([]string, len(u.Parts))
	for i, p := range u.Parts {
		keys[i] = p.Key
	}
	return keys
}

const (
	insertUploadSQL = `INSERT INTO storage.resumable_uploads
  (id, bucket_id, name, owner_id, upload_length, content_type, cache_control, user_metadata, upsert, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	selectUploadSQL = `SELECT id::text, bucket_id, name, owner_id, upload_length, upload_offset, parts, content_type,
  cache_control, user_metadata, upsert, expires_at
FROM storage.resumable_uploads WHERE id = $1`
	// advanceUploadSQL appends a part only if no other PATCH got there first.
	advanceUploadSQL = `UPDATE storage.resumable_uploads
SET upload_offset = upload_offset + $3, parts = parts || $4::jsonb, expires_at = $5
WHERE id = $1 AND upload_offset = $2`
	deleteUploadSQL = `DELETE FROM storage.resumable_uploads WHERE id = $1`
	// expiredUploadsSQL takes a batch of expired uploads away from everyone else.
	expiredUploadsSQL = `DELETE FROM storage.resumable_uploads WHERE id IN (
  SELECT id FROM storage.resumable_uploads WHERE expires_at < now() LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING parts`
)

func scanUpload(row pgx.Row) (resumableUpload, error) {
	var u resumableUpload
	var parts []byte
	err := row.Scan(&u.ID, &u.BucketID, &u.Name, &u.OwnerID, &u.Length, &u.Offset, &parts, &u.ContentType,
		&u.CacheControl, &u.UserMetadata, &u.Upsert, &u.ExpiresAt)
	if err != nil {
		return u, err
	}
	if err := json.Unmarshal(parts, &u.Parts); err != nil {
		return u, fmt.Errorf("decode upload parts: %w", err)
	}
	return u, nil
}

// The upload table belongs to the service, so it is read and written as service_role.

func (s *Service) insertUpload(r *http.Request, u resumableUpload) error {
	return s.inRole(r, serviceScope(r), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertUploadSQL, u.ID, u.BucketID, u.Name, u.OwnerID, u.Length, u.ContentType,
			u.CacheControl, nullJSON(u.UserMetadata), u.Upsert, u.ExpiresAt)
		return err
	})
}

// findUpload returns the upload with id, or nil when there is none (or id is no UUID).
func (s *Service) findUpload(r *http.Request, id string) (*resumableUpload, error) {
	if !isUUID(id) {
		return nil, nil
	}
	var u *resumableUpload
	err := s.inRole(r, serviceScope(r), func(ctx context.Context, tx pgx.Tx) error {
		found, err := scanUpload(tx.QueryRow(ctx, selectUploadSQL, id))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		u = &found
		return nil
	})
	return u, err
}

// isUUID reports whether s is a UUID in its canonical text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// advanceUpload records a part stored at offset; false means another PATCH moved the offset
// first.
func (s *Service) advanceUpload(r *http.Request, u resumableUpload, part uploadPart, expires time.Time) (bool, error) {
	parts, err := json.Marshal([]uploadPart{part})
	if err != nil {
		return false, err
	}
	var advanced bool
	err = s.inRole(r, serviceScope(r), func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, advanceUploadSQL, u.ID, u.Offset, part.Size, parts, expires)
		advanced = tag.RowsAffected() == 1
		return err
	})
	return advanced, err
}

// dropUpload forgets an upload and removes its parts. It outlives the request: it runs after
// an upload completed or failed for good, when leaving parts behind would only waste space.
func (s *Service) dropUpload(ctx context.Context, r *http.Request, u resumableUpload) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := s.runner.InRole(ctx, serviceScope(r), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, deleteUploadSQL, u.ID)
		return err
	})
	if err != nil {
		s.logger.WarnContext(ctx, "storage: could not forget a resumable upload; it will expire", "upload", u.ID, "error", err)
		return
	}
	for _, key := range u.partKeys() {
		s.removeBlob(ctx, key)
	}
}

// partsReader reads the parts of an upload one after the other, opening each only when the
// previous one is done, so assembling an upload holds one part's reader at a time.
type partsReader struct {
	open func(key string) (io.ReadCloser, error)
	keys []string
	cur  io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.keys) == 0 {
				return 0, io.EOF
			}
			rc, err := p.open(p.keys[0])
			if err != nil {
				return 0, err
			}
			p.cur, p.keys = rc, p.keys[1:]
		}
		n, err := p.cur.Read(b)
		if errors.Is(err, io.EOF) {
			p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Close closes the part being read, if any.
func (p *partsReader) Close() error {
	if p.cur == nil {
		return nil
	}
	err := p.cur.Close()
	p.cur = nil
	return err
}
