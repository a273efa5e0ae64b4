package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/storage/blob"
)

// access is how a read route decides who may read.
type access int

const (
	// accessOptional: a token if there is one (RLS decides in private buckets), anyone in
	// public buckets. /object/{bucket}/{name}, /object/info/{bucket}/{name}.
	accessOptional access = iota
	// accessAuthenticated: a valid token is required. /object/authenticated/...
	accessAuthenticated
	// accessPublic: no token; the bucket must be public. /object/public/...
	accessPublic
	// accessSigned: a signed-URL token in ?token= stands for the caller. /object/sign/...
	accessSigned
)

// readable is an object a read route may serve, and how.
type readable struct {
	row     objectRow
	expires time.Time // signed URLs: when the token expires; zero otherwise
	// transform is the transformation a signed render URL was issued for.
	transform string
}

// findReadable applies Supabase's read rules. Bucket and public status are looked up as
// service_role; an object in a public bucket is read as service_role too (public buckets
// skip RLS for reads, even for signed-in callers); in a private bucket it is read as the
// caller, so the SELECT policies decide, and what they hide is NoSuchKey.
func (s *Service) findReadable(r *http.Request, mode access) (readable, error) {
	ctx := r.Context()
	bucket, name := r.PathValue("bucket"), r.PathValue("name")
	if err := checkObjectName(name); err != nil {
		return readable{}, err
	}
	var out readable
	c := optionalCaller(r)
	switch mode {
	case accessAuthenticated:
		var err error
		if c, err = requireCaller(r); err != nil {
			return readable{}, err
		}
	case accessSigned:
		claims, err := s.urls.verify(r.URL.Query().Get("token"), scopeDownload, bucket+"/"+name)
		if err != nil {
			return readable{}, err
		}
		out.expires, out.transform = claims.expiresAt(), claims.Transformations
	}
	limits, err := s.bucketLimits(ctx, r, bucket)
	if err != nil {
		return readable{}, err
	}
	if (mode == accessPublic || (mode == accessOptional && !c.authenticated)) && !limits.Public {
		return readable{}, errNoSuchBucket()
	}
	scope := c.scope(r)
	if limits.Public || mode == accessSigned {
		scope = serviceScope(r)
	}
	var row *objectRow
	err = s.runner.InRole(ctx, scope, func(tx pgx.Tx) error {
		row, err = findObject(ctx, tx, bucket, name)
		return err
	})
	if err != nil {
		return readable{}, dbError(err)
	}
	if row == nil || row.blobKey() == "" {
		return readable{}, errNoSuchKey()
	}
	out.row = *row
	return out, nil
}

// getObject serves an object's bytes with Range, conditional requests (ETag,
// If-Modified-Since → 304) and the cache headers stored with it; ?download asks for an
// attachment. HEAD answers the same headers without touching the bytes.
func (s *Service) getObject(mode access) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		obj, err := s.findReadable(r, mode)
		if err != nil {
			return err
		}
		return s.serveObject(w, r, obj)
	}
}

func (s *Service) serveObject(w http.ResponseWriter, r *http.Request, obj readable) error {
	ctx := r.Context()
	key := obj.row.blobKey()
	meta := obj.row.meta()
	content := &blobContent{size: meta.Size}
	defer content.Close()
	content.open = func(offset int64) (io.ReadCloser, error) {
		rc, _, err := s.backend.Open(ctx, key, offset, -1)
		return rc, err
	}
	if r.Method != http.MethodHead {
		// Open before any header is written, so missing bytes are still an error response
		// rather than a truncated 200; Range requests reopen where they start.
		rc, attrs, err := s.backend.Open(ctx, key, 0, -1)
		if err != nil {
			return blobError(err)
		}
		content.size, content.rc = attrs.Size, rc
	}
	setObjectHeaders(w.Header(), obj, meta)
	if filename, ok := downloadName(r); ok {
		w.Header().Set("Content-Disposition", contentDisposition(filename))
	} else if activeDocument(meta.Mimetype) {
		w.Header().Set("Content-Disposition", contentDisposition(path.Base(obj.row.Name)))
	}
	http.ServeContent(&progressWriter{ResponseWriter: w, extend: extendWriteDeadline(w)}, r, "", lastModified(obj.row, meta), content)
	return nil
}

func setObjectHeaders(h http.Header, obj readable, meta objectMetadata) {
	contentType := meta.Mimetype
	if contentType == "" {
		contentType = defaultMimeType
	}
	h.Set("Content-Type", servedContentType(contentType))
	if meta.ETag != "" {
		h.Set("ETag", meta.ETag)
	}
	if !obj.expires.IsZero() {
		// A signed URL may be cached until its token expires, as Supabase says.
		h.Set("Expires", obj.expires.UTC().Format(http.TimeFormat))
	} else if meta.CacheControl != "" {
		h.Set("Cache-Control", meta.CacheControl)
	}
}

// servedContentType keeps stored HTML from rendering as a page on the API's origin, as
// Supabase does.
func servedContentType(contentType string) string {
	if strings.Contains(strings.ToLower(contentType), "text/html") {
		return "text/plain"
	}
	return contentType
}

// activeDocument reports the types a browser renders as a document that can run script:
// SVG, XHTML and XML of any kind (XML may turn into XHTML or SVG through its namespaces or
// an XSLT stylesheet). They are served as attachments: opening the URL downloads the file
// instead of rendering it, while <img> and CSS, which ignore Content-Disposition and never
// run an image's scripts, show it as before. HTML needs no such treatment: it is served as
// text/plain.
func activeDocument(contentType string) bool {
	typ, sub, _ := strings.Cut(baseMediaType(contentType), "/")
	switch {
	case strings.HasSuffix(sub, "+xml"):
		return true
	case typ == "text" && (sub == "xml" || sub == "xsl"):
		return true
	case typ == "application" && sub == "xml":
		return true
	}
	return false
}

func lastModified(row objectRow, meta objectMetadata) time.Time {
	if t, err := time.Parse(time.RFC3339, meta.LastModified); err == nil {
		return t
	}
	if row.UpdatedAt != nil {
		return *row.UpdatedAt
	}
	return time.Time{}
}

// downloadName reports ?download and its value.
func downloadName(r *http.Request) (string, bool) {
	values, ok := r.URL.Query()["download"]
	if !ok {
		return "", false
	}
	return values[0], true
}

func blobError(err error) error {
	if errors.Is(err, blob.ErrNotFound) {
		return errNoSuchKey().WithCause(err)
	}
	return fmt.Errorf("open blob: %w", err)
}

// blobContent is an io.ReadSeeker over a blob for http.ServeContent: seeking is free, and a
// read opens the blob where it is needed (once for a plain download, once per range).
type blobContent struct {
	open  func(offset int64) (io.ReadCloser, error)
	size  int64
	pos   int64
	rc    io.ReadCloser
	rcPos int64
}

func (c *blobContent) Read(p []byte) (int, error) {
	if c.pos >= c.size {
		return 0, io.EOF
	}
	if c.rc == nil || c.rcPos != c.pos {
		c.Close()
		rc, err := c.open(c.pos)
		if err != nil {
			return 0, err
		}
		c.rc, c.rcPos = rc, c.pos
	}
	n, err := c.rc.Read(p)
	c.pos += int64(n)
	c.rcPos += int64(n)
	return n, err
}

func (c *blobContent) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += c.size
	default:
		return 0, errors.New("blobContent: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blobContent: negative position")
	}
	c.pos = offset
	return offset, nil
}

// file returns the local file holding the blob, positioned at c.pos, when the backend keeps
// it in one (blob.FileSection). Reading through the file moves its offset, not the open
// reader's, so that reader is let go: a later Read reopens where the copy left off.
func (c *blobContent) file() (*os.File, bool) {
	if c.rc == nil || c.rcPos != c.pos {
		c.Close()
		rc, err := c.open(c.pos)
		if err != nil {
			return nil, false
		}
		c.rc, c.rcPos = rc, c.pos
	}
	fs, ok := c.rc.(blob.FileSection)
	if !ok {
		return nil, false
	}
	f, offset := fs.FileSection()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, false
	}
	c.rcPos = -1
	return f, true
}

// Close closes the open reader, if any.
func (c *blobContent) Close() error {
	if c.rc == nil {
		return nil
	}
	err := c.rc.Close()
	c.rc = nil
	return err
}

// progressWriter keeps the connection's write deadline moving while a download makes
// progress, so large downloads are not cut by the server's write timeout.
type progressWriter struct {
	http.ResponseWriter
	extend func()
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.extend()
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection through the wrapper.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// sendfileChunk is how much of a file goes to the connection between two extensions of its
// write deadline.
const sendfileChunk = 8 << 20

// ReadFrom is what http.ServeContent's copy calls. When the content is a blob kept in a local
// file, the file itself goes to the connection (net/http sends it with sendfile, without
// copying it through user space), a chunk at a time so the write deadline keeps moving;
// anything else is copied through Write.
func (p *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	limited, ok := src.(*io.LimitedReader)
	var content *blobContent
	if ok {
		content, ok = limited.R.(*blobContent)
	}
	var file *os.File
	if ok {
		file, ok = content.file()
	}
	if !ok {
		return io.Copy(writerOnly{p}, src)
	}
	var sent int64
	for limited.N > 0 {
		p.extend()
		n, err := httpx.ReadFrom(p.ResponseWriter, &io.LimitedReader{R: file, N: min(limited.N, sendfileChunk)})
		sent += n
		limited.N -= n
		content.pos += n
		if err != nil {
			return sent, err
		}
		if n == 0 {
			break // the file is shorter than its row says; ServeContent reports the short copy
		}
	}
	return sent, nil
}

// writerOnly hides ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

func extendWriteDeadline(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	return func() { _ = rc.SetWriteDeadline(time.Now().Add(transferIdleTimeout)) }
}

// objectInfo serves /object/info: the object's details as JSON (storage-js's info()).
func (s *Service) objectInfo(mode access) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		obj, err := s.findReadable(r, mode)
		if err != nil {
			return err
		}
		meta := obj.row.meta()
		h := w.Header()
		if meta.ETag != "" {
			h.Set("ETag", meta.ETag)
		}
		if meta.CacheControl != "" {
			h.Set("Cache-Control", meta.CacheControl)
		}
		if t := lastModified(obj.row, meta); !t.IsZero() {
			h.Set("Last-Modified", t.UTC().Format(http.TimeFormat))
		}
		return httpx.WriteJSON(w, http.StatusOK, infoOf(obj.row, meta))
	}
}

// objectInfoBody is Supabase's /object/info answer.
type objectInfoBody struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Version      *string         `json:"version"`
	BucketID     string          `json:"bucket_id"`
	Size         *int64          `json:"size"`
	ContentType  *string         `json:"content_type"`
	CacheControl *string         `json:"cache_control"`
	ETag         *string         `json:"etag"`
	Metadata     json.RawMessage `json:"metadata"`
	LastModified *jsTime         `json:"last_modified"`
	CreatedAt    *jsTime         `json:"created_at"`
}

// userMetadataOf is the custom metadata info returns: {} when the object has none (uploads
// store {} then, as Supabase's do; rows from before, resumable uploads and rows written with
// SQL may hold NULL), so that clients reading data.metadata.x never meet null.
func userMetadataOf(row objectRow) json.RawMessage {
	if len(row.UserMetadata) == 0 || string(row.UserMetadata) == "null" {
		return json.RawMessage("{}")
	}
	return row.UserMetadata
}

func infoOf(row objectRow, meta objectMetadata) objectInfoBody {
	nonEmpty := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	body := objectInfoBody{
		ID:           row.ID,
		Name:         row.Name,
		Version:      row.Version,
		BucketID:     row.BucketID,
		ContentType:  nonEmpty(meta.Mimetype),
		CacheControl: nonEmpty(meta.CacheControl),
		ETag:         nonEmpty(meta.ETag),
		Metadata:     userMetadataOf(row),
		LastModified: jsTimeOf(row.UpdatedAt),
		CreatedAt:    jsTimeOf(row.CreatedAt),
	}
	if len(row.Metadata) > 0 {
		body.Size = &meta.Size
	}
	return body
}
