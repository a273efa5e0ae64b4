-- The columns of the managed tables ($1: schemas), in table order.
WITH tbl AS (
  SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT t.qname, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
  a.attidentity::text, a.attgenerated::text, coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation
    THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) ELSE '' END,
  coalesce(col_description(a.attrelid, a.attnum), '')
FROM tbl t
JOIN pg_attribute a ON a.attrelid = t.oid
JOIN pg_type ty ON ty.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY t.qname, a.attnum
