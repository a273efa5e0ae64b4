-- GET /pg/functions: functions (not procedures, aggregates or window functions), with every
-- argument including OUT and TABLE ones.
WITH fns AS (
  SELECT p.oid, n.nspname, p.proname, p.prolang, p.prosrc, p.proargtypes, p.proallargtypes,
    p.proargmodes, p.proargnames, p.pronargs, p.pronargdefaults, p.prorettype, p.proretset,
    p.prorows, p.provolatile, p.prosecdef, p.proconfig
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prokind = 'f'
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR p.oid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, p.proname, p.oid
  LIMIT @limit OFFSET @offset
),
-- proargmodes and proargnames are NULL when every argument is IN or unnamed; proallargtypes
-- is NULL when every argument is IN. An input argument has a default when it is among the
-- last pronargdefaults inputs.
arg_rows AS (
  SELECT f.oid, t.ord, t.type_id,
    coalesce(f.proargmodes[t.ord], 'i') AS mode,
    coalesce(f.proargnames[t.ord], '') AS name,
    f.pronargs, f.pronargdefaults
  FROM fns f,
    unnest(coalesce(f.proallargtypes, f.proargtypes::oid[])) WITH ORDINALITY AS t(type_id, ord)
),
arg_ranked AS (
  SELECT *, count(*) FILTER (WHERE mode IN ('i', 'b', 'v')) OVER (PARTITION BY oid ORDER BY ord) AS input_no
  FROM arg_rows
),
args AS (
  SELECT oid, json_agg(json_build_object(
    'mode', CASE mode WHEN 'i' THEN 'in' WHEN 'o' THEN 'out' WHEN 'b' THEN 'inout' WHEN 'v' THEN 'variadic' ELSE 'table' END,
    'name', name,
    'type_id', type_id::int8,
    'has_default', mode IN ('i', 'b', 'v') AND input_no > pronargs - pronargdefaults
  ) ORDER BY ord) AS args
  FROM arg_ranked
  GROUP BY oid
)
SELECT json_build_object(
  'id', f.oid::int8,
  'schema', f.nspname,
  'name', f.proname,
  'language', l.lanname,
  'definition', CASE WHEN l.lanname = 'internal' THEN '' ELSE f.prosrc END,
  'complete_statement', CASE WHEN l.lanname = 'internal' THEN f.prosrc ELSE pg_get_functiondef(f.oid) END,
  'args', coalesce(a.args, '[]'::json),
  'argument_types', pg_get_function_arguments(f.oid),
  'identity_argument_types', pg_get_function_identity_arguments(f.oid),
  'return_type_id', f.prorettype::int8,
  'return_type', pg_get_function_result(f.oid),
  'return_type_relation_id', nullif(rt.typrelid::int8, 0),
  'is_set_returning_function', f.proretset,
  'prorows', CASE WHEN f.proretset THEN nullif(f.prorows, 0) END,
  'behavior', CASE f.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
  'security_definer', f.prosecdef,
  'config_params', (
    SELECT json_object_agg(split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
    FROM unnest(f.proconfig) AS c
  )
)::text
FROM fns f
LEFT JOIN pg_language l ON l.oid = f.prolang
LEFT JOIN pg_type rt ON rt.oid = f.prorettype
LEFT JOIN args a ON a.oid = f.oid
ORDER BY f.nspname, f.proname, f.oid
