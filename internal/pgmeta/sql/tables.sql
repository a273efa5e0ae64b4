-- GET /pg/tables: ordinary and partitioned tables with their primary keys, the foreign keys
-- from and to them, and (include_columns) their columns.
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relowner,
    c.relrowsecurity, c.relforcerowsecurity, c.relreplident
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND NOT pg_is_other_temp_schema(n.oid)
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR c.oid::int8 = ANY(@ids::int8[]))
    AND (pg_has_role(c.relowner, 'USAGE')
      OR has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
      OR has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
  ORDER BY n.nspname, c.relname
  LIMIT @limit OFFSET @offset
),
{{COLUMNS_CTE}}
-- Comments by hash join: obj_description is an SQL function, run once per table otherwise.
rel_comments AS MATERIALIZED (
  SELECT objoid, description
  FROM pg_description
  WHERE classoid = 'pg_class'::regclass AND objsubid = 0 AND objoid IN (SELECT oid FROM rels)
),
pks AS (
  SELECT r.oid,
    json_agg(json_build_object(
      'schema', r.nspname, 'table_name', r.relname, 'name', a.attname, 'table_id', r.oid::int8
    ) ORDER BY array_position(i.indkey::int2[], a.attnum)) AS primary_keys
  FROM rels r
  JOIN pg_index i ON i.indrelid = r.oid AND i.indisprimary
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = ANY(i.indkey)
  GROUP BY r.oid
),
-- One entry per column pair of each foreign key from or to the table.
fk_pairs AS (
  SELECT con.oid, con.conname, con.conrelid, con.confrelid, k.col, k.ref, k.ord
  FROM pg_constraint con,
    unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, ref, ord)
  WHERE con.contype = 'f'
    AND (con.conrelid IN (SELECT oid FROM rels) OR con.confrelid IN (SELECT oid FROM rels))
),
fk_objs AS (
  SELECT f.oid, f.ord, f.conrelid, f.confrelid,
    json_build_object(
      'id', f.oid::int8,
      'constraint_name', f.conname,
      'source_schema', sn.nspname,
      'source_table_name', sc.relname,
      'source_column_name', sa.attname,
      'target_table_schema', tn.nspname,
      'target_table_name', tc.relname,
      'target_column_name', ta.attname
    ) AS obj
  FROM fk_pairs f
  JOIN pg_class sc ON sc.oid = f.conrelid
  JOIN pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_attribute sa ON sa.attrelid = f.conrelid AND sa.attnum = f.col
  JOIN pg_class tc ON tc.oid = f.confrelid
  JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_attribute ta ON ta.attrelid = f.confrelid AND ta.attnum = f.ref
),
-- A key from the table, or to it from another table (a key of a table to itself counts once).
fks AS (
  SELECT oid, json_agg(obj ORDER BY con, ord) AS relationships
  FROM (
    SELECT fo.conrelid AS oid, fo.oid AS con, fo.ord, fo.obj FROM fk_objs fo
    UNION ALL
    SELECT fo.confrelid, fo.oid, fo.ord, fo.obj FROM fk_objs fo WHERE fo.confrelid <> fo.conrelid
  ) AS both_ends
  WHERE oid IN (SELECT oid FROM rels)
  GROUP BY oid
)
SELECT to_json(t)::text
FROM (
  SELECT
    r.oid::int8 AS id,
    r.nspname AS schema,
    r.relname AS name,
    r.relrowsecurity AS rls_enabled,
    r.relforcerowsecurity AS rls_forced,
    CASE r.relreplident WHEN 'd' THEN 'DEFAULT' WHEN 'i' THEN 'INDEX' WHEN 'f' THEN 'FULL' ELSE 'NOTHING' END AS replica_identity,
    sz.bytes,
    pg_size_pretty(sz.bytes) AS size,
    pg_stat_get_live_tuples(r.oid) AS live_rows_estimate,
    pg_stat_get_dead_tuples(r.oid) AS dead_rows_estimate,
    rc_.description AS comment
    {{COLUMNS_FIELD}},
    coalesce(pk.primary_keys, '[]'::json) AS primary_keys,
    coalesce(fk.relationships, '[]'::json) AS relationships
  FROM rels r
  CROSS JOIN LATERAL (SELECT pg_total_relation_size(r.oid) AS bytes) AS sz
  LEFT JOIN pks pk ON pk.oid = r.oid
  LEFT JOIN fks fk ON fk.oid = r.oid
  LEFT JOIN rel_comments rc_ ON rc_.objoid = r.oid
  {{COLUMNS_JOIN}}
) AS t
ORDER BY t.schema, t.name
