package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/leader"
	"github.com/goforward/goforward/internal/storage"
	"github.com/goforward/goforward/internal/storage/blob"
	"github.com/goforward/goforward/internal/storage/localfs"
	"github.com/goforward/goforward/internal/storage/s3"
)

// s3ConnectTimeout bounds the check, at start, that the S3 bucket is reachable.
const s3ConnectTimeout = 30 * time.Second

// storageService builds the Supabase-compatible /storage/v1 service on the configured blob
// backend. The whole service is open at the gateway (it checks tokens itself, so public
// and signed URLs work without an apikey) and limits upload sizes itself. Its background
// loop expires resumable uploads and reclaims orphaned blobs, on one node at a time.
func storageService() serviceBuilder {
	return serviceBuilder{name: "storage", build: func(d serviceDeps) (builtService, error) {
		backend, err := storageBackend(d.cfg.Storage, d.dir, d.emb)
		if err != nil {
			return builtService{}, err
		}
		svc, err := storage.New(storageConfig(d.cfg.Storage), storage.Deps{Runner: d.runner, Keys: d.keys, Backend: backend, Logger: d.logger})
		if err != nil {
			return builtService{}, err
		}
		if d.emb != nil && d.emb.Storage != nil {
			mux := http.NewServeMux()
			svc.Mount(mux)
			d.emb.Storage(mux)
		}
		return builtService{
			Service: gateway.Service{
				Name:         "storage",
				Prefix:       storage.Prefix,
				Mount:        svc.Mount,
				Open:         storage.OpenPaths,
				MaxBodyBytes: -1,
			},
			// One node sweeps at a time (docs/scaling.md): sweeping twice is harmless, but
			// every node walking the whole bucket for orphans is not.
			run: func(ctx context.Context) error {
				return leader.Run(ctx, d.admin, leader.Config{Name: "storage sweeper", Logger: d.logger}, svc.Run)
			},
		}, nil
	}}
}

// storageConfig maps the configuration onto the storage service's Config (/storage/v1 and
// the admins' /admin/v1/storage/v1 share it).
func storageConfig(c config.StorageConfig) storage.Config {
	return storage.Config{
		FileSizeLimit:              c.FileSizeLimit,
		SignedUploadURLExpiry:      c.SignedUploadURLExpiry,
		VerifyContent:              c.VerifyContent,
		DisableImageTransformation: !c.Image.Enabled,
		ImageMaxDimension:          c.Image.MaxDimension,
		ImageMaxSourceBytes:        c.Image.MaxSourceBytes,
		ImageMaxSourcePixels:       c.Image.MaxSourcePixels,
		TUSUploadExpiry:            c.TUS.UploadExpiry,
		TUSMaxChunkSize:            c.TUS.MaxChunkSize,
		SweepInterval:              c.Sweep.Interval,
		OrphanSweepInterval:        c.Sweep.OrphanInterval,
		OrphanGracePeriod:          c.Sweep.OrphanGrace,
	}
}

// storageBackend opens where object bytes live: a directory (storage/ under the data
// directory unless storage.local.path says otherwise), an S3 bucket, or a backend the
// embedding program registered under the configured name.
func storageBackend(c config.StorageConfig, dataDir string, emb *Embedding) (blob.Backend, error) {
	switch c.Backend {
	case "local", "s3":
	default:
		// Load accepts only registered names, so this is a configuration built another way.
		if b := emb.storageBackend(c.Backend); b != nil {
			return b, nil
		}
		return nil, fmt.Errorf("storage: storage.backend %q: no backend is registered under that name (built in: local, s3; registered: %q)", c.Backend, emb.storageBackendNames())
	}
	switch c.Backend {
	case "s3":
		ctx, cancel := context.WithTimeout(context.Background(), s3ConnectTimeout)
		defer cancel()
		b, err := s3.New(ctx, s3.Config{
			Endpoint:     c.S3.Endpoint,
			Region:       c.S3.Region,
			Bucket:       c.S3.Bucket,
			Prefix:       c.S3.Prefix,
			AccessKey:    c.S3.AccessKey,
			SecretKey:    c.S3.SecretKey,
			UsePathStyle: c.S3.UsePathStyle,
		})
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return b, nil
	default:
		dir := c.Local.Path
		if dir == "" {
			dir = filepath.Join(dataDir, "storage")
		}
		b, err := localfs.New(localfs.Config{Dir: dir})
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return b, nil
	}
}
