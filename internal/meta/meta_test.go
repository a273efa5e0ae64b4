package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const fixture = `
CREATE TABLE public.authors (id serial PRIMARY KEY, name text NOT NULL, bio varchar(200));
CREATE TABLE public.posts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	author_id int REFERENCES public.authors (id),
	editor_id int CONSTRAINT posts_editor_fk REFERENCES public.authors (id),
	title text DEFAULT 'untitled',
	words int GENERATED ALWAYS AS (length(title)) STORED
);
CREATE TABLE public.profiles (author_id int PRIMARY KEY REFERENCES public.authors (id), site text);
CREATE TABLE public.tags (id serial PRIMARY KEY, label text);
CREATE TABLE public.post_tags (
	post_id bigint REFERENCES public.posts (id),
	tag_id int REFERENCES public.tags (id),
	PRIMARY KEY (post_id, tag_id)
);
CREATE TYPE public.mood AS ENUM ('happy', 'sad');
CREATE TABLE public.moods (id int PRIMARY KEY, m public.mood);
CREATE VIEW public.post_titles AS SELECT id, title FROM public.posts;
CREATE MATERIALIZED VIEW public.author_count AS SELECT count(*) AS n FROM public.authors;
CREATE FUNCTION public.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION public.add(a text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT a';
CREATE FUNCTION public.authors_named(q text) RETURNS SETOF public.authors LANGUAGE sql STABLE
	AS 'SELECT * FROM public.authors WHERE name ILIKE q';
CREATE FUNCTION public.pairs(OUT x int, OUT y text) RETURNS SETOF record LANGUAGE sql
	AS 'SELECT 1, ''one''';
CREATE FUNCTION public.total(VARIADIC nums int[]) RETURNS int LANGUAGE sql IMMUTABLE
	AS 'SELECT sum(n)::int FROM unnest(nums) n';
CREATE TABLE private_stuff (id int);
CREATE SCHEMA hidden;
CREATE TABLE hidden.secrets (id int PRIMARY KEY);
`

func load(t *testing.T) *meta.Schema {
	t.Helper()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(context.Background(), fixture)
	require.NoError(t, err)
	s, err := meta.NewInspector(database.Pool, meta.Config{}, nil).Reload(t.Context())
	require.NoError(t, err)
	return s
}

func relationship(t *testing.T, table *meta.Table, foreign string, card meta.Cardinality) []*meta.Relationship {
	t.Helper()
	var out []*meta.Relationship
	for _, r := range table.Relationships {
		if r.Foreign.Name == foreign && r.Cardinality == card {
			out = append(out, r)
		}
	}
	return out
}

func TestInspectTablesAndColumns(t *testing.T) {
	t.Parallel()
	s := load(t)

	require.Equal(t, []string{"public"}, s.Schemas)
	require.Nil(t, s.Table("hidden", "secrets"), "only exposed schemas are loaded")

	posts := s.Table("public", "posts")
	require.NotNil(t, posts)
	require.Equal(t, meta.KindTable, posts.Kind)
	require.True(t, posts.Insertable && posts.Updatable && posts.Deletable)
	require.Equal(t, []string{"id"}, posts.PrimaryKey)
	require.Equal(t, []string{"id", "author_id", "editor_id", "title", "words"}, names(posts.Columns))

	id := posts.Column("id")
	require.Equal(t, "bigint", id.Type)
	require.Equal(t, "int8", id.BaseType)
	require.True(t, id.Identity)
	require.False(t, id.Nullable)
	title := posts.Column("title")
	require.True(t, title.HasDefault)
	require.Equal(t, "'untitled'::text", title.Default)
	require.True(t, posts.Column("words").Generated)

	bio := s.Table("public", "authors").Column("bio")
	require.Equal(t, 200, bio.MaxLength)
	require.Equal(t, []string{"happy", "sad"}, s.Table("public", "moods").Column("m").Enum)

	view := s.Table("public", "post_titles")
	require.Equal(t, meta.KindView, view.Kind)
	require.True(t, view.Updatable, "a simple view is auto-updatable")
	mv := s.Table("public", "author_count")
	require.Equal(t, meta.KindMaterializedView, mv.Kind)
	require.False(t, mv.Insertable)

	_, ok := s.Type("integer")
	require.True(t, ok)
	q, ok := s.Type("mood")
	require.True(t, ok)
	require.Equal(t, meta.QName{Schema: "public", Name: "mood"}, q)
	_, ok = s.Type("no_such_type")
	require.False(t, ok)
}

func TestInspectRelationships(t *testing.T) {
	t.Parallel()
	s := load(t)
	posts, authors := s.Table("public", "posts"), s.Table("public", "authors")

	toAuthors := relationship(t, posts, "authors", meta.ManyToOne)
	require.Len(t, toAuthors, 2, "author and editor")
	fromAuthors := relationship(t, authors, "posts", meta.OneToMany)
	require.Len(t, fromAuthors, 2)
	for _, r := range fromAuthors {
		require.Equal(t, []string{"id"}, r.Columns)
	}

	profile := relationship(t, authors, "profiles", meta.OneToOne)
	require.Len(t, profile, 1, "a foreign key that is also the primary key is one-to-one")
	require.True(t, profile[0].ToOne())

	m2m := relationship(t, posts, "tags", meta.ManyToMany)
	require.Len(t, m2m, 1)
	require.Equal(t, "post_tags", m2m[0].Junction.Table.Name)
	require.Equal(t, []string{"post_id"}, m2m[0].Junction.SourceColumns)
	require.Equal(t, []string{"tag_id"}, m2m[0].Junction.TargetColumns)
	require.Len(t, relationship(t, s.Table("public", "tags"), "posts", meta.ManyToMany), 1)
}

func TestInspectFunctions(t *testing.T) {
	t.Parallel()
	s := load(t)

	adds := s.Functions("public", "add")
	require.Len(t, adds, 2)
	var intAdd *meta.Function
	for _, f := range adds {
		if len(f.Params) == 2 {
			intAdd = f
		}
	}
	require.NotNil(t, intAdd)
	require.Equal(t, meta.Immutable, intAdd.Volatility)
	require.Equal(t, "integer", intAdd.ReturnType)
	require.True(t, intAdd.ReturnsScalar())
	require.False(t, intAdd.Params[0].HasDefault)
	require.True(t, intAdd.Params[1].HasDefault)

	named := s.Functions("public", "authors_named")[0]
	require.True(t, named.ReturnsSet)
	require.True(t, named.ReturnsComposite)
	require.Equal(t, &meta.QName{Schema: "public", Name: "authors"}, named.ReturnTable)
	require.Equal(t, meta.Stable, named.Volatility)

	pairs := s.Functions("public", "pairs")[0]
	require.Empty(t, pairs.Params)
	require.Equal(t, []string{"x", "y"}, []string{pairs.OutColumns[0].Name, pairs.OutColumns[1].Name})
	require.True(t, pairs.ReturnsComposite)

	total := s.Functions("public", "total")[0]
	require.True(t, total.Params[0].Variadic)
	require.Equal(t, "integer[]", total.Params[0].Type)
}

func TestRunReloadsAfterDDLAndOnNotify(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	inspector := meta.NewInspector(database.Pool, meta.Config{Schemas: []string{"public", "extra"}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inspector.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return inspector.Schema() != nil }, 30*time.Second, 10*time.Millisecond)
	require.Nil(t, inspector.Schema().Table("public", "fresh"))

	_, err := database.Pool.Exec(context.Background(), `CREATE TABLE public.fresh (id int PRIMARY KEY)`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return inspector.Schema().Table("public", "fresh") != nil },
		30*time.Second, 10*time.Millisecond, "the event trigger announces DDL")

	// Without the event trigger (as on a server where it could not be installed), a manual
	// NOTIFY still reloads.
	_, err = database.Pool.Exec(context.Background(), `
		ALTER EVENT TRIGGER goforward_ddl_watch DISABLE;
		CREATE SCHEMA extra;
		CREATE TABLE extra.quiet (id int);`)
	require.NoError(t, err)
	_, err = database.Pool.Exec(context.Background(), `NOTIFY pgrst, 'reload schema'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return inspector.Schema().Table("extra", "quiet") != nil },
		30*time.Second, 10*time.Millisecond)
}

func TestEnsureLoadsOnce(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	inspector := meta.NewInspector(database.Pool, meta.Config{}, nil)
	require.Nil(t, inspector.Schema())
	first, err := inspector.Ensure(t.Context())
	require.NoError(t, err)
	second, err := inspector.Ensure(t.Context())
	require.NoError(t, err)
	require.Same(t, first, second)
}

func names(cols []*meta.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func TestInspectViewKeysAndRelationships(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(context.Background(), fixture+`
		CREATE VIEW public.author_profiles AS SELECT p.author_id AS writer, p.site FROM public.profiles p;
		CREATE VIEW public.tagged AS SELECT post_id, tag_id FROM public.post_tags;`)
	require.NoError(t, err)
	s, err := meta.NewInspector(database.Pool, meta.Config{}, nil).Reload(t.Context())
	require.NoError(t, err)

	titles := s.Table("public", "post_titles")
	require.Equal(t, []string{"id"}, titles.PrimaryKey, "a view showing a whole primary key has it")
	require.Empty(t, s.Table("public", "author_count").PrimaryKey)

	profiles := s.Table("public", "author_profiles")
	toAuthor := relationship(t, profiles, "authors", meta.OneToOne)
	require.Len(t, toAuthor, 1, "the base key is unique, so one-to-one through the view too")
	require.Equal(t, []string{"writer"}, toAuthor[0].Columns)
	require.Equal(t, []string{"id"}, toAuthor[0].ForeignColumns)
	require.Equal(t, "profiles_author_id_fkey", toAuthor[0].Constraint)
	back := relationship(t, s.Table("public", "authors"), "author_profiles", meta.OneToOne)
	require.Len(t, back, 1)
	require.Equal(t, []string{"id"}, back[0].Columns)
	require.Equal(t, []string{"writer"}, back[0].ForeignColumns)

	// tagged is a view over the junction with its whole key: a junction as well, so tags
	// reach posts through either, as in PostgREST (an embed then needs a hint).
	require.Equal(t, []string{"post_id", "tag_id"}, s.Table("public", "tagged").PrimaryKey)
	var junctions []string
	for _, r := range relationship(t, s.Table("public", "tags"), "posts", meta.ManyToMany) {
		junctions = append(junctions, r.Junction.Table.Name)
	}
	require.Equal(t, []string{"post_tags", "tagged"}, junctions)
	// post_titles shows posts.id, which the junctions reference: the view reaches tags too.
	junctions = nil
	for _, r := range relationship(t, titles, "tags", meta.ManyToMany) {
		junctions = append(junctions, r.Junction.Table.Name)
	}
	require.Equal(t, []string{"post_tags", "tagged"}, junctions)
}
