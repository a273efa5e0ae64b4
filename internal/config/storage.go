package config

// StorageConfig configures the storage service.
type StorageConfig struct {
	Backend       string `koanf:"backend" doc:"Where object bytes live: local (a directory under data_dir) or s3 (an S3-compatible server)."`
	FileSizeLimit int64  `koanf:"file_size_limit" doc:"Largest object accepted, in bytes, whatever a bucket allows (Supabase's global FILE_SIZE_LIMIT; default 50 MiB)."`
}

func defaultStorage() StorageConfig {
	return StorageConfig{Backend: "local", FileSizeLimit: 50 << 20}
}

func validateStorage(errs *fieldErrors, s StorageConfig) {
	oneOf(errs, "storage.backend", s.Backend, []string{"local", "s3"})
	if s.FileSizeLimit <= 0 {
		errs.add("storage.file_size_limit", "must be greater than 0", s.FileSizeLimit)
	}
}
