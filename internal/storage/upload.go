package storage

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/storage/blob"
)

const (
	// sniffLength is how much of an upload http.DetectContentType looks at.
	sniffLength = 512
	// commitTimeout bounds the transaction that makes an uploaded version current. It runs
	// even if the client has gone: the bytes are in, and abandoning the commit half way
	// would leave the outcome unknown.
	commitTimeout = 30 * time.Second
	// cleanupTimeout bounds removing a blob after a failure.
	cleanupTimeout = time.Minute
)

// uploadTarget is where an upload goes and whose policies decide.
type uploadTarget struct {
	bucket string
	name   string
	upsert bool
	owner  owner
	scope  db.RequestScope
}

// uploadObject serves POST and PUT /object/{bucket}/{name}: a new object, or with
// x-upsert: true (always, for PUT, as in Supabase) a new version of an existing one.
func (s *Service) uploadObject(alwaysUpsert bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := requireCaller(r)
		if err != nil {
			return err
		}
		bucket, name := r.PathValue("bucket"), r.PathValue("name")
		if err := checkObjectName(name); err != nil {
			return err
		}
		target := uploadTarget{
			bucket: bucket,
			name:   name,
			upsert: alwaysUpsert || r.Header.Get("x-upsert") == "true",
			owner:  c.owner(),
			scope:  c.scope(r),
		}
		res, err := s.uploadFromRequest(w, r, target)
		if err != nil {
			return err
		}
		return httpx.WriteJSON(w, http.StatusOK, uploadResponse{ID: res.ID, Key: bucket + "/" + name})
	}
}

// uploadResponse is Supabase's answer to an upload, capitalised as it is.
type uploadResponse struct {
	ID  string `json:"Id"`
	Key string `json:"Key"`
}

// uploadFromRequest checks what can be checked before reading the body (the bucket, the
// declared size and type, the caller's right to write), then streams the body into a new
// blob and makes it current.
func (s *Service) uploadFromRequest(w http.ResponseWriter, r *http.Request, t uploadTarget) (writeResult, error) {
	ctx := r.Context()
	in, err := readIncoming(r)
	if err != nil {
		// A missing bucket is reported before a malformed request, as it always was.
		if _, lerr := s.bucketLimits(ctx, r, t.bucket); lerr != nil {
			return writeResult{}, lerr
		}
		return writeResult{}, err
	}
	obj := newObject{
		ID:     newUUID(),
		Bucket: t.bucket,
		Name:   t.name,
		Owner:  t.owner,
		Metadata: objectMetadata{
			Mimetype:      in.contentType,
			CacheControl:  in.cacheControl,
			ContentLength: max(in.declaredSize, 0),
		},
		UserMetadata: in.userMetadata,
		Version:      newUUID(),
	}
	limits, err := s.checkUpload(ctx, t.scope, obj, t.upsert, func(limits bucketLimits) error {
		if in.declaredSize > limits.maxSize(s.cfg.FileSizeLimit) {
			return errEntityTooLarge()
		}
		if err := checkMimeType(in.contentType, limits.AllowedMimeTypes, t.name); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return writeResult{}, err
	}
	body := &clientBody{r: in.body, extend: extendDeadlines(w)}
	res, err := s.ingest(ctx, t.scope, obj, body, limits, t.upsert)
	if err != nil && body.err != nil && !errors.Is(err, errTooLarge) {
		// The client stopped sending (disconnected, or a malformed body): its fault, and
		// nothing was stored.
		return writeResult{}, errInvalidRequest("The upload was interrupted before it completed").WithCause(err)
	}
	return res, err
}

// bucketLimits reads the bucket as service_role: NoSuchBucket when it does not exist.
func (s *Service) bucketLimits(ctx context.Context, r *http.Request, bucket string) (bucketLimits, error) {
	var limits *bucketLimits
	err := s.runner.InRole(ctx, serviceScope(r), func(tx pgx.Tx) error {
		var err error
		limits, err = findBucketLimits(ctx, tx, bucket)
		return err
	})
	if err != nil {
		return bucketLimits{}, dbError(err)
	}
	if limits == nil {
		return bucketLimits{}, errNoSuchBucket()
	}
	return *limits, nil
}

// setRoleSQL switches the transaction's role. PostgreSQL checks SET ROLE against the session
// user (the authenticator, a member of every API role), not the current role, so a
// transaction running as anon may step to service_role to read a bucket and back.
const setRoleSQL = `SELECT set_config('role', $1, true)`

// checkUpload does, in one transaction that is rolled back, what an upload must know before
// it stores a byte: the bucket's limits (read as service_role, since the caller may not see
// the bucket), then check(limits), then the write the upload will end with, as the caller: a
// refusal by policy (or a name already taken) is reported before any byte is stored, as
// Supabase's canUpload does. For a plain insert the role switches, the read and the write go
// to PostgreSQL as one batch: one round trip where there were two transactions.
func (s *Service) checkUpload(ctx context.Context, scope db.RequestScope, obj newObject, upsert bool, check func(bucketLimits) error) (bucketLimits, error) {
	var limits bucketLimits
	err := s.runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(setRoleSQL, db.RoleServiceRole)
		batch.Queue(selectBucketLimitsSQL, obj.Bucket)
		batch.Queue(setRoleSQL, scope.Role)
		var insert []any
		if !upsert {
			var err error
			if insert, err = insertObjectArgs(obj); err != nil {
				return err
			}
			batch.Queue(insertObjectSQL, insert...)
		}
		results := tx.SendBatch(ctx, batch)
		found, err := readBucketLimits(results, &limits)
		if err == nil && found {
			err = check(limits)
		}
		var insertErr error
		if err == nil && found && insert != nil {
			_, insertErr = results.Exec()
		}
		// Close reports the first failure of a statement not read (the insert, when the
		// bucket is missing or check refused): the reasons above come first.
		closeErr := results.Close()
		switch {
		case err != nil:
			return err
		case !found:
			return errNoSuchBucket()
		case insertErr != nil:
			return insertError(insertErr)
		case closeErr != nil:
			return closeErr
		case insert == nil:
			if _, err := writeObject(ctx, tx, obj, upsert); err != nil {
				return err
			}
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return limits, nil
	}
	return bucketLimits{}, dbError(err)
}

// readBucketLimits reads the first three results of checkUpload's batch.
func readBucketLimits(results pgx.BatchResults, limits *bucketLimits) (found bool, err error) {
	if _, err := results.Exec(); err != nil {
		return false, fmt.Errorf("switch to service_role: %w", err)
	}
	err = results.QueryRow().Scan(&limits.ID, &limits.Public, &limits.FileSizeLimit, &limits.AllowedMimeTypes, &limits.VerifyContent)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find bucket: %w", err)
	}
	if _, err := results.Exec(); err != nil {
		return false, fmt.Errorf("switch back to the caller's role: %w", err)
	}
	return true, nil
}

// errDryRun rolls back a transaction that only tested a permission.
var errDryRun = errors.New("dry run")

// ingest stores src as obj's new version and makes it current: the bytes are checked
// against the bucket's limits as they stream (size, and with verify_content the sniffed
// type), hashed for the ETag, written to a blob no one else uses, and then the row is
// switched to it. On any failure the new blob is removed; after success the replaced
// version's blob is.
func (s *Service) ingest(ctx context.Context, scope db.RequestScope, obj newObject, src io.Reader, limits bucketLimits, upsert bool) (writeResult, error) {
	var head io.Reader = &sizeLimiter{r: src, left: limits.maxSize(s.cfg.FileSizeLimit)}
	if limits.verifyContent(s.cfg.VerifyContent) && len(limits.AllowedMimeTypes) > 0 {
		buffered := bufio.NewReaderSize(head, sniffLength)
		peeked, err := buffered.Peek(sniffLength)
		if err != nil && !errors.Is(err, io.EOF) {
			return writeResult{}, uploadError(err)
		}
		if err := checkSniffedType(http.DetectContentType(peeked), obj.Metadata.Mimetype, limits.AllowedMimeTypes, obj.Name); err != nil {
			return writeResult{}, err
		}
		head = buffered
	}
	hashed := newHashingReader(head, md5.New())
	defer hashed.close()
	key := blobKey(obj.Bucket, obj.Name, obj.Version)
	attrs, err := s.backend.Put(ctx, key, hashed, blob.PutOptions{ContentType: obj.Metadata.Mimetype})
	if err != nil {
		return writeResult{}, uploadError(err)
	}
	obj.Metadata.ETag = `"` + hex.EncodeToString(hashed.Sum()) + `"`
	obj.Metadata.Size = attrs.Size
	obj.Metadata.ContentLength = attrs.Size
	obj.Metadata.LastModified = attrs.ModTime.UTC().Format(lastModifiedLayout)
	obj.Metadata.HTTPStatusCode = http.StatusOK
	return s.commit(ctx, scope, obj, upsert)
}

// lastModifiedLayout is how metadata.lastModified is written (JavaScript's toISOString).
const lastModifiedLayout = "2006-01-02T15:04:05.000Z"

func uploadError(err error) error {
	if errors.Is(err, errTooLarge) {
		return errEntityTooLarge().WithCause(err)
	}
	if errors.Is(err, blob.ErrInvalidKey) {
		return errInvalidRequest("The object name cannot be stored by this backend").WithCause(err)
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		// The backend already removed what it had written; the client may retry later.
		return errInsufficientStorage().WithCause(err)
	}
	return fmt.Errorf("store upload: %w", err)
}

// commit makes obj's version current as scope's role and removes the blob it replaced. It
// outlives a client that disconnects now: the bytes are stored, and only a finished
// transaction says whether they are the object or garbage to remove.
func (s *Service) commit(ctx context.Context, scope db.RequestScope, obj newObject, upsert bool) (writeResult, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	var res writeResult
	err := s.runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		var err error
		res, err = writeObject(ctx, tx, obj, upsert)
		return err
	})
	if err != nil {
		s.removeBlob(ctx, blobKey(obj.Bucket, obj.Name, obj.Version))
		return writeResult{}, dbError(err)
	}
	if res.PreviousVersion != "" && res.PreviousVersion != obj.Version {
		s.removeBlob(ctx, blobKey(obj.Bucket, obj.Name, res.PreviousVersion))
	}
	return res, nil
}

// removeBlob deletes a blob no row refers to. A failure only wastes space (the sweep in Run
// retries later), so it is logged rather than returned.
func (s *Service) removeBlob(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := s.backend.Delete(ctx, key); err != nil {
		s.logger.WarnContext(ctx, "storage: could not remove an unused blob; the sweep will retry",
			"request_id", httpx.RequestID(ctx), "key", key, "error", err)
	}
}

// errTooLarge stops an upload that passes its size limit.
var errTooLarge = errors.New("upload exceeds the size limit")

// sizeLimiter fails with errTooLarge once more than left bytes have been read, so an upload
// without a declared length is cut off at its limit rather than stored.
type sizeLimiter struct {
	r    io.Reader
	left int64
}

func (l *sizeLimiter) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more than allowed is enough to know
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

// clientBody reads an upload from the client, records whether reading it failed (the
// client's fault rather than the backend's), and keeps the connection's deadlines moving
// while bytes arrive (see extendDeadlines).
type clientBody struct {
	r        io.Reader
	extend   func()
	extended time.Time // when extend last ran
	err      error
}

// extendInterval is how often clientBody moves the connection's deadlines while bytes arrive.
const extendInterval = time.Second

func (b *clientBody) Read(p []byte) (int, error) {
	// Moving both deadlines costs two timer updates; once a second is plenty against a
	// timeout of minutes, and spares a busy upload thousands of them.
	if now := time.Now(); now.Sub(b.extended) >= extendInterval {
		b.extended = now
		b.extend()
	}
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// transferIdleTimeout is how long an upload or download may make no progress.
const transferIdleTimeout = 2 * time.Minute

// extendDeadlines returns a function that pushes the connection's read and write deadlines
// transferIdleTimeout ahead: while an upload streams, neither the server's read timeout nor
// its write timeout (which runs from the start of the request) may cut it, but a stalled
// client still is.
func extendDeadlines(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	return func() {
		deadline := time.Now().Add(transferIdleTimeout)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
