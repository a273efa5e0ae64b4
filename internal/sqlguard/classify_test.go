package sqlguard_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/sqlguard"
)

// st is the expected classification of one statement: its kind, then its classes separated
// by commas ("" for none).
type st struct {
	kind    sqlguard.Kind
	classes string
}

var (
	read        = sqlguard.KindRead
	write       = sqlguard.KindWrite
	ddl         = sqlguard.KindDDL
	privilege   = sqlguard.KindPrivilege
	transaction = sqlguard.KindTransaction
	session     = sqlguard.KindSession
	maintenance = sqlguard.KindMaintenance
)

// classificationTable is the contract of Analyze (without a catalog): every request with the
// kind and dangerous classes of each of its statements.
var classificationTable = []struct {
	sql  string
	want []st
}{
	// Reads.
	{"SELECT 1", []st{{read, ""}}},
	{"select id, name from users where user_id = 1234", []st{{read, ""}}},
	{"SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 5", []st{{read, ""}}},
	{"VALUES (1, 'a'), (2, 'b')", []st{{read, ""}}},
	{"TABLE public.posts", []st{{read, ""}}},
	{"SHOW search_path", []st{{read, ""}}},
	{"SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1", []st{{read, ""}}},
	{"WITH x AS (SELECT 1 AS a) SELECT a FROM x", []st{{read, ""}}},
	{"SELECT * FROM a JOIN b ON a.id = b.a_id UNION SELECT * FROM c", []st{{read, ""}}},
	{"SELECT now(), current_user, coalesce(a, b), random() FROM t", []st{{read, ""}}},
	{"FETCH 10 FROM c", []st{{read, ""}}},
	{"DECLARE c CURSOR FOR SELECT * FROM t", []st{{read, ""}}},
	{"COPY t TO STDOUT", []st{{read, ""}}},
	{"COPY (SELECT * FROM t) TO STDOUT WITH (FORMAT csv)", []st{{read, ""}}},
	{"EXPLAIN SELECT * FROM t", []st{{read, ""}}},
	{"EXPLAIN (FORMAT JSON) SELECT 1", []st{{read, ""}}},
	{"EXPLAIN ANALYZE SELECT * FROM t", []st{{read, ""}}},

	// Keywords hidden in literals, dollar quotes, comments and names.
	{"SELECT 'DROP TABLE users; DELETE FROM t' AS s", []st{{read, ""}}},
	{"SELECT $$DROP TABLE users$$", []st{{read, ""}}},
	{"SELECT $tag$ TRUNCATE t; DELETE FROM t $tag$ AS x", []st{{read, ""}}},
	{"/* DROP TABLE t; */ SELECT 1", []st{{read, ""}}},
	{"SELECT 1 -- ; DELETE FROM t", []st{{read, ""}}},
	{"SELECT 1 /* nested /* DROP TABLE t; */ still a comment; */", []st{{read, ""}}},
	{`SELECT "delete", "drop" FROM "update"`, []st{{read, ""}}},
	{"select drop from delete", []st{{read, ""}}},
	{"SELECT 1 AS grant, x.alter FROM t x", []st{{read, ""}}},
	{`SELECT E'it\'s; DROP TABLE t'`, []st{{read, ""}}},
	{"SELECT U&'\\0044ROP TABLE t'", []st{{read, ""}}},
	{"SELECT pg_catalog.lower('DELETE FROM t')", []st{{read, ""}}},

	// Writes.
	{"INSERT INTO t (a) VALUES (1)", []st{{write, ""}}},
	{"INSERT INTO t SELECT * FROM u ON CONFLICT (id) DO UPDATE SET a = excluded.a", []st{{write, ""}}},
	{"UPDATE t SET a = 1 WHERE id = 2", []st{{write, ""}}},
	{"UPDATE t SET a = 1", []st{{write, "update_without_where"}}},
	{"UPDATE t SET a = 1 WHERE true", []st{{write, "update_without_where"}}},
	{"DELETE FROM t WHERE id = 1", []st{{write, ""}}},
	{"DELETE FROM t", []st{{write, "delete_without_where"}}},
	{"DELETE FROM public.t WHERE 1 = 1", []st{{write, "delete_without_where"}}},
	{"DELETE FROM t WHERE id = 1 OR 'a' = 'a'", []st{{write, "delete_without_where"}}},
	{"DELETE FROM t WHERE CURRENT OF c", []st{{write, ""}}},
	{"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)", []st{{write, ""}}},
	{"COPY t FROM STDIN", []st{{write, ""}}},
	{"CALL do_things(1)", []st{{write, ""}}},
	{"NOTIFY ch, 'x'", []st{{write, ""}}},
	{"LOCK TABLE t IN ACCESS EXCLUSIVE MODE", []st{{write, ""}}},
	{"REFRESH MATERIALIZED VIEW mv", []st{{write, ""}}},
	{"EXECUTE p(1)", []st{{write, ""}}},
	{"TRUNCATE t, u", []st{{write, "truncate"}}},
	{"TRUNCATE TABLE t RESTART IDENTITY CASCADE", []st{{write, "truncate"}}},

	// Writes hiding in reads.
	{"WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d", []st{{write, ""}}},
	{"WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d", []st{{write, "delete_without_where"}}},
	{"WITH u AS (UPDATE t SET a = 1 RETURNING id) INSERT INTO log SELECT id FROM u", []st{{write, "update_without_where"}}},
	{"SELECT * FROM t WHERE id = 1 FOR UPDATE", []st{{write, ""}}},
	{"SELECT * FROM (SELECT * FROM t FOR SHARE) s", []st{{write, ""}}},
	{"SELECT nextval('s')", []st{{write, ""}}},
	{"SELECT set_config('app.x', '1', true)", []st{{write, ""}}},
	{"SELECT pg_advisory_lock(1)", []st{{write, ""}}},
	{"COPY (DELETE FROM t RETURNING *) TO STDOUT", []st{{write, "delete_without_where"}}},
	{"PREPARE p AS DELETE FROM t", []st{{write, "delete_without_where"}}},
	{"PREPARE q(int) AS SELECT * FROM t WHERE id = $1", []st{{read, ""}}},

	// EXPLAIN runs the statement only with ANALYZE.
	{"EXPLAIN ANALYZE DELETE FROM t", []st{{write, "delete_without_where"}}},
	{"EXPLAIN ANALYZE DELETE FROM t WHERE id = 1", []st{{write, ""}}},
	{"EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", []st{{write, "update_without_where"}}},
	{"EXPLAIN DELETE FROM t", []st{{write, ""}}},
	{"EXPLAIN (ANALYZE false) DELETE FROM t", []st{{write, ""}}},
	{"EXPLAIN ANALYZE SELECT pg_read_file('/etc/passwd')", []st{{write, "file_access"}}},

	// DDL.
	{"CREATE TABLE t (id bigint PRIMARY KEY, body text)", []st{{ddl, ""}}},
	{"CREATE TABLE t (id int, data text DEFAULT pg_read_file('/etc/passwd'))", []st{{ddl, "file_access"}}},
	{"SELECT * INTO new_t FROM t", []st{{ddl, ""}}},
	{"CREATE TABLE t2 AS SELECT * FROM t", []st{{ddl, ""}}},
	{"ALTER TABLE t ADD COLUMN c text", []st{{ddl, ""}}},
	{"ALTER TABLE t DROP COLUMN c", []st{{ddl, "drop"}}},
	{"ALTER TABLE t ENABLE ROW LEVEL SECURITY", []st{{ddl, ""}}},
	{"ALTER TABLE t DISABLE ROW LEVEL SECURITY", []st{{ddl, "disable_rls"}}},
	{"ALTER TABLE t NO FORCE ROW LEVEL SECURITY", []st{{ddl, "disable_rls"}}},
	{"DROP TABLE t", []st{{ddl, "drop"}}},
	{"DROP TABLE IF EXISTS a, b CASCADE", []st{{ddl, "drop"}}},
	{"DROP SCHEMA s CASCADE", []st{{ddl, "drop"}}},
	{"DROP FUNCTION f(int)", []st{{ddl, "drop"}}},
	{"DROP DATABASE other", []st{{ddl, "drop"}}},
	{"DROP INDEX CONCURRENTLY i", []st{{ddl, "drop"}}},
	{"DROP POLICY p ON t", []st{{ddl, "drop"}}},
	{"CREATE INDEX i ON t (a)", []st{{ddl, ""}}},
	{"CREATE VIEW v AS SELECT * FROM t", []st{{ddl, ""}}},
	{"CREATE VIEW v AS SELECT pg_ls_dir('.')", []st{{ddl, "file_access"}}},
	{"CREATE POLICY p ON t FOR SELECT USING (auth.uid() = user_id)", []st{{ddl, ""}}},
	{"CREATE EXTENSION IF NOT EXISTS pgcrypto", []st{{ddl, ""}}},
	{"COMMENT ON TABLE t IS 'x'", []st{{ddl, ""}}},
	{"CREATE SCHEMA s", []st{{ddl, ""}}},
	{"CREATE SEQUENCE s", []st{{ddl, ""}}},
	{"CREATE TYPE mood AS ENUM ('sad', 'ok')", []st{{ddl, ""}}},
	{"CREATE PUBLICATION p FOR TABLE t", []st{{ddl, ""}}},
	{"CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", []st{{ddl, ""}}},
	{"CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u", []st{{ddl, "delete_without_where"}}},
	{"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", []st{{ddl, "remote_connection"}}},
	{"ALTER SYSTEM SET work_mem = '64MB'", []st{{ddl, "alter_system"}}},
	{"ALTER SYSTEM SET standard_conforming_strings = off", []st{{ddl, "alter_system,parser_setting"}}},
	{"ALTER DATABASE postgres SET client_encoding = 'SJIS'", []st{{ddl, "parser_setting"}}},

	// Function bodies.
	{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", []st{{ddl, ""}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$", []st{{ddl, "delete_without_where"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC UPDATE t SET a = 1; END", []st{{ddl, "update_without_where"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$", []st{{ddl, "drop"}}},
	{"CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$", []st{{ddl, ""}}},
	{"CREATE FUNCTION f(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE ' || t; END $$", []st{{ddl, "dynamic_sql"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE t'; END $$", []st{{ddl, "truncate"}}},
	{"CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$ DECLARE x text := pg_read_file('/etc/passwd'); BEGIN RETURN x; END $$", []st{{ddl, "file_access"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN n := lo_import('/etc/passwd'); END $$", []st{{ddl, "file_access"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF (SELECT count(*) FROM t) > 0 THEN SET ROLE postgres; END IF; END $$", []st{{ddl, "set_role"}}},
	{"CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN IF true THEN ALTER SYSTEM SET fsync = off; END IF; COMMIT; END $$", []st{{ddl, "alter_system"}}},
	{"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ DECLARE r t%ROWTYPE; BEGIN r.a := 1; DELETE FROM t; END $$", []st{{ddl, "delete_without_where"}}},
	{"CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", []st{{ddl, "unchecked_language"}}},
	{"CREATE FUNCTION f(text) RETURNS text LANGUAGE internal AS 'pg_read_file_v2'", []st{{ddl, "unchecked_language"}}},
	{"CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'", []st{{ddl, ""}}},
	// pg_query's PL/pgSQL parser aborts the process on a function without an AS body.
	{"CREATE FUNCTION h() RETURNS trigger LANGUAGE plpgsql", []st{{ddl, ""}}},
	{"CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql RETURN 1", []st{{ddl, ""}}},

	// DO blocks.
	{"DO $$ BEGIN RAISE NOTICE 'hi'; END $$", []st{{write, "do_block"}}},
	{"DO $$ BEGIN DELETE FROM t; END $$", []st{{write, "delete_without_where,do_block"}}},
	{"DO $$ BEGIN PERFORM dblink_exec('host=x', 'select 1'); END $$", []st{{write, "do_block,remote_connection"}}},
	{"DO LANGUAGE plpython3u $$ import os $$", []st{{write, "do_block,unchecked_language"}}},
	{"DO $$ BEGIN EXECUTE format('DROP TABLE %I', 't'); END $$", []st{{write, "do_block,dynamic_sql"}}},
	{"DO $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM t LOOP UPDATE t SET a = 1; END LOOP; END $$", []st{{write, "do_block,update_without_where"}}},
	{"DO $$ BEGIN EXECUTE 'DO $x$ BEGIN TRUNCATE t; END $x$'; END $$", []st{{write, "do_block,truncate"}}},
	{"DO $$ DECLARE r t%ROWTYPE; BEGIN r.a := pg_read_file('x'); END $$", []st{{write, "do_block,file_access"}}},
	{"DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'select ' || 1 LOOP END LOOP; END $$", []st{{write, "do_block,dynamic_sql"}}},
	{"CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'select 1'; END $$", []st{{ddl, ""}}},
	{"CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE format('select %s', 1); END $$", []st{{ddl, "dynamic_sql"}}},
	{"DO $$ DECLARE c refcursor; BEGIN OPEN c FOR EXECUTE 'DELETE FROM t'; END $$", []st{{write, "delete_without_where,do_block"}}},

	// Privileges.
	{"GRANT SELECT ON t TO anon", []st{{privilege, ""}}},
	{"REVOKE ALL ON t FROM public", []st{{privilege, ""}}},
	{"GRANT editors TO alice", []st{{privilege, ""}}},
	{"GRANT pg_read_server_files TO app", []st{{privilege, "grant_powerful_role"}}},
	{"GRANT service_role TO app", []st{{privilege, "grant_powerful_role"}}},
	{"CREATE ROLE admin2 SUPERUSER LOGIN", []st{{privilege, "role_superuser"}}},
	{"ALTER ROLE app WITH BYPASSRLS", []st{{privilege, "role_bypassrls"}}},
	{"ALTER ROLE app NOSUPERUSER NOBYPASSRLS", []st{{privilege, ""}}},
	{"CREATE USER r REPLICATION", []st{{privilege, "role_replication"}}},
	{"CREATE ROLE x IN ROLE pg_execute_server_program", []st{{privilege, "grant_powerful_role"}}},
	{"ALTER ROLE app PASSWORD 'secret'", []st{{privilege, ""}}},
	{"DROP ROLE r", []st{{privilege, "drop"}}},
	{"DROP OWNED BY r", []st{{privilege, "drop"}}},
	{"ALTER FUNCTION f() OWNER TO bob", []st{{privilege, ""}}},
	{"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO anon", []st{{privilege, ""}}},
	{"ALTER ROLE app SET role = 'postgres'", []st{{privilege, "set_role"}}},

	// Transaction control.
	{"BEGIN", []st{{transaction, ""}}},
	{"START TRANSACTION READ ONLY", []st{{transaction, ""}}},
	{"COMMIT", []st{{transaction, ""}}},
	{"ROLLBACK TO SAVEPOINT a", []st{{transaction, ""}}},
	{"SET TRANSACTION READ WRITE", []st{{transaction, ""}}},
	{"SET transaction_read_only = off", []st{{transaction, ""}}},
	{"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", []st{{transaction, ""}}},
	{"SET CONSTRAINTS ALL DEFERRED", []st{{transaction, ""}}},

	// The session.
	{"SET search_path = public, extensions", []st{{session, ""}}},
	{"SET statement_timeout = 0", []st{{session, ""}}},
	{"SET ROLE postgres", []st{{session, "set_role"}}},
	{"SET LOCAL ROLE service_role", []st{{session, "set_role"}}},
	{"RESET ROLE", []st{{session, "set_role"}}},
	{"SET SESSION AUTHORIZATION postgres", []st{{session, "set_role"}}},
	{"SELECT set_config('role', 'postgres', false)", []st{{write, "set_role"}}},
	{"SELECT set_config(name, 'x', false) FROM settings", []st{{write, "set_role"}}},
	{"SET standard_conforming_strings = off", []st{{session, "parser_setting"}}},
	{"SET standard_conforming_strings = on", []st{{session, ""}}},
	{"SET client_encoding = 'SJIS'", []st{{session, "parser_setting"}}},
	{"SET NAMES 'UTF8'", []st{{session, ""}}},
	{"RESET ALL", []st{{session, ""}}},
	{"DISCARD ALL", []st{{session, "set_role"}}},
	{"DISCARD PLANS", []st{{session, ""}}},
	{"LISTEN ch", []st{{session, ""}}},
	{"DEALLOCATE ALL", []st{{session, ""}}},
	{"LOAD 'auto_explain'", []st{{session, "load_library"}}},

	// Maintenance.
	{"VACUUM ANALYZE t", []st{{maintenance, ""}}},
	{"ANALYZE t", []st{{maintenance, ""}}},
	{"REINDEX TABLE t", []st{{maintenance, ""}}},
	{"CLUSTER t USING i", []st{{maintenance, ""}}},
	{"CHECKPOINT", []st{{maintenance, ""}}},

	// Dangerous functions and COPY.
	{"SELECT pg_read_file('/etc/passwd')", []st{{write, "file_access"}}},
	{"SELECT * FROM pg_ls_dir('.') AS f", []st{{write, "file_access"}}},
	{"SELECT lo_import('/etc/passwd')", []st{{write, "file_access"}}},
	{"SELECT dblink('host=evil', 'select 1')", []st{{write, "remote_connection"}}},
	{"SELECT net.http_post('https://example.com', '{}'::jsonb)", []st{{write, "remote_connection"}}},
	{"SELECT pg_terminate_backend(pid) FROM pg_stat_activity", []st{{write, "server_control"}}},
	{"SELECT query_to_xml('select 1', true, true, '')", []st{{write, "dynamic_sql"}}},
	{"COPY t TO '/tmp/t.csv'", []st{{write, "copy_file"}}},
	{"COPY t FROM '/tmp/t.csv'", []st{{write, "copy_file"}}},
	{"COPY t FROM PROGRAM 'curl https://example.com'", []st{{write, "copy_program"}}},
	{"COPY (SELECT 1) TO PROGRAM 'sh -c id'", []st{{write, "copy_program"}}},

	// Dangerous functions reached without calling them by name, and what brings them in.
	{"CREATE OPERATOR ### (FUNCTION = pg_read_file, RIGHTARG = text)", []st{{ddl, "file_access"}}},
	{"CREATE AGGREGATE a(text) (SFUNC = pg_catalog.pg_read_file, STYPE = text)", []st{{ddl, "file_access"}}},
	{"CREATE CAST (text AS mytype) WITH FUNCTION pg_read_file(text)", []st{{ddl, "file_access"}}},
	{"GRANT EXECUTE ON FUNCTION pg_read_file(text) TO anon", []st{{privilege, "file_access"}}},
	{"ALTER FUNCTION pg_read_file(text) RENAME TO harmless", []st{{ddl, "file_access"}}},
	{"CREATE EXTENSION dblink", []st{{ddl, "remote_connection"}}},
	{"CREATE EXTENSION IF NOT EXISTS file_fdw", []st{{ddl, "file_access"}}},
	{"CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'example.com')", []st{{ddl, "remote_connection"}}},
	{"CREATE FOREIGN TABLE x (a text) SERVER s OPTIONS (filename '/etc/passwd')", []st{{ddl, "file_access"}}},
	{"CREATE FOREIGN TABLE x (a text) SERVER s OPTIONS (program 'id')", []st{{ddl, "copy_program"}}},
	{"CREATE LANGUAGE plpython3u", []st{{ddl, "unchecked_language"}}},

	// Several statements in one request.
	{"SELECT 1; DROP TABLE t; DELETE FROM u", []st{{read, ""}, {ddl, "drop"}, {write, "delete_without_where"}}},
	{"BEGIN; UPDATE t SET a = 1 WHERE id = 1; COMMIT;", []st{{transaction, ""}, {write, ""}, {transaction, ""}}},
	{"SELECT 'a;b'; SELECT $$;$$", []st{{read, ""}, {read, ""}}},
	{";; SELECT 1;;", []st{{read, ""}}},
	{"SELECT E'\\\\'; DROP TABLE t; --'", []st{{read, ""}, {ddl, "drop"}}},
	{"-- only a comment", nil},
}

func TestClassificationTable(t *testing.T) {
	require.GreaterOrEqual(t, len(classificationTable), 80)
	for _, tc := range classificationTable {
		t.Run(tc.sql, func(t *testing.T) {
			statements, err := sqlguard.Analyze(tc.sql)
			require.NoError(t, err)
			var got []st
			for _, s := range statements {
				var classes []string
				for _, c := range s.Classes {
					classes = append(classes, string(c))
				}
				got = append(got, st{s.Kind, strings.Join(classes, ",")})
				if s.Dangerous() {
					assert.NotEmpty(t, s.Warnings, "a dangerous statement says why")
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
