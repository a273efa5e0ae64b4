-- The framework's background work (the root package, docs/framework.md).

-- Change hooks (App.OnChange): how far the handlers got in the change feed's replication slot,
-- as the commit position of the transaction and the change's number in it. A reader that
-- takes over resumes after it, so at most the change in flight is handled twice.
CREATE TABLE goforward.change_feed_positions (
  slot text PRIMARY KEY,
  commit_lsn bigint NOT NULL DEFAULT 0,
  seq integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON goforward.change_feed_positions FROM PUBLIC, anon, authenticated, service_role;

-- Scheduled jobs (App.Cron): one row per run. The unique (job, scheduled_at) is the election:
-- every node tries to insert the row of a tick and only the one that did runs it.
CREATE TABLE goforward.cron_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job text NOT NULL,
  schedule text NOT NULL,
  scheduled_at timestamptz NOT NULL,
  node text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  error text,
  UNIQUE (job, scheduled_at)
);
CREATE INDEX cron_runs_recent_idx ON goforward.cron_runs (job, id DESC);
REVOKE ALL ON goforward.cron_runs FROM PUBLIC, anon, authenticated, service_role;

-- Database webhooks configured from the admin API: each change of table whose type is in
-- events is POSTed as JSON to url, signed with HMAC-SHA256 keyed with secret.
CREATE TABLE goforward.webhooks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE,
  table_name text NOT NULL,
  events text[] NOT NULL,
  url text NOT NULL,
  secret text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON goforward.webhooks FROM PUBLIC, anon, authenticated, service_role;

-- The outbox: one row per change and webhook, written by the change feed before the change
-- counts as handled, delivered (and retried) by whichever node polls it first.
CREATE TABLE goforward.webhook_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id uuid NOT NULL REFERENCES goforward.webhooks (id) ON DELETE CASCADE,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON goforward.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
REVOKE ALL ON goforward.webhook_deliveries FROM PUBLIC, anon, authenticated, service_role;
