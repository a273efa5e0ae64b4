// Package storage is Go Forward's /storage/v1: Supabase Storage's HTTP API, so that
// supabase-js's storage client works unchanged. Buckets and objects are rows of
// storage.buckets and storage.objects; every read and write of them runs through
// db.RoleRunner.InRole as the caller, so row-level security policies on those tables decide
// who may list, read, upload, overwrite and delete, exactly as on Supabase. Object bytes live
// in a blob.Backend (a local directory or an S3 bucket).
//
// Consistency between the two: bytes are always written under a key no one has used (the
// object's bucket, name and a fresh version), the row is switched to that version in one
// transaction, and only then is the old version's blob removed. An upload that fails at any
// point removes its own blob, so no row ever points at missing bytes and no failed upload
// leaves bytes behind; Run reclaims what a crash between the two steps could leave.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/storage/blob"
)

// Prefix is the path every storage route lives under, as in Supabase.
const Prefix = "/storage/v1"

// OpenPaths are the routes reached without an apikey: all of them, as in Supabase's
// self-hosted gateway, because public and signed URLs must work from <img> tags. The service
// checks the Authorization header itself on every other route.
var OpenPaths = []string{Prefix}

// Defaults applied by New to zero Config fields.
const (
	DefaultFileSizeLimit         = 50 << 20
	DefaultSignedUploadURLExpiry = 2 * time.Hour
	DefaultImageMaxDimension     = 2500
	DefaultImageMaxSourceBytes   = 25 << 20
	DefaultImageMaxSourcePixels  = 50_000_000
	DefaultTUSUploadExpiry       = 24 * time.Hour
	DefaultSweepInterval         = 10 * time.Minute
	DefaultOrphanSweepInterval   = 6 * time.Hour
	DefaultOrphanGracePeriod     = 24 * time.Hour
)

// Config configures the service. Zero values mean the stated defaults.
type Config struct {
	// FileSizeLimit is the largest object accepted, in bytes, whatever a bucket allows.
	// Default 50 MiB (Supabase's FILE_SIZE_LIMIT).
	FileSizeLimit int64
	// SignedUploadURLExpiry is how long a createSignedUploadUrl URL works. Default 2h.
	SignedUploadURLExpiry time.Duration
	// VerifyContent also holds a bucket's allowed_mime_types against what an upload's first
	// 512 bytes look like (http.DetectContentType), not only against the declared
	// Content-Type as Supabase does, for buckets whose verify_content column is NULL; the
	// column decides for its bucket when set. Copies and moves into such a bucket are
	// sniffed too. Default false.
	VerifyContent bool
	// DisableImageTransformation turns /render/image off (it answers FeatureNotEnabled).
	DisableImageTransformation bool
	// ImageMaxDimension is the largest width or height a transformation may ask for.
	// Default 2500 pixels.
	ImageMaxDimension int
	// ImageMaxSourceBytes is the largest stored image transformed. Default 25 MiB.
	ImageMaxSourceBytes int64
	// ImageMaxSourcePixels is the largest stored image transformed, in pixels; it bounds
	// the memory of one decode. Default 50 million.
	ImageMaxSourcePixels int64
	// ImageConcurrency is how many transformations run at once; the others wait. Default
	// GOMAXPROCS.
	ImageConcurrency int
	// TUSUploadExpiry is how long an unfinished resumable upload lives after its last
	// chunk. Default 24h.
	TUSUploadExpiry time.Duration
	// TUSMaxChunkSize is the most bytes one PATCH may carry. Default 0: no limit but the
	// object's.
	TUSMaxChunkSize int64
	// SweepInterval is how often Run removes expired resumable uploads. Default 10m.
	SweepInterval time.Duration
	// OrphanSweepInterval is how often Run walks the backend for blobs no row refers to
	// (backends that implement blob.Lister); the walk reads every key. Default 6h.
	OrphanSweepInterval time.Duration
	// OrphanGracePeriod is how old a blob without a row must be before Run removes it: far
	// longer than any upload takes to commit its row. Default 24h.
	OrphanGracePeriod time.Duration
}

func (c Config) withDefaults() Config {
	setDefault(&c.FileSizeLimit, DefaultFileSizeLimit)
	setDefault(&c.SignedUploadURLExpiry, DefaultSignedUploadURLExpiry)
	setDefault(&c.ImageMaxDimension, DefaultImageMaxDimension)
	setDefault(&c.ImageMaxSourceBytes, DefaultImageMaxSourceBytes)
	setDefault(&c.ImageMaxSourcePixels, DefaultImageMaxSourcePixels)
	setDefault(&c.ImageConcurrency, runtime.GOMAXPROCS(0))
	setDefault(&c.TUSUploadExpiry, DefaultTUSUploadExpiry)
	setDefault(&c.SweepInterval, DefaultSweepInterval)
	setDefault(&c.OrphanSweepInterval, DefaultOrphanSweepInterval)
	setDefault(&c.OrphanGracePeriod, DefaultOrphanGracePeriod)
	return c
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Deps are the service's collaborators.
type Deps struct {
	// Runner runs every metadata query as the caller's role. Required.
	Runner *db.RoleRunner
	// Keys is what the key signing signed-URL tokens is derived from. Required.
	Keys *security.Keys
	// Backend keeps object bytes. Required.
	Backend blob.Backend
	// Logger receives the service's logs. Nil: slog.Default().
	Logger *slog.Logger
}

// Service is the Supabase-compatible storage API.
type Service struct {
	cfg     Config
	runner  *db.RoleRunner
	backend blob.Backend
	logger  *slog.Logger
	urls    urlSigner
	uploads uploadSecrets
	images  chan struct{} // a slot per transformation allowed to run
}

// New checks deps, applies cfg's defaults and returns the service. It does no I/O.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Runner == nil || deps.Keys == nil || deps.Backend == nil {
		return nil, errors.New("storage: Deps.Runner, Deps.Keys and Deps.Backend are required")
	}
	cfg = cfg.withDefaults()
	urls, err := newURLSigner(deps.Keys)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	uploadKey, err := deriveKey(deps.Keys, "goforward storage resumable upload key")
	if err != nil {
		return nil, fmt.Errorf("storage: derive resumable upload key: %w", err)
	}
	s := &Service{
		cfg:     cfg,
		runner:  deps.Runner,
		backend: deps.Backend,
		logger:  deps.Logger,
		urls:    urls,
		uploads: uploadSecrets{key: uploadKey},
		images:  make(chan struct{}, cfg.ImageConcurrency),
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s, nil
}

// Mount registers every route on mux, and under Prefix a catch-all that answers paths no
// route takes in Storage's own words, as Supabase's gateway leaves them to Storage.
func (s *Service) Mount(mux *http.ServeMux) {
	for pattern, h := range s.routes() {
		mux.Handle(pattern, inert(httpx.Handle(renderError, h)))
	}
	for pattern, h := range s.tusRoutes() {
		mux.Handle(pattern, inert(httpx.Handle(renderTUSError, h)))
	}
	mux.Handle(Prefix+"/", inert(http.HandlerFunc(routeNotFound)))
}

// generic guards the routes that take the bucket from the first segment after /object. When
// that segment is one of the API's own words (routeWords), the request was meant for a fixed
// route that does not exist for this method or shape (POST /object/info/a/b, DELETE
// /object/move), and it is answered as an unknown route: it must never become an upload
// into, a download from or a delete in a bucket named after the word.
func generic(h httpx.HandlerFunc) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if routeWords[r.PathValue("bucket")] {
			routeNotFound(w, r)
			return nil
		}
		return h(w, r)
	}
}

// contentSecurityPolicy is sent with every response of the service. Objects are whatever
// users uploaded, served from the API's own origin: an SVG, XHTML or XML document opened
// in a browser would otherwise run its scripts there, with the origin's cookies and storage
// and the right to call the API. Under this policy nothing loads and no script runs, and
// "sandbox" gives the document an opaque origin of its own. Embedding is unaffected: an
// <img> never runs an image's scripts and ignores the image's own policy for the page.
const contentSecurityPolicy = "default-src 'none'; sandbox"

// inert sets the headers that keep any response of the service from acting as a page.
func inert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// routes lists the Supabase Storage API. GET patterns serve HEAD too (ServeMux's rule), with
// the same headers and no body; a separate HEAD pattern beside them would conflict.
func (s *Service) routes() map[string]httpx.HandlerFunc {
	const o = "/object"
	r := map[string]httpx.HandlerFunc{
		"GET /bucket":                                         s.listBuckets,
		"POST /bucket":                                        s.createBucket,
		"GET /bucket/{id}":                                    s.getBucket,
		"PUT /bucket/{id}":                                    s.updateBucket,
		"DELETE /bucket/{id}":                                 s.deleteBucket,
		"POST /bucket/{id}/empty":                             s.emptyBucket,
		"POST " + o + "/{bucket}/{name...}":                   generic(s.uploadObject(false)),
		"PUT " + o + "/{bucket}/{name...}":                    generic(s.uploadObject(true)),
		"DELETE " + o + "/{bucket}/{name...}":                 generic(s.deleteObject),
		"DELETE " + o + "/{bucket}":                           generic(s.deleteObjects),
		"POST " + o + "/list/{bucket}":                        s.listObjects,
		"POST " + o + "/list-v2/{bucket}":                     s.listObjectsV2,
		"POST " + o + "/move":                                 s.moveObject,
		"POST " + o + "/copy":                                 s.copyObject,
		"POST " + o + "/sign/{bucket}/{name...}":              s.signURL,
		"POST " + o + "/sign/{bucket}":                        s.signURLs,
		"POST " + o + "/upload/sign/{bucket}/{name...}":       s.signUploadURL,
		"PUT " + o + "/upload/sign/{bucket}/{name...}":        s.uploadSigned,
		"GET /render/image/authenticated/{bucket}/{name...}":  s.renderImage(accessAuthenticated),
		"GET /render/image/public/{bucket}/{name...}":         s.renderImage(accessPublic),
		"GET /render/image/sign/{bucket}/{name...}":           s.renderImage(accessSigned),
		"GET " + o + "/{bucket}/{name...}":                    generic(s.getObject(accessOptional)),
		"GET " + o + "/authenticated/{bucket}/{name...}":      s.getObject(accessAuthenticated),
		"GET " + o + "/public/{bucket}/{name...}":             s.getObject(accessPublic),
		"GET " + o + "/sign/{bucket}/{name...}":               s.getObject(accessSigned),
		"GET " + o + "/info/{bucket}/{name...}":               s.objectInfo(accessOptional),
		"GET " + o + "/info/authenticated/{bucket}/{name...}": s.objectInfo(accessAuthenticated),
		"GET " + o + "/info/public/{bucket}/{name...}":        s.objectInfo(accessPublic),
	}
	out := make(map[string]httpx.HandlerFunc, len(r))
	for pattern, h := range r {
		method, path, _ := strings.Cut(pattern, " ")
		out[method+" "+Prefix+path] = h
	}
	return out
}

// Run does the service's background work until ctx ends: every SweepInterval it removes
// resumable uploads past their expiry (with their bytes), and every OrphanSweepInterval
// blobs that no row refers to. Failures are logged and retried at the next round.
func (s *Service) Run(ctx context.Context) error {
	ticker := time.NewTicker(s.cfg.SweepInterval)
	defer ticker.Stop()
	var lastOrphanSweep time.Time
	for {
		orphans := time.Since(lastOrphanSweep) >= s.cfg.OrphanSweepInterval
		if orphans {
			lastOrphanSweep = time.Now()
		}
		if err := s.sweep(ctx, orphans); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "storage sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
