-- GET /pg/config: the server's settings, by category.
WITH items AS (
  SELECT * FROM pg_settings ORDER BY category, name LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'name', name,
  'setting', setting,
  'category', category,
  'group', trim(split_part(category, '/', 1)),
  'subgroup', trim(split_part(category, '/', 2)),
  'unit', unit,
  'short_desc', short_desc,
  'extra_desc', extra_desc,
  'context', context,
  'vartype', vartype,
  'source', source,
  'min_val', min_val,
  'max_val', max_val,
  'enumvals', enumvals,
  'boot_val', boot_val,
  'reset_val', reset_val,
  'sourcefile', sourcefile,
  'sourceline', sourceline,
  'pending_restart', pending_restart
)::text
FROM items
ORDER BY category, name
