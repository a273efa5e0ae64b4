package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/storage/blob"
)

// orphanBatch is how many candidate blobs one query checks against the rows.
const orphanBatch = 500

// sweep removes what no request will come back for: resumable uploads past their expiry
// with their parts and, with orphans and a backend that can list its blobs, blobs no row
// refers to.
func (s *Service) sweep(ctx context.Context, orphans bool) error {
	errs := []error{s.expireUploads(ctx)}
	if lister, ok := s.backend.(blob.Lister); ok && orphans {
		errs = append(errs, s.removeOrphans(ctx, lister))
	}
	return errors.Join(errs...)
}

func sweepScope() db.RequestScope {
	return db.RequestScope{Role: db.RoleServiceRole, Method: "SWEEP", Path: Prefix}
}

// expireUploads forgets expired resumable uploads, a batch at a time, and removes their parts.
func (s *Service) expireUploads(ctx context.Context) error {
	for {
		var parts [][]uploadPart
		err := s.runner.InRole(ctx, sweepScope(), func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, expiredUploadsSQL)
			if err != nil {
				return err
			}
			raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
			if err != nil {
				return err
			}
			for _, r := range raw {
				var p []uploadPart
				if err := json.Unmarshal(r, &p); err != nil {
					return err
				}
				parts = append(parts, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("expire resumable uploads: %w", err)
		}
		for _, p := range parts {
			for _, part := range p {
				s.removeBlob(ctx, part.Key)
			}
		}
		if len(parts) == 0 {
			return nil
		}
	}
}

// removeOrphans walks the backend's blobs and removes those older than OrphanGracePeriod
// that no object version and no resumable upload refers to: what a crash between storing
// bytes and committing (or deleting) their row leaves behind. The grace period is far
// longer than any commit takes, so a blob whose row is about to be written is never taken;
// keys the service would not have written are left alone.
func (s *Service) removeOrphans(ctx context.Context, lister blob.Lister) error {
	cutoff := time.Now().Add(-s.cfg.OrphanGracePeriod)
	var batch []string
	flush := func() error {
		orphans, err := s.unreferenced(ctx, batch)
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, key := range orphans {
			s.logger.InfoContext(ctx, "storage: removing a blob no row refers to", "key", key)
			s.removeBlob(ctx, key)
		}
		return nil
	}
	err := lister.List(ctx, "", func(key string, attrs blob.Attrs) error {
		if attrs.ModTime.After(cutoff) || !ourKey(key) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) >= orphanBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("remove orphaned blobs: %w", err)
	}
	return nil
}

// ourKey reports whether key has the shape of a key the service writes: an object version
// (bucket/name/UUID) or a resumable upload's part ([resumable]/UUID/offset-suffix). Anything
// else in the backend (another application's files in a shared S3 bucket) is never touched.
func ourKey(key string) bool {
	if rest, ok := strings.CutPrefix(key, resumablePrefix); ok {
		id, part, found := strings.Cut(rest, "/")
		return found && isUUID(id) && part != "" && !strings.Contains(part, "/")
	}
	bucket, name, version := splitBlobKey(key)
	return checkBucketName(bucket) == nil && name != "" && isUUID(version)
}

// unreferencedSQL keeps the keys that are not, spelled exactly as listed, an object
// version's blob, nor a part of a resumable upload still under way, among those of existing
// buckets (or parts). It is the cheap first pass (an index lookup per key); what it keeps is
// checked again by stillReferencedSQL before anything is removed.
const unreferencedSQL = `SELECT t.key
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[]) AS t(key, bucket, name, version, upload)
WHERE CASE WHEN t.upload IS NOT NULL
    THEN NOT EXISTS (SELECT 1 FROM storage.resumable_uploads u WHERE u.id = t.upload)
    ELSE EXISTS (SELECT 1 FROM storage.buckets b WHERE b.id = t.bucket)
      AND NOT EXISTS (
        SELECT 1 FROM storage.objects o
        WHERE o.bucket_id = t.bucket AND o.name = t.name AND o.version = t.version)
  END`

// stillReferencedSQL finds, among versions of blobs the first pass found no row for, those
// some row has after all. A key as listed may not be spelled as it was written: a
// case-insensitive file system (macOS, Windows) lists the blob of "photo.png" inside the
// directory "Photo.png" that another object created first, and macOS may list a name in
// another Unicode normalisation. The version, a random UUID given to exactly one blob,
// identifies the blob whatever happened to the name, so a blob whose version any row holds
// is never removed. This scans the table, but only when the first pass found candidates,
// which a healthy store rarely has.
const stillReferencedSQL = `SELECT DISTINCT lower(version) FROM storage.objects WHERE lower(version) = ANY($1::text[])`

// unreferenced returns the keys among keys that no row refers to.
func (s *Service) unreferenced(ctx context.Context, keys []string) ([]string, error) {
	n := len(keys)
	buckets, names, versions, uploads := make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	for i, key := range keys {
		buckets[i], names[i], versions[i] = splitBlobKey(key)
		if strings.HasPrefix(key, resumablePrefix) {
			uploads[i] = &names[i] // [resumable]/{upload id}/{part}
		}
	}
	var out []string
	err := s.runner.InRole(ctx, sweepScope(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, unreferencedSQL, keys, buckets, names, versions, uploads)
		if err != nil {
			return err
		}
		candidates, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(candidates) == 0 {
			return err
		}
		var candidateVersions []string
		for _, key := range candidates {
			if !strings.HasPrefix(key, resumablePrefix) {
				_, _, version := splitBlobKey(key)
				candidateVersions = append(candidateVersions, strings.ToLower(version))
			}
		}
		rows, err = tx.Query(ctx, stillReferencedSQL, candidateVersions)
		if err != nil {
			return err
		}
		referenced := map[string]bool{}
		var version string
		_, err = pgx.ForEachRow(rows, []any{&version}, func() error {
			referenced[version] = true
			return nil
		})
		if err != nil {
			return err
		}
		for _, key := range candidates {
			_, _, version := splitBlobKey(key)
			if strings.HasPrefix(key, resumablePrefix) || !referenced[strings.ToLower(version)] {
				out = append(out, key)
			}
		}
		return nil
	})
	return out, err
}

// splitBlobKey undoes blobKey: bucket/name/version, where the name may hold slashes. Keys of
// another shape (resumable parts) give parts that match no object.
func splitBlobKey(key string) (bucket, name, version string) {
	bucket, rest, _ := strings.Cut(key, "/")
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		return bucket, rest[:i], rest[i+1:]
	}
	return bucket, rest, ""
}
