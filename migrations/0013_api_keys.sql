-- API keys beside the two static JWT keys, like Supabase's publishable and secret keys: a
-- publishable key (gf_pub_…) acts as anon, a secret key (gf_sec_…) as service_role limited to
-- its scopes. Only the SHA-256 of a key is stored; the key is shown once when it is created.
-- Nothing here is reachable by an API role: internal/apikeys reads it on the owner's
-- connection and keeps every live key in memory, so checking a key costs no query.
CREATE TABLE goforward.api_keys (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  kind text NOT NULL CHECK (kind IN ('publishable', 'secret')),
  -- The first characters of the key (gf_sec_ and 6 more), for telling keys apart in lists.
  prefix text NOT NULL,
  key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  -- {"services": [...], "tables": ["schema.table", "schema.*"]}; a missing list means no limit.
  scopes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  -- Who created it, as the audit log names actors.
  created_by jsonb NOT NULL DEFAULT '{}',
  expires_at timestamptz,
  -- Written at most once a minute per key, in batches (internal/apikeys).
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by jsonb
);
-- A name names one live key, so that the CLI can revoke by name.
CREATE UNIQUE INDEX api_keys_live_name_idx ON goforward.api_keys (name) WHERE revoked_at IS NULL;

-- Every node keeps the live keys in memory and reloads them when this channel rings (with
-- the key's id), so a revocation or a new key reaches every node at once. Last-used
-- bookkeeping does not ring: it changes nothing a node decides with.
CREATE FUNCTION goforward.api_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_used_at') = (to_jsonb(NEW) - 'last_used_at') THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('goforward_api_keys', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE ON goforward.api_keys
  FOR EACH ROW EXECUTE FUNCTION goforward.api_keys_notify();
