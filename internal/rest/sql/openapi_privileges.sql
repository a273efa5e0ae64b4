-- What the caller's role may reach in schema $1, for the OpenAPI description (PostgREST's
-- openapi-mode = follow-privileges). Run as the caller's role: the has_*_privilege functions
-- answer for current_user. A relation is listed when the role owns it or holds any privilege
-- on it or on one of its columns, as PostgREST decides; its columns are those the role holds
-- a privilege on; functions are those it may execute.
SELECT has_schema_privilege($1::text, 'USAGE') AS schema_usage,
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', c.relname,
                  'select', has_table_privilege(c.oid, 'SELECT') OR has_any_column_privilege(c.oid, 'SELECT'),
                  'insert', has_table_privilege(c.oid, 'INSERT') OR has_any_column_privilege(c.oid, 'INSERT'),
                  'update', has_table_privilege(c.oid, 'UPDATE') OR has_any_column_privilege(c.oid, 'UPDATE'),
                  'delete', has_table_privilege(c.oid, 'DELETE'),
                  'columns', ARRAY(
                    SELECT a.attname::text
                    FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                      AND has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES')
                    ORDER BY a.attnum)))
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1::text
           AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
           AND (pg_has_role(c.relowner, 'USAGE')
                OR has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                OR has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
       ), '[]') AS relations,
       coalesce((
         SELECT json_agg(p.oid::int8)
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1::text AND p.prokind = 'f' AND has_function_privilege(p.oid, 'EXECUTE')
       ), '[]') AS functions
