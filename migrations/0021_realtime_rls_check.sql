-- Row-level security checks of postgres_changes, for all of a change's subscribers in one
-- statement. Supabase checks a change once per subscriber (one query each); this function
-- takes the changed rows' keys and the distinct claims of every subscriber of one role, and
-- for each claims sets request.jwt.claims and looks the rows up by key under the table's own
-- policies, so the policies are evaluated exactly as a REST request of that user would
-- evaluate them (auth.uid(), auth.jwt(), (select ...) init plans, helper functions: each
-- claims gets its own execution, nothing is shared between them). The lookup is prepared
-- once per call, so the planning (the expensive part under row-level security) is paid once,
-- not once per subscriber.
--
-- It is called by the server's request login role (authenticator) on its own, outside any
-- request, and switches to the subscribers' role itself; API roles cannot call it, so a REST
-- caller can never evaluate rows under claims other than its own, even if the schema
-- realtime were exposed.
--
-- Arguments: the role (anon, authenticated, service_role), the table, the transaction that
-- wrote the rows (its 32-bit ID as streamed), the key column names, the key values as text
-- (row after row, one value per key column) and the claims. Results:
--   committed: whether the transaction is visible yet (a commit is streamed a moment before
--     other sessions see it); false means nothing else was computed: ask again;
--   rls: whether row-level security applies to the role on the table;
--   columns: the columns the role may select;
--   visible: for each claims c (0-based) and row r (0-based) that the role may see under c,
--     c * rows + r; NULL when no row was checked (no RLS for the role, a key column the role
--     may not select, or no rows).

-- Whether the transaction xid (the 32-bit ID the replication stream carries) is visible in
-- snap. pg_visible_in_snapshot wants the 64-bit ID: its epoch is that of the snapshot's xmax,
-- or the one before when the 32-bit counter wrapped in between, since a committed
-- transaction's ID is always below xmax. It reads no table.
CREATE OR REPLACE FUNCTION realtime.gf_transaction_visible(xid bigint, snap pg_catalog.pg_snapshot)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $fn$
  SELECT pg_catalog.pg_visible_in_snapshot(
      (CASE WHEN e.epoch + xid < x.xmax THEN e.epoch + xid ELSE e.epoch + xid - 4294967296 END)::text::pg_catalog.xid8, snap)
    FROM (SELECT pg_catalog.pg_snapshot_xmax(snap)::text::bigint AS xmax) AS x,
      LATERAL (SELECT (x.xmax >> 32) << 32 AS epoch) AS e
$fn$;

CREATE OR REPLACE FUNCTION realtime.gf_check_rows(
  check_role text, rel oid, xid bigint, key_columns text[], key_values text[], claims text[],
  OUT committed boolean, OUT rls boolean, OUT columns text[], OUT visible integer[])
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
  key_count integer := pg_catalog.cardinality(key_columns);
  row_count integer;
  conditions text[];
  found integer[];
  f integer;
  run text;
  ignored text;
BEGIN
  committed := realtime.gf_transaction_visible(xid, pg_catalog.pg_current_snapshot());
  IF NOT committed THEN
    RETURN;
  END IF;

  PERFORM pg_catalog.set_config('role', check_role, true);
  -- Read as the role: the catalog only, which every role may read.
  SELECT pg_catalog.row_security_active(rel::pg_catalog.regclass),
      coalesce(pg_catalog.array_agg(a.attname::text)
        FILTER (WHERE pg_catalog.has_column_privilege(rel, a.attnum, 'SELECT')), '{}')
    INTO rls, columns
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped;
  row_count := coalesce(pg_catalog.cardinality(key_values), 0) / greatest(key_count, 1);
  IF NOT rls OR key_count = 0 OR row_count = 0 OR NOT key_columns <@ columns
     OR pg_catalog.cardinality(key_values) <> row_count * key_count THEN
    RETURN;
  END IF;

  -- Row k's key column i is key_values[k * key_count + i]. The lateral LIMIT keeps each row's
  -- lookup an index probe by key, never a join over the table. One row, the usual case, needs
  -- no series.
  SELECT pg_catalog.array_agg(pg_catalog.format('t.%I = ($1[%s])::%s',
           a.attname, CASE WHEN row_count = 1 THEN c.i::text ELSE 'k.r * ' || key_count || ' + ' || c.i END,
           a.atttypid::pg_catalog.regtype) ORDER BY c.i)
    INTO conditions
    FROM pg_catalog.unnest(key_columns) WITH ORDINALITY AS c(name, i)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rel AND a.attname = c.name AND a.attnum > 0 AND NOT a.attisdropped;
  IF pg_catalog.cardinality(conditions) IS DISTINCT FROM key_count THEN
    RAISE EXCEPTION 'realtime: key columns % not found in table %', key_columns, rel::pg_catalog.regclass;
  END IF;

  -- A statement left behind by a call that failed half way (prepared statements outlive
  -- transactions).
  IF EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE name = 'gf_realtime_check_rows') THEN
    DEALLOCATE gf_realtime_check_rows;
  END IF;
  -- The plan is made once for every claims: with no parameter values to look at it could not
  -- be better for any of them.
  PERFORM pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true);
  IF row_count = 1 THEN
    EXECUTE pg_catalog.format(
      'PREPARE gf_realtime_check_rows(text[]) AS SELECT ARRAY[0] FROM %s AS t WHERE %s LIMIT 1',
      rel::pg_catalog.regclass, pg_catalog.array_to_string(conditions, ' AND '));
  ELSE
    EXECUTE pg_catalog.format(
      'PREPARE gf_realtime_check_rows(text[]) AS SELECT pg_catalog.array_agg(k.r)'
      ' FROM pg_catalog.generate_series(0, %s) AS k(r),'
      ' LATERAL (SELECT FROM %s AS t WHERE %s LIMIT 1) AS hit',
      row_count - 1, rel::pg_catalog.regclass, pg_catalog.array_to_string(conditions, ' AND '));
  END IF;
  run := pg_catalog.format('EXECUTE gf_realtime_check_rows(%L)', key_values);

  visible := '{}';
  FOR c IN 1..coalesce(pg_catalog.cardinality(claims), 0) LOOP
    -- An assignment, not PERFORM: a plain expression skips the executor.
    ignored := pg_catalog.set_config('request.jwt.claims', claims[c], true);
    found := NULL;
    EXECUTE run INTO found;
    IF found IS NOT NULL THEN
      FOREACH f IN ARRAY found LOOP
        visible := visible || ((c - 1) * row_count + f);
      END LOOP;
    END IF;
  END LOOP;
  DEALLOCATE gf_realtime_check_rows;
END
$fn$;

REVOKE ALL ON FUNCTION realtime.gf_transaction_visible(bigint, pg_catalog.pg_snapshot) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION realtime.gf_transaction_visible(bigint, pg_catalog.pg_snapshot) TO authenticator;
REVOKE ALL ON FUNCTION realtime.gf_check_rows(text, oid, bigint, text[], text[], text[]) FROM PUBLIC;
GRANT USAGE ON SCHEMA realtime TO authenticator;
GRANT EXECUTE ON FUNCTION realtime.gf_check_rows(text, oid, bigint, text[], text[], text[]) TO authenticator;
