-- Installed extensions with their schemas; plpgsql is in every database. $1: when not NULL,
-- only the extensions installed in these schemas (Diff's --schema).
SELECT quote_ident(x.extname), quote_ident(n.nspname)
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql' AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
