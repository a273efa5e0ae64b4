-- Table security: a table's TableSecurityConfig and what was compiled from it
-- (internal/tablesecurity, docs/table-security.md), and the helpers the compiled policies,
-- triggers and views call.

-- One row per table with a config. compiled is the inventory of what the last PUT created
-- (policy, trigger, view and column names, the API roles' privileges before the first PUT,
-- whether row level security was on), so that the next PUT and DELETE remove exactly that;
-- statements is the SQL the last PUT ran.
CREATE TABLE goforward.table_security (
  schema_name text NOT NULL,
  table_name  text NOT NULL,
  id          uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  config      jsonb NOT NULL,
  compiled    jsonb NOT NULL,
  statements  text[] NOT NULL,
  created_by  text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schema_name, table_name)
);
REVOKE ALL ON goforward.table_security FROM PUBLIC, anon, authenticated, service_role;

-- Whether the request's caller holds one of roles: its database role (anon, authenticated,
-- service_role) or an application role of its token, app_metadata.role or an element of
-- app_metadata.roles. app_metadata is written only by admins and the service role, so a user
-- cannot give itself a role.
CREATE FUNCTION goforward.gf_has_role(roles text[]) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT current_user::text = ANY (roles)
    OR coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') = ANY (roles)
    OR EXISTS (
      SELECT 1 FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(auth.jwt() -> 'app_metadata' -> 'roles') = 'array'
             THEN auth.jwt() -> 'app_metadata' -> 'roles' ELSE '[]'::jsonb END) AS r(name)
      WHERE r.name = ANY (roles))
$$;

-- Whether the signed-in user's e-mail address is confirmed. The token's claims cannot say so
-- reliably (a token outlives a change of address), so it reads auth.users, which the API
-- roles cannot: hence SECURITY DEFINER, with an empty search path.
CREATE FUNCTION goforward.gf_email_verified() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
  SELECT EXISTS (SELECT 1 FROM auth.users u
                 WHERE u.id = auth.uid() AND u.email_confirmed_at IS NOT NULL)
$$;

-- Whether the request's client address (request.client_ip, published by db.RoleRunner from
-- the address the gateway resolved) lies in one of allowed. A transaction that published no
-- address is not a request Go Forward received over HTTP (realtime's change checks, SQL run by
-- hand as an API role): the allow-list is enforced for those where the address is known
-- (realtime checks it at join and on delivery).
CREATE FUNCTION goforward.gf_client_ip_allowed(allowed cidr[]) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  ip text := nullif(current_setting('request.client_ip', true), '');
BEGIN
  IF ip IS NULL THEN
    RETURN true;
  END IF;
  RETURN ip::inet <<= ANY (allowed);
END
$$;

-- The masked form of a value: kind email keeps the first character of the local part and the
-- domain (j***@example.com), last4 the last four characters (****1234), fixed replaces the
-- value with mask (default ****, also for an empty mask). NULL stays NULL.
CREATE FUNCTION goforward.gf_mask(value text, kind text, mask text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = ''
AS $$
  SELECT CASE
    WHEN value IS NULL THEN NULL
    WHEN kind = 'email' AND position('@' IN value) > 1 THEN
      left(value, 1) || '***' || substr(value, position('@' IN value))
    WHEN kind = 'last4' AND length(value) > 4 THEN repeat('*', 4) || right(value, 4)
    WHEN kind = 'last4' THEN repeat('*', 4)
    ELSE coalesce(nullif(mask, ''), '****')
  END
$$;

-- Keeps the masked copies of a table's masked columns. Arguments come in fours: column,
-- helper column, mask kind, fixed mask. A write through a role's view writes the helper
-- (the view shows it under the column's name), so a helper that changed while its column did
-- not carries the new value: it is moved to the column, and the helper is masked again.
-- SECURITY DEFINER because its body calls goforward.gf_mask, and the API roles that write have
-- no USAGE on schema goforward (a PL/pgSQL body is resolved as the caller at run time); it
-- only reads and rewrites the row being written.
CREATE FUNCTION goforward.gf_mask_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  n jsonb := to_jsonb(NEW);
  o jsonb;
  patch jsonb := '{}';
  i int := 0;
  col text;
  helper text;
  raw text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    o := to_jsonb(OLD);
  END IF;
  WHILE i + 3 < TG_NARGS LOOP
    col := TG_ARGV[i];
    helper := TG_ARGV[i + 1];
    raw := n ->> col;
    IF TG_OP = 'INSERT' THEN
      IF n ->> helper IS NOT NULL
         AND n ->> helper IS DISTINCT FROM goforward.gf_mask(raw, TG_ARGV[i + 2], TG_ARGV[i + 3]) THEN
        patch := patch || jsonb_build_object(col, n -> helper);
        raw := n ->> helper;
      END IF;
    ELSIF (n -> col) IS NOT DISTINCT FROM (o -> col) AND (n -> helper) IS DISTINCT FROM (o -> helper) THEN
      patch := patch || jsonb_build_object(col, n -> helper);
      raw := n ->> helper;
    END IF;
    patch := patch || jsonb_build_object(helper, goforward.gf_mask(raw, TG_ARGV[i + 2], TG_ARGV[i + 3]));
    i := i + 4;
  END LOOP;
  NEW := jsonb_populate_record(NEW, patch);
  RETURN NEW;
END
$$;

-- Writes one audit entry per changed row: who (from the request's claims), what (the
-- primary key, and for an UPDATE the names of the columns that changed; never values), from
-- where (request.client_ip, request.id, the user agent). Arguments: the primary key columns.
-- SECURITY DEFINER because the API roles cannot write the audit log.
CREATE FUNCTION goforward.gf_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  claims jsonb := coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}');
  headers jsonb := coalesce(nullif(current_setting('request.headers', true), '')::jsonb, '{}');
  role text := coalesce(nullif(current_setting('role', true), 'none'), current_user::text);
  actor text;
  row_now jsonb;
  row_before jsonb;
  key jsonb := '{}';
  changed text[];
  i int := 0;
BEGIN
  IF TG_OP <> 'DELETE' THEN
    row_now := to_jsonb(NEW);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    row_before := to_jsonb(OLD);
  END IF;
  WHILE i < TG_NARGS LOOP
    key := key || jsonb_build_object(TG_ARGV[i], coalesce(row_now, row_before) -> TG_ARGV[i]);
    i := i + 1;
  END LOOP;
  IF TG_OP = 'UPDATE' THEN
    SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO changed
    FROM jsonb_object_keys(row_now) AS k
    WHERE (row_now -> k) IS DISTINCT FROM (row_before -> k);
  END IF;
  actor := CASE
    WHEN coalesce(claims ->> 'sub', '') <> '' THEN 'user'
    WHEN role = 'anon' THEN 'anon'
    WHEN role = 'service_role' THEN 'service_role'
    ELSE 'system'
  END;
  INSERT INTO goforward.audit_log (occurred_at, actor_type, actor_id, actor_email, action,
    resource_type, resource_id, outcome, severity, ip, user_agent, request_id, details)
  VALUES (clock_timestamp(), actor, coalesce(claims ->> 'sub', ''), coalesce(claims ->> 'email', ''),
    'table.' || lower(TG_OP), 'table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, 'success', 'info',
    nullif(current_setting('request.client_ip', true), '')::inet,
    left(coalesce(headers ->> 'user-agent', ''), 512),
    coalesce(nullif(current_setting('request.id', true), ''), ''),
    jsonb_strip_nulls(jsonb_build_object('role', role, 'key', key, 'columns', to_jsonb(changed))));
  RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION goforward.gf_has_role(text[]), goforward.gf_email_verified(),
  goforward.gf_client_ip_allowed(cidr[]), goforward.gf_mask(text, text, text),
  goforward.gf_mask_row(), goforward.gf_audit_row() FROM PUBLIC;
-- The policies and views call these as the request's role.
GRANT EXECUTE ON FUNCTION goforward.gf_has_role(text[]), goforward.gf_email_verified(),
  goforward.gf_client_ip_allowed(cidr[]), goforward.gf_mask(text, text, text)
  TO anon, authenticated, service_role;
-- Triggers run their function as the writer, who needs EXECUTE on it.
GRANT EXECUTE ON FUNCTION goforward.gf_mask_row(), goforward.gf_audit_row()
  TO anon, authenticated, service_role;
