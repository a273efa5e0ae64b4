-- PostgREST's in-database configuration: the pgrst.* settings of the authenticator role
-- (ALTER ROLE authenticator SET pgrst.db_aggregates_enabled = 'true'), for every database and
-- for this one; this database's own come last, so they win.
SELECT substr(setting, 7, strpos(setting, '=') - 7) AS name,
       substr(setting, strpos(setting, '=') + 1) AS value
FROM pg_db_role_setting AS d
JOIN pg_roles AS r ON r.oid = d.setrole AND r.rolname = 'authenticator'
CROSS JOIN LATERAL unnest(d.setconfig) AS setting
WHERE d.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND setting LIKE 'pgrst.%=%'
ORDER BY d.setdatabase
