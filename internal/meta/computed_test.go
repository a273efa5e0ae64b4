package meta_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/pgtest"
)

func TestInspectComputedFields(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(context.Background(), `
CREATE TYPE public.shout AS (word text);
CREATE DOMAIN public.doc AS tsvector;
CREATE TABLE public.people (id int PRIMARY KEY, first text, last text);
CREATE VIEW public.people_view AS SELECT * FROM public.people;
CREATE FUNCTION public.full_name(public.people) RETURNS text LANGUAGE sql STABLE AS $$SELECT $1.first || ' ' || $1.last$$;
CREATE FUNCTION public.document(public.people) RETURNS public.doc LANGUAGE sql STABLE AS $$SELECT to_tsvector($1.first)$$;
CREATE FUNCTION public.initial(public.people_view) RETURNS text LANGUAGE sql STABLE AS $$SELECT left($1.first, 1)$$;
CREATE FUNCTION public.with_extra(public.people, int) RETURNS text LANGUAGE sql STABLE AS $$SELECT $1.first$$;
CREATE FUNCTION public.many(public.people) RETURNS SETOF text LANGUAGE sql STABLE AS $$SELECT $1.first$$;
CREATE FUNCTION public.as_row(public.people) RETURNS public.shout LANGUAGE sql STABLE AS $$SELECT ROW($1.first)::public.shout$$;
CREATE FUNCTION public.nothing(public.people) RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION public.not_a_row(int) RETURNS text LANGUAGE sql AS 'SELECT 1::text';
CREATE SCHEMA hidden;
CREATE FUNCTION hidden.secret(public.people) RETURNS text LANGUAGE sql AS $$SELECT 'x'$$;
`)
	require.NoError(t, err)
	s, err := meta.NewInspector(database.Pool, meta.Config{}, nil).Reload(t.Context())
	require.NoError(t, err)

	people := s.Table("public", "people")
	require.NotNil(t, people)
	names := map[string]*meta.ComputedField{}
	for _, f := range people.ComputedFields {
		names[f.Name] = f
	}
	require.Len(t, names, 2, "only one-row-argument scalar functions of exposed schemas: %v", names)
	full := people.ComputedField("full_name")
	require.NotNil(t, full)
	require.Equal(t, meta.QName{Schema: "public", Name: "full_name"}, full.Function)
	require.Equal(t, "text", full.Type)
	doc := people.ComputedField("document")
	require.NotNil(t, doc)
	require.Equal(t, "tsvector", doc.BaseType, "domains are unwrapped")
	for _, name := range []string{"with_extra", "many", "as_row", "nothing", "not_a_row", "secret", "initial"} {
		require.Nil(t, people.ComputedField(name), name)
	}
	view := s.Table("public", "people_view")
	require.NotNil(t, view.ComputedField("initial"), "views have computed fields too")
	require.Nil(t, view.ComputedField("full_name"), "the argument type decides the relation")
}

func TestInspectComputedRelationships(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	_, err := database.Pool.Exec(context.Background(), `
CREATE TABLE public.people (id int PRIMARY KEY, boss int REFERENCES public.people (id));
CREATE TABLE public.pets (id int PRIMARY KEY, owner int REFERENCES public.people (id));
CREATE SCHEMA hidden;
CREATE TABLE hidden.diary (id int PRIMARY KEY);
CREATE FUNCTION public.all_pets(public.people) RETURNS SETOF public.pets LANGUAGE sql STABLE AS $$SELECT * FROM public.pets WHERE owner = $1.id$$;
CREATE FUNCTION public.best_pet(public.people) RETURNS SETOF public.pets ROWS 1 LANGUAGE sql STABLE AS $$SELECT * FROM public.pets LIMIT 1$$;
CREATE FUNCTION public.some_pet(public.people) RETURNS public.pets LANGUAGE sql STABLE AS $$SELECT * FROM public.pets LIMIT 1$$;
CREATE FUNCTION public.people(public.pets) RETURNS SETOF public.people ROWS 1 LANGUAGE sql STABLE AS $$SELECT * FROM public.people LIMIT 1$$;
CREATE FUNCTION public.pet_ids(public.people) RETURNS SETOF int LANGUAGE sql STABLE AS $$SELECT 1$$;
CREATE FUNCTION public.diaries(public.people) RETURNS SETOF hidden.diary LANGUAGE sql STABLE AS $$SELECT * FROM hidden.diary$$;
CREATE FUNCTION hidden.pets_elsewhere(public.people) RETURNS SETOF public.pets LANGUAGE sql STABLE AS $$SELECT * FROM public.pets$$;
CREATE FUNCTION public.two_args(public.people, int) RETURNS SETOF public.pets LANGUAGE sql STABLE AS $$SELECT * FROM public.pets$$;
`)
	require.NoError(t, err)
	s, err := meta.NewInspector(database.Pool, meta.Config{}, nil).Reload(t.Context())
	require.NoError(t, err)

	computed := func(table *meta.Table) map[string]*meta.Relationship {
		out := map[string]*meta.Relationship{}
		for _, r := range table.Relationships {
			if r.Function != nil {
				out[r.Function.String()] = r
			}
		}
		return out
	}
	people := computed(s.Table("public", "people"))
	require.Len(t, people, 4, "functions returning rows of an exposed relation, from any schema: %v", people)
	require.Equal(t, meta.OneToMany, people["public.all_pets"].Cardinality)
	require.Equal(t, meta.ManyToOne, people["public.best_pet"].Cardinality, "ROWS 1")
	require.Equal(t, meta.ManyToOne, people["public.some_pet"].Cardinality, "not SETOF")
	require.Equal(t, meta.OneToMany, people["hidden.pets_elsewhere"].Cardinality)
	require.Equal(t, meta.QName{Schema: "public", Name: "pets"}, people["public.all_pets"].Foreign)

	pets := s.Table("public", "pets")
	require.Len(t, computed(pets), 1)
	for _, r := range pets.Relationships {
		require.False(t, r.Function == nil && r.Foreign.Name == "people",
			"the function named like the table replaces the foreign key to it: %+v", r)
	}
}
