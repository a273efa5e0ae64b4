-- The query rules of the views and materialized views of the exposed schemas, and of every
-- view they are built on, wherever it lives (a view in api over a view in private over a
-- table): the rules' dependencies in pg_depend lead from each view to the relations its
-- query reads. UNION keeps each view once, which also ends a cycle.
WITH RECURSIVE wanted(oid) AS (
  SELECT c.oid
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1::text[])
  UNION
  SELECT d.refobjid
  FROM wanted w
  JOIN pg_rewrite r ON r.ev_class = w.oid
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
  JOIN pg_class dc ON dc.oid = d.refobjid AND dc.relkind IN ('v', 'm')
)
SELECT w.oid::int8 AS oid, r.ev_action::text AS definition
FROM wanted w
JOIN pg_rewrite r ON r.ev_class = w.oid AND r.rulename = '_RETURN'
ORDER BY w.oid
