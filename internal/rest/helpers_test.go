package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	userA = "11111111-1111-4111-8111-111111111111"
	userB = "22222222-2222-4222-8222-222222222222"
)

// fixture is the schema most tests share: a small blog with every kind of relationship, a
// table guarded by owner policies, and functions of each shape.
const fixture = `
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL, email text, meta jsonb, born date);
CREATE TABLE profiles (author_id int PRIMARY KEY REFERENCES authors (id), website text);
CREATE TABLE posts (
	id int PRIMARY KEY,
	author_id int REFERENCES authors (id),
	reviewer_id int CONSTRAINT posts_reviewer_fk REFERENCES authors (id),
	title text NOT NULL,
	body text,
	tags text[] DEFAULT '{}',
	rating numeric,
	published boolean DEFAULT false,
	during int4range,
	search tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || coalesce(body, ''))) STORED
);
CREATE TABLE labels (id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE post_labels (
	post_id int REFERENCES posts (id),
	label_id int REFERENCES labels (id),
	PRIMARY KEY (post_id, label_id)
);
CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts (id), text text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT '2024-01-01T00:00:00Z');
CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL DEFAULT 0, note text DEFAULT 'fresh');

INSERT INTO authors VALUES
	(1, 'Ada', 'ada@example.com', '{"lang": "en", "tags": ["math"], "level": 3}', '1815-12-10'),
	(2, 'Grace', 'grace@example.com', '{"lang": "en", "level": 5}', '1906-12-09'),
	(3, 'Linus', NULL, '{"lang": "fi"}', NULL);
INSERT INTO profiles VALUES (1, 'https://ada.example');
INSERT INTO posts (id, author_id, reviewer_id, title, body, tags, rating, published, during) VALUES
	(1, 1, 2, 'Notes on the Engine', 'The analytical engine weaves algebraic patterns', '{math,history}', 4.5, true, '[1,5)'),
	(2, 1, NULL, 'Bernoulli numbers', 'A program for the engine', '{math}', 4.9, true, '[5,10)'),
	(3, 2, 1, 'Compilers', 'Programs that write programs', '{cs}', 3.2, false, '[10,20)'),
	(4, 3, NULL, 'Kernel release', NULL, '{}', NULL, true, NULL);
INSERT INTO labels VALUES (1, 'classic'), (2, 'draft'), (3, 'popular');
INSERT INTO post_labels VALUES (1, 1), (1, 3), (2, 1), (3, 2);
INSERT INTO comments (post_id, text) VALUES (1, 'Brilliant'), (1, 'Visionary'), (3, 'Needs work');

-- Owner-guarded rows: each user sees and changes only their own; anon sees the public ones.
CREATE TABLE notes (
	id serial PRIMARY KEY,
	owner uuid NOT NULL DEFAULT auth.uid(),
	body text NOT NULL,
	public boolean NOT NULL DEFAULT false
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_public ON notes FOR SELECT TO anon USING (public);
CREATE POLICY notes_own ON notes FOR ALL TO authenticated USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
INSERT INTO notes (owner, body, public) VALUES
	('` + userA + `', 'a-private', false), ('` + userA + `', 'a-public', true),
	('` + userB + `', 'b-private', false);

CREATE FUNCTION add(a int, b int DEFAULT 10) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION greet(name text) RETURNS text LANGUAGE sql STABLE AS $$SELECT 'hello ' || name$$;
CREATE FUNCTION greet(first text, last text) RETURNS text LANGUAGE sql STABLE AS $$SELECT 'hello ' || first || ' ' || last$$;
CREATE FUNCTION posts_by(author int) RETURNS SETOF posts LANGUAGE sql STABLE AS 'SELECT * FROM posts WHERE author_id = author';
CREATE FUNCTION numbers(n int) RETURNS SETOF int LANGUAGE sql IMMUTABLE AS 'SELECT generate_series(1, n)';
CREATE FUNCTION pair(OUT x int, OUT y text) LANGUAGE sql IMMUTABLE AS $$SELECT 1, 'one'$$;
CREATE FUNCTION bump(counter text) RETURNS int LANGUAGE sql VOLATILE
	AS 'INSERT INTO counters (name, value) VALUES (counter, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value';
CREATE FUNCTION noop() RETURNS void LANGUAGE sql VOLATILE AS '';
CREATE FUNCTION echo(payload jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS 'SELECT payload';
CREATE FUNCTION total(VARIADIC nums int[]) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT sum(n)::int FROM unnest(nums) n';
CREATE FUNCTION fail(msg text) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION '%', msg USING HINT = 'try again'; END$$;
CREATE FUNCTION whoami() RETURNS json LANGUAGE sql STABLE
	AS $$SELECT json_build_object('role', current_user, 'uid', auth.uid(), 'method', current_setting('request.method', true))$$;
CREATE FUNCTION my_notes() RETURNS SETOF notes LANGUAGE sql STABLE AS 'SELECT * FROM notes';

CREATE SCHEMA other;
GRANT USAGE ON SCHEMA other TO anon, authenticated, service_role;
CREATE TABLE other.things (id int PRIMARY KEY, name text);
GRANT ALL ON other.things TO anon, authenticated, service_role;
INSERT INTO other.things VALUES (1, 'elsewhere');
CREATE TABLE numbers_table AS SELECT generate_series(1, 150) AS n;
`

type env struct {
	*servicetest.Env
	svc *rest.Service
}

// newEnv starts the REST service behind the gateway on a fresh database holding fixture
// (plus extra SQL), with max rows 100.
func newEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	return newEnvConfig(t, nil, extra...)
}

// newEnvConfig is newEnv with the service's configuration adjusted by configure.
func newEnvConfig(t *testing.T, configure func(*rest.Config), extra ...string) *env {
	t.Helper()
	e := &env{}
	e.Env = servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		_, err := se.DB.Pool.Exec(context.Background(), fixture+strings.Join(extra, "\n"))
		require.NoError(t, err)
		cfg := rest.Config{Schemas: []string{"public", "other"}, MaxRows: 100, ExtraSearchPath: []string{"public", "extensions"}}
		if configure != nil {
			configure(&cfg)
		}
		svc, err := rest.New(cfg, rest.Deps{Owner: se.DB.Pool, Runner: se.Runner, Logger: se.Logger})
		require.NoError(t, err)
		e.svc = svc
		return []gateway.Service{{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount}}
	})
	return e
}

// call is one request of a scenario table.
type call struct {
	method string
	path   string // after /rest/v1
	body   any
	header map[string]string
	token  string // "" anon
}

func (e *env) do(t *testing.T, c call) servicetest.Response {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	h := http.Header{}
	for k, v := range c.header {
		h.Set(k, v)
	}
	var body any
	switch b := c.body.(type) {
	case nil:
	case string:
		body = b
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		body = raw
		h.Set("Content-Type", "application/json")
	}
	path := strings.NewReplacer(" ", "%20", `"`, "%22").Replace(c.path)
	return e.Do(t, servicetest.Request{Method: method, Path: rest.Prefix + path, Body: body, Header: h, Token: c.token})
}

// jsonOf decodes a response body for comparison.
func jsonOf(t *testing.T, r servicetest.Response) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// jsonText normalises a JSON literal for comparison.
func jsonText(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "literal: %s", s)
	return v
}
