-- GET /pg/config/version.
SELECT json_build_object(
  'version', version(),
  'version_number', current_setting('server_version_num')::int8,
  'active_connections', (SELECT count(*) FROM pg_stat_activity),
  'max_connections', current_setting('max_connections')::int8
)::text
