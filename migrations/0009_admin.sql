-- The control plane's base: administrators, their sessions, the audit log and security alerts.
-- Nothing here is reachable by an API role: the admin service and the CLI use the owner's
-- connection, and every check is made in Go from the one capability table in internal/access.

-- An administrator is a user (auth.users: password, MFA and lockout are auth's) with a row
-- here. A revoked admin keeps its row (revoked_at set) so that who granted what stays on
-- record; granting again clears revoked_at.
CREATE TABLE goforward.admins (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  level text NOT NULL CHECK (level IN ('system_admin', 'super_admin', 'regular_admin', 'moderator')),
  -- Tables ("schema.table") and user groups (app_metadata.groups) a regular admin manages.
  assigned_tables text[] NOT NULL DEFAULT '{}',
  assigned_groups text[] NOT NULL DEFAULT '{}',
  -- Who granted the current level: an admin (granted_by), the service role or the CLI.
  granted_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  granted_via text NOT NULL CHECK (granted_via IN ('admin', 'service_role', 'emergency', 'cli')),
  granted_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX admins_level_idx ON goforward.admins (level) WHERE revoked_at IS NULL;

-- The last active system admin is never demoted, revoked or deleted, whatever path the change
-- takes (the admin API and the CLI check first and say so; deleting the user through GoTrue's
-- admin API or SQL cascades here). The advisory lock is the one internal/admin takes before
-- its own check: with it, and a fresh snapshot for the count, two concurrent demotions of the
-- last two system admins cannot both pass.
CREATE FUNCTION goforward.keep_a_system_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.level = 'system_admin' AND OLD.revoked_at IS NULL AND (TG_OP = 'DELETE'
      OR NEW.level <> 'system_admin' OR NEW.revoked_at IS NOT NULL OR NEW.user_id <> OLD.user_id) THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('goforward.admins', 0));
    IF NOT EXISTS (SELECT 1 FROM goforward.admins
        WHERE level = 'system_admin' AND revoked_at IS NULL AND user_id <> OLD.user_id) THEN
      RAISE EXCEPTION 'the last active system admin cannot be demoted, revoked or deleted'
        USING ERRCODE = 'check_violation', HINT = 'create another system admin first: goforward admin create --level system_admin';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER admins_keep_a_system_admin BEFORE UPDATE OR DELETE ON goforward.admins
  FOR EACH ROW EXECUTE FUNCTION goforward.keep_a_system_admin();

-- Admin sessions are opaque and server-side: the token is random and only its SHA-256 is
-- stored (a cookie session's CSRF token is derived from the token one way, see internal/access). Level and capabilities are copied at
-- creation; changing or revoking the admin revokes its sessions. user_id is NULL for
-- emergency access, which the CLI issues with a reason and a short life.
CREATE TABLE goforward.admin_sessions (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('password', 'emergency')),
  level text NOT NULL CHECK (level IN ('system_admin', 'super_admin', 'regular_admin', 'moderator')),
  capabilities jsonb NOT NULL,
  mfa_verified boolean NOT NULL DEFAULT false,
  ip inet,
  user_agent text NOT NULL DEFAULT '',
  reason text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  last_active_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text,
  CHECK ((kind = 'emergency') = (user_id IS NULL))
);
CREATE INDEX admin_sessions_user_id_idx ON goforward.admin_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX admin_sessions_expires_at_idx ON goforward.admin_sessions (expires_at);

-- A password sign-in that still needs its second factor: the challenge token the client
-- presents with the code, stored hashed, short-lived, void after a few wrong codes.
CREATE TABLE goforward.admin_sign_in_challenges (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  failed_attempts int NOT NULL DEFAULT 0,
  ip inet,
  user_agent text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sign_in_challenges_expires_at_idx ON goforward.admin_sign_in_challenges (expires_at);

-- The audit log: one row per administrative or security-relevant event, written in the
-- transaction of the change it records. Columns follow the original design's SecurityEvent.
CREATE TABLE goforward.audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('admin', 'service_role', 'emergency', 'cli', 'user', 'anon', 'system')),
  actor_id text NOT NULL DEFAULT '',
  actor_email text NOT NULL DEFAULT '',
  action text NOT NULL,
  resource_type text NOT NULL DEFAULT '',
  resource_id text NOT NULL DEFAULT '',
  outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  ip inet,
  user_agent text NOT NULL DEFAULT '',
  request_id text NOT NULL DEFAULT '',
  session_id text NOT NULL DEFAULT '',
  details jsonb NOT NULL DEFAULT '{}'
);
-- Every index is paid for by every audited write (auth writes an entry per sign-in), so there
-- are few: time ranges through a BRIN (entries arrive in time order, and it costs an insert
-- next to nothing), what an actor did and what happened to a resource, and the
-- credential-stuffing detector's failed sign-ins per address (partial: only those rows pay).
-- Filters on action, outcome or severity walk the primary key newest first.
CREATE INDEX audit_log_occurred_at_idx ON goforward.audit_log USING brin (occurred_at);
CREATE INDEX audit_log_actor_idx ON goforward.audit_log (actor_id, id);
CREATE INDEX audit_log_resource_idx ON goforward.audit_log (resource_type, resource_id, id);
CREATE INDEX audit_log_sign_in_failed_idx ON goforward.audit_log (ip, occurred_at)
  WHERE action IN ('auth.sign_in_failed', 'auth.suspicious_activity');

-- The hash chain over the log, kept beside it so that the log itself is insert-only. Writers
-- never touch it: one elected sealer appends a link per entry, in id order (seq follows
-- entry_id), shortly after they commit, so sealing never serialises the API's writes.
-- hash = SHA-256(prev_hash || canonical encoding of the entry and seq); see internal/audit.
CREATE TABLE goforward.audit_chain (
  seq bigint PRIMARY KEY,
  entry_id bigint NOT NULL UNIQUE,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  sealed_at timestamptz NOT NULL
);

-- Append-only for everyone, the owner included, except the retention routine, which archives
-- old rows to a file before it removes them and says so with a transaction-local setting.
CREATE FUNCTION goforward.audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('goforward.audit_retention', true) = 'on' THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    ELSIF TG_OP = 'TRUNCATE' THEN
      RETURN NULL;
    END IF;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON goforward.audit_log
  FOR EACH ROW EXECUTE FUNCTION goforward.audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON goforward.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION goforward.audit_append_only();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON goforward.audit_chain
  FOR EACH ROW EXECUTE FUNCTION goforward.audit_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON goforward.audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION goforward.audit_append_only();

-- Security alerts: what needs a person's attention (emergency access, and later the security
-- monitor's findings), each tied to the audit entry that raised it.
CREATE TABLE goforward.security_alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL,
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  kind text NOT NULL,
  message text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  audit_entry_id bigint,
  acknowledged_at timestamptz,
  acknowledged_by uuid REFERENCES auth.users (id) ON DELETE SET NULL
);
CREATE INDEX security_alerts_open_idx ON goforward.security_alerts (created_at) WHERE acknowledged_at IS NULL;

REVOKE ALL ON goforward.admins, goforward.admin_sessions, goforward.admin_sign_in_challenges,
  goforward.audit_log, goforward.audit_chain, goforward.security_alerts
  FROM PUBLIC, anon, authenticated, service_role;

-- auth's security events join the audit log: each becomes the entry "auth.<type>" on the user
-- concerned, as internal/auth writes them from now on (its credential-stuffing detector reads
-- them there), and Go Forward's own table of them goes. GoTrue's auth.audit_log_entries stays.
INSERT INTO goforward.audit_log
  (occurred_at, actor_type, actor_id, action, resource_type, resource_id, outcome, severity, ip, user_agent, details)
SELECT e.created_at,
  CASE
    WHEN e.type IN ('sign_in_failed', 'otp_failed', 'account_locked', 'refresh_token_reused', 'recovery_requested') THEN 'anon'
    WHEN e.type IN ('suspicious_activity', 'unverified_password_removed') THEN 'system'
    WHEN e.type LIKE 'admin\_%' OR e.type = 'user_invited' OR e.details ->> 'by' = 'admin' THEN 'service_role'
    ELSE 'user'
  END,
  CASE
    WHEN e.type IN ('sign_in_failed', 'otp_failed', 'account_locked', 'refresh_token_reused', 'recovery_requested',
      'suspicious_activity', 'unverified_password_removed') OR e.type LIKE 'admin\_%' OR e.type = 'user_invited'
      OR e.details ->> 'by' = 'admin' THEN ''
    ELSE coalesce(e.user_id::text, '')
  END,
  'auth.' || e.type,
  CASE WHEN e.type = 'suspicious_activity' AND e.ip IS NOT NULL THEN 'ip' WHEN e.user_id IS NOT NULL THEN 'user' ELSE '' END,
  CASE WHEN e.type = 'suspicious_activity' AND e.ip IS NOT NULL THEN host(e.ip) ELSE coalesce(e.user_id::text, '') END,
  CASE WHEN e.type IN ('sign_in_failed', 'otp_failed', 'account_locked', 'refresh_token_reused', 'mfa_verification_failed')
    THEN 'denied' ELSE 'success' END,
  e.severity, e.ip, coalesce(e.user_agent, ''), e.details
FROM auth.security_events e
ORDER BY e.id;

DROP TABLE auth.security_events;
