-- The columns of the relations in the CTE "rels" (oid, nspname, relname, relkind, relowner),
-- one JSON object each in postgres-meta's column shape (adapted from
-- information_schema.columns), plus Go Forward's column kinds.
col_uniques AS (
  SELECT DISTINCT conrelid, conkey[1] AS attnum
  FROM pg_constraint
  WHERE contype = 'u' AND cardinality(conkey) = 1 AND conrelid IN (SELECT oid FROM rels)
),
-- Only the first single-column CHECK of a column is reported, without its "CHECK (" and ")".
col_checks AS (
  SELECT DISTINCT ON (conrelid, conkey[1])
    conrelid, conkey[1] AS attnum,
    substring(pg_get_constraintdef(oid, true) FROM 8 FOR length(pg_get_constraintdef(oid, true)) - 8) AS definition
  FROM pg_constraint
  WHERE contype = 'c' AND cardinality(conkey) = 1 AND conrelid IN (SELECT oid FROM rels)
  ORDER BY conrelid, conkey[1], oid
),
cols AS (
  SELECT
    r.oid AS table_id, r.nspname, r.relname, a.attnum,
    json_build_object(
      'table_id', r.oid::int8,
      'schema', r.nspname,
      'table', r.relname,
      'id', r.oid::int8 || '.' || a.attnum,
      'ordinal_position', a.attnum,
      'name', a.attname,
      'default_value', CASE WHEN a.atthasdef THEN pg_get_expr(ad.adbin, ad.adrelid) END,
      'data_type', CASE
        WHEN t.typtype = 'd' THEN CASE
          WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN 'ARRAY'
          WHEN nbt.nspname = 'pg_catalog' THEN format_type(t.typbasetype, NULL)
          ELSE 'USER-DEFINED'
        END
        ELSE CASE
          WHEN t.typelem <> 0 AND t.typlen = -1 THEN 'ARRAY'
          WHEN nt.nspname = 'pg_catalog' THEN format_type(a.atttypid, NULL)
          ELSE 'USER-DEFINED'
        END
      END,
      'format', coalesce(bt.typname, t.typname),
      'is_identity', a.attidentity IN ('a', 'd'),
      'identity_generation', CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END,
      'is_generated', a.attgenerated = 's',
      'is_nullable', NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)),
      'is_updatable', r.relkind IN ('r', 'p') OR (r.relkind IN ('v', 'f') AND pg_column_is_updatable(r.oid, a.attnum, false)),
      'is_unique', u.conrelid IS NOT NULL,
      'enums', coalesce((
        SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)
        FROM pg_enum e
        WHERE e.enumtypid IN (coalesce(bt.oid, t.oid), coalesce(bt.typelem, t.typelem))
      ), '[]'::json),
      'check', ck.definition,
      'comment', d.description,
      'is_rich_text', t.typtype = 'd' AND nt.nspname = 'goforward' AND t.typname = 'rich_text',
      'is_file_reference', t.typtype = 'd' AND nt.nspname = 'goforward' AND t.typname = 'file_reference',
      'is_json', coalesce(bt.typname, t.typname) IN ('json', 'jsonb'),
      'is_array', coalesce(bt.typelem, t.typelem) <> 0 AND coalesce(bt.typlen, t.typlen) = -1,
      'array_element_type', CASE
        WHEN coalesce(bt.typelem, t.typelem) <> 0 AND coalesce(bt.typlen, t.typlen) = -1
        THEN format_type(coalesce(bt.typelem, t.typelem), NULL)
      END
    ) AS obj
  FROM rels r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_namespace nt ON nt.oid = t.typnamespace
  LEFT JOIN (pg_type bt JOIN pg_namespace nbt ON nbt.oid = bt.typnamespace)
    ON t.typtype = 'd' AND bt.oid = t.typbasetype
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN col_uniques u ON u.conrelid = r.oid AND u.attnum = a.attnum
  LEFT JOIN col_checks ck ON ck.conrelid = r.oid AND ck.attnum = a.attnum
  LEFT JOIN pg_description d
    ON d.objoid = r.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
  WHERE pg_has_role(r.relowner, 'USAGE')
    OR has_column_privilege(r.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES')
),
rel_cols AS (
  SELECT table_id, json_agg(obj ORDER BY attnum) AS columns FROM cols GROUP BY table_id
),
