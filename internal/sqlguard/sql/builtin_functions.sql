-- The names of PostgreSQL's built-in functions, for Format (builtin_functions.txt): every
-- function of pg_catalog a user can call, i.e. not returning or taking internal/cstring and
-- not a type's or an aggregate's support function. builtin_functions.txt is this query's output
-- on PostgreSQL 15, plus the functions the grammar spells as keywords (coalesce, cast, ...),
-- minus gen_random_uuid (see format.go):
--   psql -At -f internal/sqlguard/sql/builtin_functions.sql
select distinct p.proname
from pg_catalog.pg_proc p
where p.pronamespace = 'pg_catalog'::regnamespace
  and p.prokind in ('f', 'a', 'w')
  and p.prorettype not in ('internal'::regtype, 'language_handler'::regtype, 'fdw_handler'::regtype,
                           'index_am_handler'::regtype, 'tsm_handler'::regtype, 'table_am_handler'::regtype,
                           'trigger'::regtype, 'event_trigger'::regtype, 'cstring'::regtype)
  and not ('internal'::regtype = any (p.proargtypes) or 'cstring'::regtype = any (p.proargtypes))
  and not exists (select 1 from pg_catalog.pg_aggregate a where p.oid in (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn))
  and not exists (select 1 from pg_catalog.pg_type t where p.oid in (t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typanalyze, t.typsubscript))
  and p.proname !~ '^(_|binary_upgrade_)'
order by 1
