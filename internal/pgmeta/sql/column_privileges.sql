-- GET /pg/column-privileges (modified from information_schema.column_privileges, materialized
-- views included): a column's privileges are the table-wide grants of INSERT, SELECT, UPDATE
-- and REFERENCES plus the grants on the column itself. Columns without any are left out.
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relacl, c.relowner
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
),
grants AS (
  SELECT r.oid, r.nspname, r.relname, a.attnum, a.attname, p.grantor, p.grantee, p.privilege_type, p.is_grantable
  FROM rels r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  CROSS JOIN LATERAL aclexplode(coalesce(r.relacl, acldefault('r', r.relowner))) AS p
  WHERE p.privilege_type IN ('INSERT', 'SELECT', 'UPDATE', 'REFERENCES')
  UNION
  SELECT r.oid, r.nspname, r.relname, a.attnum, a.attname, p.grantor, p.grantee, p.privilege_type, p.is_grantable
  FROM rels r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  CROSS JOIN LATERAL aclexplode(coalesce(a.attacl, acldefault('c', r.relowner))) AS p
  WHERE p.privilege_type IN ('INSERT', 'SELECT', 'UPDATE', 'REFERENCES')
),
visible AS (
  SELECT g.*, gr.rolname AS grantor_name, CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE ge.rolname END AS grantee_name
  FROM grants g
  JOIN pg_roles gr ON gr.oid = g.grantor
  LEFT JOIN pg_roles ge ON ge.oid = g.grantee
  WHERE g.grantee = 0 OR ge.oid IS NOT NULL
),
items AS (
  SELECT v.oid, v.attnum, v.nspname, v.relname, v.attname,
    json_agg(json_build_object(
      'grantor', v.grantor_name,
      'grantee', v.grantee_name,
      'privilege_type', v.privilege_type,
      'is_grantable', v.is_grantable
    ) ORDER BY v.grantee_name, v.privilege_type) AS privileges
  FROM visible v
  WHERE pg_has_role(v.grantor, 'USAGE') OR v.grantee = 0 OR pg_has_role(v.grantee, 'USAGE')
  GROUP BY v.oid, v.attnum, v.nspname, v.relname, v.attname
  ORDER BY v.nspname, v.relname, v.attnum
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'column_id', oid::int8 || '.' || attnum,
  'relation_schema', nspname,
  'relation_name', relname,
  'column_name', attname,
  'privileges', privileges
)::text
FROM items
ORDER BY nspname, relname, attnum
