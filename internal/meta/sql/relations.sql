-- Tables, views, materialized views, foreign and partitioned tables of the exposed schemas.
-- pg_relation_is_updatable is a CmdType bitmask: 4 UPDATE, 8 INSERT, 16 DELETE (triggers count).
SELECT c.oid::int8 AS oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       coalesce(obj_description(c.oid, 'pg_class'), '') AS description,
       pg_relation_is_updatable(c.oid::regclass, true) AS updatable_mask
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
ORDER BY n.nspname, c.relname
