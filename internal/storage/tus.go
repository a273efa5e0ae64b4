package storage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/storage/blob"
)

// Resumable uploads speak TUS 1.0.0 (https://tus.io/protocols/resumable-upload) at
// /upload/resumable, with Supabase's metadata (bucketName, objectName, contentType,
// cacheControl, metadata), as tus-js-client and Uppy use it against Supabase.
//
// It is implemented here rather than with tusd's handler: tusd keeps upload state in its
// own store (files or S3 multipart uploads plus .info objects), while here the state is a
// row of storage.resumable_uploads, so any node can continue an upload another node began,
// the right to write is checked against the storage.objects policies with the caller's
// claims, and the finished bytes go through the same path as every other upload (size and
// type checks, hashing, the version switch). Each PATCH stores its bytes as one part blob;
// the last PATCH concatenates the parts into the object's blob and removes them.
const (
	tusVersion     = "1.0.0"
	tusExtensions  = "creation,creation-with-upload,expiration,termination"
	tusContentType = "application/offset+octet-stream"
	// maxUploadParts bounds the parts (PATCH requests) of one upload, as S3 bounds its
	// multipart uploads.
	maxUploadParts = 10000
)

func (s *Service) tusRoutes() map[string]httpx.HandlerFunc {
	base := Prefix + "/upload/resumable"
	return map[string]httpx.HandlerFunc{
		"OPTIONS " + base:           s.tusOptions,
		"OPTIONS " + base + "/{id}": s.tusOptions,
		"POST " + base:              s.tusCreate,
		"HEAD " + base + "/{id}":    s.tusHead,
		"PATCH " + base + "/{id}":   s.tusPatch,
		"DELETE " + base + "/{id}":  s.tusDelete,
	}
}

// tusOptions announces what the server supports.
func (s *Service) tusOptions(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Tus-Resumable", tusVersion)
	h.Set("Tus-Version", tusVersion)
	h.Set("Tus-Extension", tusExtensions)
	h.Set("Tus-Max-Size", strconv.FormatInt(s.cfg.FileSizeLimit, 10))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tusRequest checks what every TUS request needs: the protocol version and a caller.
func tusRequest(w http.ResponseWriter, r *http.Request) (caller, error) {
	w.Header().Set("Tus-Resumable", tusVersion)
	if r.Header.Get("Tus-Resumable") != tusVersion {
		w.Header().Set("Tus-Version", tusVersion)
		return caller{}, httpx.NewError(http.StatusPreconditionFailed, CodeInvalidRequest, "Unsupported TUS version")
	}
	return requireCaller(r)
}

// tusCreate serves POST /upload/resumable: it checks the bucket, the declared length and
// type and the caller's right to write the object (as an upload would), and records the
// upload. A body sent along (creation-with-upload) is the first chunk.
func (s *Service) tusCreate(w http.ResponseWriter, r *http.Request) error {
	c, err := tusRequest(w, r)
	if err != nil {
		return err
	}
	length, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	if err != nil || length < 0 {
		return errInvalidRequest("Upload-Length must be a non-negative number (deferred lengths are not supported)")
	}
	meta, err := parseUploadMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		return err
	}
	u := resumableUpload{
		ID:           newUUID(),
		BucketID:     meta["bucketName"],
		Name:         meta["objectName"],
		OwnerID:      c.principal.Subject,
		Length:       length,
		ContentType:  meta["contentType"],
		CacheControl: cacheControlValue(meta["cacheControl"]),
		Upsert:       r.Header.Get("x-upsert") == "true",
		ExpiresAt:    time.Now().Add(s.cfg.TUSUploadExpiry),
	}
	if u.BucketID == "" || u.Name == "" {
		return errInvalidRequest("Upload-Metadata must name bucketName and objectName")
	}
	if u.ContentType == "" {
		u.ContentType = defaultMimeType
	}
	if md := meta["metadata"]; md != "" {
		if !isJSONObject([]byte(md)) {
			return errInvalidRequest("metadata must be a JSON object")
		}
		u.UserMetadata = json.RawMessage(md)
	}
	if err := checkObjectName(u.Name); err != nil {
		return err
	}
	probe := u.object(c.owner(), newUUID())
	probe.Metadata.ContentLength = length
	_, err = s.checkUpload(r.Context(), c.scope(r), probe, u.Upsert, func(limits bucketLimits) error {
		if length > limits.maxSize(s.cfg.FileSizeLimit) {
			return errEntityTooLarge()
		}
		if err := checkMimeType(u.ContentType, limits.AllowedMimeTypes, u.Name); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.insertUpload(r, u); err != nil {
		return err
	}
	w.Header().Set("Location", s.uploads.location(u))
	w.Header().Set("Upload-Expires", u.ExpiresAt.UTC().Format(http.TimeFormat))
	switch {
	case length == 0:
		// Nothing will ever be sent: the upload is complete as created.
		if err := s.completeUpload(r, c, u); err != nil {
			return err
		}
	case r.Header.Get("Content-Type") == tusContentType:
		if u, err = s.appendChunk(w, r, u); err != nil {
			return err
		}
		w.Header().Set("Upload-Offset", strconv.FormatInt(u.Offset, 10))
		if u.Offset == u.Length {
			if err := s.completeUpload(r, c, u); err != nil {
				return err
			}
			extendDeadlines(w)()
		}
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// object is the object a finished upload becomes.
func (u resumableUpload) object(o owner, version string) newObject {
	return newObject{
		ID:           newUUID(),
		Bucket:       u.BucketID,
		Name:         u.Name,
		Owner:        o,
		Version:      version,
		Metadata:     objectMetadata{Mimetype: u.ContentType, CacheControl: u.CacheControl},
		UserMetadata: u.UserMetadata,
	}
}

// parseUploadMetadata reads Upload-Metadata: comma-separated "key base64(value)" pairs.
func parseUploadMetadata(header string) (map[string]string, error) {
	out := map[string]string{}
	for pair := range strings.SplitSeq(header, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		key, encoded, _ := strings.Cut(pair, " ")
		value, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil {
			return nil, errInvalidRequest("Upload-Metadata values must be base64-encoded")
		}
		out[key] = string(value)
	}
	return out, nil
}

// ownUpload loads the upload named in the path if the caller began it: the same subject
// (sub), or for an upload begun without one (the anon or service-role key) the upload's
// secret from the Location it was given. The service role may continue any upload.
// Unknown, expired and other callers' uploads are all 404 to the caller.
func (s *Service) ownUpload(r *http.Request, c caller) (resumableUpload, error) {
	u, err := s.findUpload(r, r.PathValue("id"))
	if err != nil {
		return resumableUpload{}, err
	}
	if u == nil || time.Now().After(u.ExpiresAt) {
		return resumableUpload{}, errNoSuchUpload()
	}
	if c.principal.Role == db.RoleServiceRole {
		return *u, nil
	}
	if u.OwnerID != c.principal.Subject ||
		(u.OwnerID == "" && !s.uploads.valid(u.ID, r.URL.Query().Get(uploadSecretParam))) {
		return resumableUpload{}, errNoSuchUpload()
	}
	return *u, nil
}

// tusHead serves HEAD /upload/resumable/{id}: how much has arrived.
func (s *Service) tusHead(w http.ResponseWriter, r *http.Request) error {
	c, err := tusRequest(w, r)
	if err != nil {
		return err
	}
	u, err := s.ownUpload(r, c)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Upload-Offset", strconv.FormatInt(u.Offset, 10))
	h.Set("Upload-Length", strconv.FormatInt(u.Length, 10))
	h.Set("Upload-Expires", u.ExpiresAt.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// tusPatch serves PATCH /upload/resumable/{id}: the next chunk, at the offset the server
// has. The last chunk completes the upload.
func (s *Service) tusPatch(w http.ResponseWriter, r *http.Request) error {
	c, err := tusRequest(w, r)
	if err != nil {
		return err
	}
	if r.Header.Get("Content-Type") != tusContentType {
		return httpx.NewError(http.StatusUnsupportedMediaType, CodeInvalidRequest, "Content-Type must be "+tusContentType)
	}
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		return errInvalidRequest("Upload-Offset must be a non-negative number")
	}
	u, err := s.ownUpload(r, c)
	if err != nil {
		return err
	}
	if offset != u.Offset {
		return httpx.NewError(http.StatusConflict, CodeInvalidRequest, "Upload-Offset does not match the upload's offset "+strconv.FormatInt(u.Offset, 10))
	}
	if u, err = s.appendChunk(w, r, u); err != nil {
		return err
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(u.Offset, 10))
	w.Header().Set("Upload-Expires", u.ExpiresAt.UTC().Format(http.TimeFormat))
	if u.Offset == u.Length {
		if err := s.completeUpload(r, c, u); err != nil {
			return err
		}
		extendDeadlines(w)() // assembling may have outlasted the write timeout
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// appendChunk stores the request body as the upload's next part and returns the upload as
// it now stands. A body that breaks off stores nothing: the client resumes from the offset
// HEAD reports, which is where this chunk began.
func (s *Service) appendChunk(w http.ResponseWriter, r *http.Request, u resumableUpload) (resumableUpload, error) {
	remaining := u.Length - u.Offset
	allowed := remaining
	if s.cfg.TUSMaxChunkSize > 0 {
		allowed = min(allowed, s.cfg.TUSMaxChunkSize)
	}
	if r.ContentLength > allowed {
		return u, errEntityTooLarge()
	}
	if len(u.Parts) >= maxUploadParts {
		return u, errInvalidRequest("The upload has too many chunks; send larger ones")
	}
	var random [6]byte
	_, _ = rand.Read(random[:])
	part := uploadPart{Key: resumablePrefix + u.ID + "/" + strconv.FormatInt(u.Offset, 10) + "-" + hex.EncodeToString(random[:])}
	body := &clientBody{r: &sizeLimiter{r: r.Body, left: allowed}, extend: extendDeadlines(w)}
	attrs, err := s.backend.Put(r.Context(), part.Key, body, blob.PutOptions{})
	switch {
	case errors.Is(err, errTooLarge):
		return u, errEntityTooLarge().WithCause(err)
	case err != nil && body.err != nil:
		return u, errInvalidRequest("The chunk was interrupted before it completed").WithCause(err)
	case err != nil:
		return u, err
	}
	if attrs.Size == 0 {
		s.removeBlob(r.Context(), part.Key)
		return u, nil
	}
	part.Size = attrs.Size
	expires := time.Now().Add(s.cfg.TUSUploadExpiry)
	advanced, err := s.advanceUpload(r, u, part, expires)
	if err == nil && !advanced {
		err = httpx.NewError(http.StatusConflict, CodeInvalidRequest, "Another request moved the upload's offset")
	}
	if err != nil {
		s.removeBlob(r.Context(), part.Key)
		return u, err
	}
	u.Offset += part.Size
	u.Parts = append(u.Parts, part)
	u.ExpiresAt = expires
	return u, nil
}

// completeUpload turns the parts into the object, as the caller: the bytes go through the
// same checks as any upload (size, sniffed type), and the row is written under the caller's
// policies. Whether that works or not, the upload is over: its parts are removed, so a
// client asking again learns that it has to start over rather than that it is done.
func (s *Service) completeUpload(r *http.Request, c caller, u resumableUpload) error {
	// Assembling a large upload takes a while; a client that stops waiting must not make
	// the bytes it already sent useless.
	ctx := context.WithoutCancel(r.Context())
	defer s.dropUpload(ctx, r, u)
	limits, err := s.bucketLimits(ctx, r, u.BucketID)
	if err != nil {
		return err
	}
	parts := &partsReader{keys: u.partKeys(), open: func(key string) (io.ReadCloser, error) {
		rc, _, err := s.backend.Open(ctx, key, 0, -1)
		return rc, err
	}}
	defer parts.Close()
	_, err = s.ingest(ctx, c.scope(r), u.object(c.owner(), newUUID()), parts, limits, u.Upsert)
	return err
}

// tusDelete serves DELETE /upload/resumable/{id}: the upload is abandoned.
func (s *Service) tusDelete(w http.ResponseWriter, r *http.Request) error {
	c, err := tusRequest(w, r)
	if err != nil {
		return err
	}
	u, err := s.ownUpload(r, c)
	if err != nil {
		return err
	}
	s.dropUpload(r.Context(), r, u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
