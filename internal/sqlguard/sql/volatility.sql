-- The most volatile of the functions called $2 in schema $1, or on the search path when $1 is
-- empty: 'i' < 's' < 'v', so max() is the most volatile; '' when there is none.
select coalesce(max(p.provolatile::text), '')
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.proname = $2
  and case when $1 = '' then n.nspname = any (pg_catalog.current_schemas(true))
           else n.nspname = $1 end
