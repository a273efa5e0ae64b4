-- The security monitor (internal/alerts): an alert is one finding of a rule about one subject
-- (an account, an address, an admin, a session). Hits while it is not resolved update its
-- count and last_seen instead of adding rows, so a flood of failures is one alert to read.
-- The columns of 0009 stay: kind becomes rule, created_at first_seen.
ALTER TABLE goforward.security_alerts RENAME COLUMN kind TO rule;
ALTER TABLE goforward.security_alerts RENAME COLUMN created_at TO first_seen;
ALTER TABLE goforward.security_alerts
  ADD COLUMN subject text NOT NULL DEFAULT '',
  ADD COLUMN last_seen timestamptz,
  ADD COLUMN count bigint NOT NULL DEFAULT 1,
  ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  -- Who acknowledged or resolved it when no user did (the service role, emergency access, the CLI).
  ADD COLUMN acknowledged_via text,
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolved_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  ADD COLUMN resolved_via text,
  -- What the alert did: none, lock_account or block_ip, until when.
  ADD COLUMN action text NOT NULL DEFAULT 'none',
  ADD COLUMN action_until timestamptz;
UPDATE goforward.security_alerts SET last_seen = first_seen, subject = coalesce(details ->> 'session_id', ''),
  status = CASE WHEN acknowledged_at IS NULL THEN 'open' ELSE 'acknowledged' END,
  acknowledged_via = CASE WHEN acknowledged_at IS NULL THEN NULL ELSE 'admin' END;
ALTER TABLE goforward.security_alerts ALTER COLUMN last_seen SET NOT NULL,
  ALTER COLUMN first_seen SET DEFAULT now(), ALTER COLUMN last_seen SET DEFAULT now();
DROP INDEX goforward.security_alerts_open_idx;
-- Older emergency-access alerts have no subject; they are acknowledged or resolved by id.
UPDATE goforward.security_alerts SET subject = 'alert-' || id WHERE subject = '';
CREATE UNIQUE INDEX security_alerts_active_idx ON goforward.security_alerts (rule, subject) WHERE status <> 'resolved';
CREATE INDEX security_alerts_status_idx ON goforward.security_alerts (status, id);

-- Where the monitor is in the audit log: the last entry id it has evaluated. One row.
CREATE TABLE goforward.security_monitor (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_entry_id bigint NOT NULL,
  last_verified_at timestamptz,
  updated_at timestamptz NOT NULL
);
REVOKE ALL ON goforward.security_monitor FROM PUBLIC, anon, authenticated, service_role;

-- The admin_new_ip rule asks, per admin sign-in, whether that admin signed in from the address
-- before: successful admin sign-ins by actor.
CREATE INDEX audit_log_admin_sign_in_idx ON goforward.audit_log (actor_id, ip) WHERE action = 'admin.sign_in';
