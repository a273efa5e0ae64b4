-- User migrations: the history of the project's own schema files (goforward migrate,
-- /admin/v1/migrations; internal/usermigrations). One row per applied migration, removed
-- again when it is rolled back. The SQL that ran is kept with it, so that a rollback works
-- when the file is gone and `migrate diff` can replay the history into a scratch database.

CREATE TABLE goforward.migrations (
  -- The file's numeric prefix: a timestamp (20250114093000) as Supabase's CLI writes, or any
  -- other number; ordered numerically.
  version text PRIMARY KEY CHECK (version ~ '^[0-9]+$'),
  name text NOT NULL,
  up_sql text NOT NULL,
  -- NULL: the migration had no down file when it was applied.
  down_sql text,
  -- Hex SHA-256 of the up file: an applied file that changes afterwards is refused.
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL,
  -- Who applied it: an admin's e-mail address, service_role, or cli:<os user>@<host>.
  applied_by text NOT NULL,
  duration interval NOT NULL,
  -- Recorded as applied without running: its SQL had already run (DDL made through /pg or
  -- psql, captured with "save as migration" or `migrate diff`).
  marked boolean NOT NULL DEFAULT false
);

REVOKE ALL ON goforward.migrations FROM PUBLIC, anon, authenticated, service_role;
