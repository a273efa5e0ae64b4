-- Installed extensions with their schemas; plpgsql is in every database.
SELECT quote_ident(x.extname), quote_ident(n.nspname)
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
