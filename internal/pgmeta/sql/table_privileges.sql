-- GET /pg/table-privileges: each relation's ACL exploded (the owner's implicit grants when it
-- has none), with PUBLIC as a grantee.
WITH items AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relacl, c.relowner
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
    AND NOT pg_is_other_temp_schema(c.relnamespace)
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR c.oid::int8 = ANY(@ids::int8[]))
    AND (pg_has_role(c.relowner, 'USAGE')
      OR has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
      OR has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
  ORDER BY n.nspname, c.relname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'relation_id', i.oid::int8,
  'schema', i.nspname,
  'name', i.relname,
  'kind', CASE i.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
    WHEN 'f' THEN 'foreign_table' ELSE 'partitioned_table' END,
  'privileges', coalesce((
    SELECT json_agg(json_build_object(
      'grantor', gr.rolname,
      'grantee', CASE WHEN p.grantee = 0 THEN 'PUBLIC' ELSE ge.rolname END,
      'privilege_type', p.privilege_type,
      'is_grantable', p.is_grantable
    ))
    FROM aclexplode(coalesce(i.relacl, acldefault('r', i.relowner))) AS p
    LEFT JOIN pg_roles gr ON gr.oid = p.grantor
    LEFT JOIN pg_roles ge ON ge.oid = p.grantee
  ), '[]'::json)
)::text
FROM items i
ORDER BY i.nspname, i.relname
