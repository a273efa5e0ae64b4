-- Fixtures of rest.test.mjs: a small library with every kind of relationship, and functions.
CREATE TABLE IF NOT EXISTS public.rest_authors (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE IF NOT EXISTS public.rest_books (
  id int PRIMARY KEY,
  author_id int REFERENCES public.rest_authors (id),
  title text NOT NULL,
  year int,
  tags text[] DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS public.rest_shelves (id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE IF NOT EXISTS public.rest_book_shelves (
  book_id int REFERENCES public.rest_books (id),
  shelf_id int REFERENCES public.rest_shelves (id),
  PRIMARY KEY (book_id, shelf_id)
);
CREATE TABLE IF NOT EXISTS public.rest_items (id serial PRIMARY KEY, name text UNIQUE NOT NULL, qty int NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS public.rest_private (id int PRIMARY KEY, secret text);
ALTER TABLE public.rest_private ENABLE ROW LEVEL SECURITY;

INSERT INTO public.rest_authors VALUES (1, 'Ursula'), (2, 'Terry'), (3, 'Iain') ON CONFLICT DO NOTHING;
INSERT INTO public.rest_books VALUES
  (1, 1, 'A Wizard of Earthsea', 1968, '{fantasy}'),
  (2, 1, 'The Dispossessed', 1974, '{scifi}'),
  (3, 2, 'Guards! Guards!', 1989, '{fantasy,humour}'),
  (4, 3, 'Consider Phlebas', 1987, '{scifi}'),
  (5, 3, 'The Player of Games', 1988, '{scifi}')
ON CONFLICT DO NOTHING;
INSERT INTO public.rest_shelves VALUES (1, 'favourites'), (2, 'to read') ON CONFLICT DO NOTHING;
INSERT INTO public.rest_book_shelves VALUES (1, 1), (3, 1), (4, 2) ON CONFLICT DO NOTHING;
INSERT INTO public.rest_private VALUES (1, 'hidden') ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION public.rest_add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE OR REPLACE FUNCTION public.rest_books_by(author int) RETURNS SETOF public.rest_books
  LANGUAGE sql STABLE AS 'SELECT * FROM public.rest_books WHERE author_id = author';
-- A computed field: a function of the row, read like a column.
CREATE OR REPLACE FUNCTION public.rest_nickname(public.rest_authors) RETURNS text
  LANGUAGE sql STABLE AS $$SELECT CASE WHEN $1.name = 'Terry' THEN 'Pratchett' END$$;
