package usermigrations

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	type want struct {
		line int
		sql  string
	}
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"two statements", "create table a (id int);\ncreate table b (id int);", []want{{1, "create table a (id int)"}, {2, "create table b (id int)"}}},
		{"no final semicolon", "select 1;\n\nselect 2\n", []want{{1, "select 1"}, {3, "select 2"}}},
		{"comments alone are no statement", "-- just a comment;\n/* and ; another */\n", nil},
		{"leading comments are left out, lines counted", "-- header\n\n/* a\n b */ select 1;", []want{{4, "select 1"}}},
		{"semicolon in a string", "insert into t values ('a;b');select 2;", []want{{1, "insert into t values ('a;b')"}, {1, "select 2"}}},
		{"doubled quotes", "select 'it''s; fine'; select 1", []want{{1, "select 'it''s; fine'"}, {1, "select 1"}}},
		{"escape string", `select E'a\'; b'; select 1`, []want{{1, `select E'a\'; b'`}, {1, "select 1"}}},
		{"quoted identifier", `create table "a;b" (id int); select 1`, []want{{1, `create table "a;b" (id int)`}, {1, "select 1"}}},
		{"dollar quoted body", "create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend\n$$;\nselect f();",
			[]want{{1, "create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend\n$$"}, {6, "select f()"}}},
		{"tagged dollar quote holding $$", "do $body$ begin perform '$$;'; end $body$; select 1",
			[]want{{1, "do $body$ begin perform '$$;'; end $body$"}, {1, "select 1"}}},
		{"parameter is no dollar quote", "prepare p as select $1; select 2", []want{{1, "prepare p as select $1"}, {1, "select 2"}}},
		{"nested block comment", "/* a /* b; */ c; */ select 1; select 2", []want{{1, "select 1"}, {1, "select 2"}}},
		{"line comment with semicolon", "select 1 -- not; the end\n; select 2", []want{{1, "select 1 -- not; the end"}, {2, "select 2"}}},
		{"SQL-standard function body", "create function f(x int) returns int begin atomic select case when x > 0 then 1 else 0 end; select 2; end;\nselect 3;",
			[]want{{1, "create function f(x int) returns int begin atomic select case when x > 0 then 1 else 0 end; select 2; end"}, {2, "select 3"}}},
		{"transaction wrapper", "BEGIN;\nselect 1;\nCOMMIT;", []want{{1, "BEGIN"}, {2, "select 1"}, {3, "COMMIT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []want
			for i, st := range Split(tt.in) {
				require.Equal(t, i+1, st.Index)
				got = append(got, want{st.Line, st.SQL})
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestStatementLineOf(t *testing.T) {
	t.Parallel()
	st := Split("-- x\n\ncreate table t (\n  id int,\n  name txt\n);")[0]
	require.Equal(t, 3, st.Line)
	require.Equal(t, 3, st.LineOf(0), "no position: the first line")
	require.Equal(t, 5, st.LineOf(33), "the position of txt")
	require.Equal(t, 3, st.LineOf(1))
	// Positions count characters, not bytes.
	st = Split("select 'é',\n  nope")[0]
	require.Equal(t, 2, st.LineOf(16))
}

func TestStatementsTransactionControl(t *testing.T) {
	t.Parallel()
	stmts, err := statements("begin;\ncreate table a (id int);\ncommit;\n", "f.sql")
	require.NoError(t, err)
	require.Len(t, stmts, 1, "a file's own BEGIN … COMMIT is the migration's transaction")
	require.Equal(t, "create table a (id int)", stmts[0].SQL)

	stmts, err = statements("start transaction;\nselect 1;", "f.sql")
	require.NoError(t, err)
	require.Len(t, stmts, 1)

	_, err = statements("create table a (id int);\ncommit;\ncreate table b (id int);", "f.sql")
	require.ErrorIs(t, err, ErrInvalid)
	require.EqualError(t, err, "invalid migration: f.sql, statement 2 (line 2): COMMIT is not allowed in a migration: each migration already runs in a transaction of its own")

	stmts, err = statements("savepoint a; select 1; rollback to savepoint a; release a;", "f.sql")
	require.NoError(t, err, "savepoints work inside the migration's transaction")
	require.Len(t, stmts, 4)
}
