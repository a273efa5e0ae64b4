-- GET /pg/relationships, tables' part: one entry per foreign key of a table of the chosen
-- schemas (partitions' copies of their parent's keys left out). A key is one-to-one when its
-- columns are exactly those of a primary key or unique constraint of the referencing table.
WITH fks AS (
  SELECT con.conname, con.conrelid, con.confrelid, con.conkey, con.confkey,
    n.nspname, c.relname, rn.nspname AS ref_schema, rc.relname AS ref_name
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class rc ON rc.oid = con.confrelid
  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
  WHERE con.contype = 'f' AND con.conparentid = 0
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
)
SELECT json_build_object(
  'foreign_key_name', f.conname,
  'schema', f.nspname,
  'relation', f.relname,
  'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
    FROM unnest(f.conkey) WITH ORDINALITY AS k(att, ord)
    JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.att),
  'is_one_to_one', EXISTS (SELECT FROM pg_constraint u
    WHERE u.conrelid = f.conrelid AND u.contype IN ('p', 'u') AND u.conkey @> f.conkey AND u.conkey <@ f.conkey),
  'referenced_schema', f.ref_schema,
  'referenced_relation', f.ref_name,
  'referenced_columns', (SELECT json_agg(a.attname ORDER BY k.ord)
    FROM unnest(f.confkey) WITH ORDINALITY AS k(att, ord)
    JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.att)
)::text
FROM fks f
ORDER BY f.nspname, f.relname, f.conname
