-- The columns of the relations in the CTE "rels" (oid, nspname, relname, relkind, relowner),
-- one row each whose columns are postgres-meta's column shape (adapted from
-- information_schema.columns) plus Go Forward's column kinds. Rows become JSON objects whole
-- (json_agg of the row), which costs about half of building each with json_build_object.
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
-- Enum labels by type, for a column of an enum type, of a domain over one, or of an array of
-- one.
col_enums AS (
  SELECT enumtypid, json_agg(enumlabel ORDER BY enumsortorder) AS labels FROM pg_enum GROUP BY enumtypid
),
-- Column comments, joined by hash: a per-column lookup of pg_description costs more.
col_comments AS MATERIALIZED (
  SELECT objoid, objsubid, description
  FROM pg_description
  WHERE classoid = 'pg_class'::regclass AND objsubid > 0 AND objoid IN (SELECT oid FROM rels)
),
cols AS (
  SELECT
    r.oid::int8 AS table_id,
    r.nspname AS schema,
    r.relname AS "table",
    r.oid::int8 || '.' || a.attnum AS id,
    a.attnum AS ordinal_position,
    a.attname AS name,
    CASE WHEN a.atthasdef THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_value,
    CASE
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
    END AS data_type,
    coalesce(bt.typname, t.typname) AS format,
    a.attidentity IN ('a', 'd') AS is_identity,
    CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END AS identity_generation,
    a.attgenerated = 's' AS is_generated,
    NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)) AS is_nullable,
    -- pg_column_is_updatable asks a foreign table's wrapper, and fails when the wrapper has no
    -- handler (CREATE FOREIGN DATA WRAPPER without HANDLER): such a table cannot be written.
    CASE
      WHEN r.relkind IN ('r', 'p') THEN true
      WHEN r.relkind = 'v' THEN pg_column_is_updatable(r.oid, a.attnum, false)
      WHEN r.relkind = 'f' AND EXISTS (
        SELECT 1 FROM pg_foreign_table ft
        JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
        JOIN pg_foreign_data_wrapper w ON w.oid = fs.srvfdw
        WHERE ft.ftrelid = r.oid AND w.fdwhandler <> 0
      ) THEN pg_column_is_updatable(r.oid, a.attnum, false)
      ELSE false
    END AS is_updatable,
    u.conrelid IS NOT NULL AS is_unique,
    coalesce(e.labels, ee.labels, '[]'::json) AS enums,
    ck.definition AS "check",
    d.description AS comment,
    t.typtype = 'd' AND nt.nspname = 'goforward' AND t.typname = 'rich_text' AS is_rich_text,
    t.typtype = 'd' AND nt.nspname = 'goforward' AND t.typname = 'file_reference' AS is_file_reference,
    coalesce(bt.typname, t.typname) IN ('json', 'jsonb') AS is_json,
    coalesce(bt.typelem, t.typelem) <> 0 AND coalesce(bt.typlen, t.typlen) = -1 AS is_array,
    CASE
      WHEN coalesce(bt.typelem, t.typelem) <> 0 AND coalesce(bt.typlen, t.typlen) = -1
      THEN format_type(coalesce(bt.typelem, t.typelem), NULL)
    END AS array_element_type
  FROM rels r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_namespace nt ON nt.oid = t.typnamespace
  LEFT JOIN (pg_type bt JOIN pg_namespace nbt ON nbt.oid = bt.typnamespace)
    ON t.typtype = 'd' AND bt.oid = t.typbasetype
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN col_uniques u ON u.conrelid = r.oid AND u.attnum = a.attnum
  LEFT JOIN col_checks ck ON ck.conrelid = r.oid AND ck.attnum = a.attnum
  LEFT JOIN col_enums e ON e.enumtypid = coalesce(bt.oid, t.oid)
  LEFT JOIN col_enums ee ON ee.enumtypid = coalesce(bt.typelem, t.typelem)
  LEFT JOIN col_comments d ON d.objoid = r.oid AND d.objsubid = a.attnum
  WHERE pg_has_role(r.relowner, 'USAGE')
    OR has_column_privilege(r.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES')
),
-- Each relation's columns: every column of cols, in its order, is a field of the JSON.
rel_cols AS (
  SELECT c.table_id, json_agg(c ORDER BY c.ordinal_position) AS columns FROM cols c GROUP BY c.table_id
),
