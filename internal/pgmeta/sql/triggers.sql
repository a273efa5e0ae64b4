-- GET /pg/triggers: user triggers (not the internal ones behind foreign keys), decoded from
-- pg_trigger.tgtype.
WITH items AS (
  SELECT t.oid, t.tgrelid, t.tgenabled, t.tgname, t.tgtype, t.tgargs, t.tgnargs, t.tgqual,
    c.relname, n.nspname, p.proname, pn.nspname AS fn_schema
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
  WHERE NOT t.tgisinternal
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR t.oid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, c.relname, t.tgname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', oid::int8,
  'table_id', tgrelid::int8,
  'enabled_mode', CASE tgenabled WHEN 'D' THEN 'DISABLED' WHEN 'O' THEN 'ORIGIN' WHEN 'R' THEN 'REPLICA' ELSE 'ALWAYS' END,
  'name', tgname,
  'table', relname,
  'schema', nspname,
  'condition', CASE WHEN tgqual IS NOT NULL
    THEN (regexp_match(pg_get_triggerdef(oid), '.{35,} WHEN \((.+)\) EXECUTE FUNCTION'))[1] END,
  'orientation', CASE WHEN tgtype & 1 = 1 THEN 'ROW' ELSE 'STATEMENT' END,
  'activation', CASE WHEN tgtype & 2 = 2 THEN 'BEFORE' WHEN tgtype & 64 = 64 THEN 'INSTEAD OF' ELSE 'AFTER' END,
  'events', array_to_json(array_remove(ARRAY[
    CASE WHEN tgtype & 4 = 4 THEN 'INSERT' END,
    CASE WHEN tgtype & 16 = 16 THEN 'UPDATE' END,
    CASE WHEN tgtype & 8 = 8 THEN 'DELETE' END,
    CASE WHEN tgtype & 32 = 32 THEN 'TRUNCATE' END
  ], NULL)),
  'function_schema', fn_schema,
  'function_name', proname,
  'function_args', array_to_json(coalesce(
    (string_to_array(encode(tgargs, 'escape'), '\000'))[1:tgnargs], '{}'::text[]))
)::text
FROM items
ORDER BY nspname, relname, tgname
