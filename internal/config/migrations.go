package config

// MigrateConfig configures the project's own migrations (goforward migrate,
// /admin/v1/migrations).
type MigrateConfig struct {
	Dir string `koanf:"dir" doc:"Directory of the project's migration files (VERSION_NAME.up.sql and .down.sql, or Supabase's VERSION_name.sql), relative to the working directory; empty means ./supabase/migrations when it exists, else ./migrations."`
}
