package config

import (
	"net/url"
	"time"
)

// StorageConfig configures the storage service. Its fields mirror Supabase Storage's
// settings where one exists (FILE_SIZE_LIMIT → file_size_limit, TUS_URL_EXPIRY_MS →
// tus.upload_expiry).
type StorageConfig struct {
	Backend               string             `koanf:"backend" doc:"Where object bytes live: local (a directory under data_dir), s3 (an S3-compatible server), or a name a program embedding Go Forward registered with App.StorageBackend."`
	FileSizeLimit         int64              `koanf:"file_size_limit" doc:"Largest object accepted, in bytes, whatever a bucket allows (Supabase's global FILE_SIZE_LIMIT; default 50 MiB)."`
	SignedUploadURLExpiry time.Duration      `koanf:"signed_upload_url_expiry" doc:"How long a URL from createSignedUploadUrl accepts its upload."`
	VerifyContent         bool               `koanf:"verify_content" doc:"Also check a bucket's allowed_mime_types against what an upload's first bytes look like, not only against its declared Content-Type as Supabase does (Go Forward's stricter option); a bucket's verify_content column overrides it."`
	Local                 LocalStorageConfig `koanf:"local" doc:"The local directory backend (backend: local)."`
	S3                    S3StorageConfig    `koanf:"s3" doc:"The S3-compatible backend (backend: s3)."`
	Image                 ImageConfig        `koanf:"image" doc:"Image transformation at /storage/v1/render/image."`
	TUS                   TUSConfig          `koanf:"tus" doc:"Resumable uploads (TUS 1.0.0) at /storage/v1/upload/resumable."`
	Sweep                 SweepConfig        `koanf:"sweep" doc:"The sweeper, which one node at a time runs: it removes expired resumable uploads and blobs no object refers to (left by a node that died between storing bytes and committing their row)."`
}

// SweepConfig paces the storage sweeper.
type SweepConfig struct {
	Interval       time.Duration `koanf:"interval" doc:"How often expired resumable uploads are removed."`
	OrphanInterval time.Duration `koanf:"orphan_interval" doc:"How often the backend is walked for blobs no object or resumable upload refers to."`
	OrphanGrace    time.Duration `koanf:"orphan_grace" doc:"How old a blob without a row must be before the sweeper removes it; far longer than any upload takes to commit."`
}

// LocalStorageConfig configures the local directory backend.
type LocalStorageConfig struct {
	Path string `koanf:"path" doc:"Directory holding object bytes; empty means storage/ under data_dir."`
}

// S3StorageConfig configures the S3-compatible backend.
type S3StorageConfig struct {
	Endpoint     string `koanf:"endpoint" doc:"URL of the S3 server, such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 for MinIO."`
	Region       string `koanf:"region" doc:"Region of the bucket; empty asks the server."`
	Bucket       string `koanf:"bucket" doc:"Bucket holding the object bytes of every storage bucket; it must exist."`
	Prefix       string `koanf:"prefix" doc:"Key prefix inside the bucket, such as goforward/, so the bucket can be shared."`
	AccessKey    string `koanf:"access_key" doc:"Access key id."`
	SecretKey    string `koanf:"secret_key" redact:"value" doc:"Secret access key."`
	UsePathStyle bool   `koanf:"use_path_style" doc:"Address the bucket as host/bucket rather than bucket.host (needed by MinIO and most self-hosted servers)."`
}

// ImageConfig bounds image transformations, which decode whole images in memory.
type ImageConfig struct {
	Enabled         bool  `koanf:"enabled" doc:"Serve /storage/v1/render/image (Supabase's ENABLE_IMAGE_TRANSFORMATION)."`
	MaxDimension    int   `koanf:"max_dimension" doc:"Largest width or height a transformation may ask for, in pixels."`
	MaxSourceBytes  int64 `koanf:"max_source_bytes" doc:"Largest stored image that is transformed, in bytes; bigger ones are refused."`
	MaxSourcePixels int64 `koanf:"max_source_pixels" doc:"Largest stored image that is transformed, in pixels (width × height), which bounds the memory one decode takes (4 bytes per pixel)."`
}

// TUSConfig configures resumable uploads.
type TUSConfig struct {
	UploadExpiry time.Duration `koanf:"upload_expiry" doc:"How long an unfinished resumable upload is kept after its last chunk; then it and its bytes are removed."`
	MaxChunkSize int64         `koanf:"max_chunk_size" doc:"Most bytes one PATCH may carry; 0 means only the object size limit applies."`
}

func defaultStorage() StorageConfig {
	return StorageConfig{
		Backend:               "local",
		FileSizeLimit:         50 << 20,
		SignedUploadURLExpiry: 2 * time.Hour,
		Image: ImageConfig{
			Enabled:         true,
			MaxDimension:    2500,
			MaxSourceBytes:  25 << 20,
			MaxSourcePixels: 50_000_000,
		},
		TUS:   TUSConfig{UploadExpiry: 24 * time.Hour},
		Sweep: SweepConfig{Interval: 10 * time.Minute, OrphanInterval: 6 * time.Hour, OrphanGrace: 24 * time.Hour},
	}
}

func validateStorage(errs *fieldErrors, s StorageConfig, registered []string) {
	oneOf(errs, "storage.backend", s.Backend, append([]string{"local", "s3"}, registered...))
	if s.FileSizeLimit <= 0 {
		errs.add("storage.file_size_limit", "must be greater than 0", s.FileSizeLimit)
	}
	positive(errs, "storage.signed_upload_url_expiry", s.SignedUploadURLExpiry)
	if s.Backend == "s3" {
		if u, err := url.Parse(s.S3.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("storage.s3.endpoint", "must be an http:// or https:// URL when storage.backend is s3", s.S3.Endpoint)
		}
		if s.S3.Bucket == "" {
			errs.add("storage.s3.bucket", "must name a bucket when storage.backend is s3", s.S3.Bucket)
		}
	}
	if s.Image.MaxDimension <= 0 {
		errs.add("storage.image.max_dimension", "must be greater than 0", s.Image.MaxDimension)
	}
	if s.Image.MaxSourceBytes <= 0 {
		errs.add("storage.image.max_source_bytes", "must be greater than 0", s.Image.MaxSourceBytes)
	}
	if s.Image.MaxSourcePixels <= 0 {
		errs.add("storage.image.max_source_pixels", "must be greater than 0", s.Image.MaxSourcePixels)
	}
	positive(errs, "storage.tus.upload_expiry", s.TUS.UploadExpiry)
	positive(errs, "storage.sweep.interval", s.Sweep.Interval)
	positive(errs, "storage.sweep.orphan_interval", s.Sweep.OrphanInterval)
	positive(errs, "storage.sweep.orphan_grace", s.Sweep.OrphanGrace)
	if s.TUS.MaxChunkSize < 0 {
		errs.add("storage.tus.max_chunk_size", "must not be negative (0 means no limit)", s.TUS.MaxChunkSize)
	}
}
