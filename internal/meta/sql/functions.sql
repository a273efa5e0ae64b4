-- Functions (not procedures or aggregates) of the exposed schemas. Arguments come as parallel
-- arrays over proallargtypes (every argument, OUT ones included) when it is set, else over
-- proargtypes; a NULL mode array means every argument is IN.
SELECT p.oid::int8 AS oid,
       n.nspname AS schema,
       p.proname AS name,
       coalesce(obj_description(p.oid, 'pg_proc'), '') AS description,
       p.provolatile::text AS volatility,
       p.proretset AS returns_set,
       format_type(p.prorettype, NULL) AS return_type,
       rt.typtype::text AS return_kind,
       coalesce(rn.nspname, '') AS return_rel_schema,
       coalesce(rc.relname, '') AS return_rel_name,
       p.pronargdefaults::int AS defaults,
       ARRAY(
         SELECT format_type(u.t, NULL)
         FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(t, o)
         ORDER BY u.o
       ) AS arg_types,
       ARRAY(
         SELECT bt.typname::text
         FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(t, o)
         JOIN pg_type at ON at.oid = u.t
         JOIN pg_type bt ON bt.oid = CASE WHEN at.typtype = 'd' THEN at.typbasetype ELSE at.oid END
         ORDER BY u.o
       ) AS arg_base_types,
       coalesce(p.proargnames, '{}'::text[]) AS arg_names,
       coalesce(p.proargmodes::text[], '{}'::text[]) AS arg_modes
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type rt ON rt.oid = p.prorettype
LEFT JOIN pg_class rc ON rc.oid = rt.typrelid AND rc.relkind IN ('r', 'v', 'm', 'f', 'p')
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND p.prokind = 'f'
ORDER BY n.nspname, p.proname, p.oid
