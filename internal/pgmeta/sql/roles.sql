-- GET /pg/roles: without include_default_roles, the predefined pg_* roles are left out. The
-- password is pg_roles' mask, never the hash.
WITH items AS (
  SELECT r.*
  FROM pg_roles r
  WHERE (@include_default_roles::bool OR NOT starts_with(r.rolname, 'pg_'))
    AND (@ids::int8[] IS NULL OR r.oid::int8 = ANY(@ids::int8[]))
    AND (@names::text[] IS NULL OR r.rolname = ANY(@names::text[]))
  ORDER BY r.rolname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', i.oid::int8,
  'name', i.rolname,
  'is_superuser', i.rolsuper,
  'can_create_db', i.rolcreatedb,
  'can_create_role', i.rolcreaterole,
  'inherit_role', i.rolinherit,
  'can_login', i.rolcanlogin,
  'is_replication_role', i.rolreplication,
  'can_bypass_rls', i.rolbypassrls,
  'active_connections', (SELECT count(*) FROM pg_stat_activity a WHERE a.usename = i.rolname),
  'connection_limit', CASE WHEN i.rolconnlimit = -1 THEN current_setting('max_connections')::int8 ELSE i.rolconnlimit END,
  'password', i.rolpassword,
  'valid_until', i.rolvaliduntil::text,
  'config', (
    SELECT json_object_agg(split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
    FROM unnest(i.rolconfig) AS c
  )
)::text
FROM items i
ORDER BY i.rolname
