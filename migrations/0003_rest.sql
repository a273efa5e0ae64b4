-- Schema cache reloads for the REST service (and anything else reading internal/meta).
--
-- Any DDL ends with NOTIFY pgrst, 'reload schema', the channel and payload PostgREST listens
-- for, so a table created by a migration, the SQL editor or psql shows up in /rest/v1 at once.
-- `NOTIFY pgrst, 'reload schema'` by hand does the same. Event triggers need a superuser: on a
-- server where the migrating role is not one, they are left out and a reload is a manual NOTIFY.

CREATE OR REPLACE FUNCTION goforward.notify_schema_reload() RETURNS event_trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NOTIFY pgrst, 'reload schema';
END
$$;

DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'goforward_ddl_watch') THEN
      CREATE EVENT TRIGGER goforward_ddl_watch ON ddl_command_end
        EXECUTE FUNCTION goforward.notify_schema_reload();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'goforward_drop_watch') THEN
      CREATE EVENT TRIGGER goforward_drop_watch ON sql_drop
        EXECUTE FUNCTION goforward.notify_schema_reload();
    END IF;
  END IF;
END
$$;
