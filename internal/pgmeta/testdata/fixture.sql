-- A small application schema the read tests describe.
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE public.point2 AS (x float8, y float8);
CREATE TABLE public.authors (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  email text UNIQUE,
  mood public.mood,
  tags text[] DEFAULT '{}',
  profile jsonb,
  age int CHECK (age > 0)
);
COMMENT ON TABLE public.authors IS 'People who write';
COMMENT ON COLUMN public.authors.name IS 'Display name';
CREATE TABLE public.posts (
  id serial PRIMARY KEY,
  author_id bigint REFERENCES public.authors (id) ON DELETE CASCADE,
  title text NOT NULL,
  body text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.profiles (
  author_id bigint PRIMARY KEY REFERENCES public.authors (id),
  bio text
);
CREATE TABLE public.tags (id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE public.post_tags (
  post_id int REFERENCES public.posts (id),
  tag_id int REFERENCES public.tags (id),
  PRIMARY KEY (post_id, tag_id)
);
CREATE VIEW public.post_titles AS SELECT id, title, author_id FROM public.posts;
CREATE MATERIALIZED VIEW public.author_counts AS
  SELECT author_id, count(*) AS n FROM public.posts GROUP BY author_id;
CREATE FUNCTION public.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION public.titles_of(author bigint) RETURNS SETOF public.posts LANGUAGE sql STABLE
  SET search_path = public AS 'SELECT * FROM posts WHERE author_id = author';
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.title := trim(NEW.title); RETURN NEW; END$$;
CREATE TRIGGER posts_touch BEFORE INSERT OR UPDATE ON public.posts
  FOR EACH ROW WHEN (NEW.title IS NOT NULL) EXECUTE FUNCTION public.touch('a', 'b');
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY posts_read ON public.posts FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY posts_write ON public.posts AS RESTRICTIVE FOR INSERT WITH CHECK (title <> '');
CREATE INDEX posts_title_idx ON public.posts (lower(title)) WHERE body IS NOT NULL;
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, post_id int REFERENCES public.posts (id));
CREATE PUBLICATION pub_posts FOR TABLE public.posts, public.authors;
GRANT SELECT ON public.authors TO anon;
GRANT UPDATE (bio) ON public.profiles TO authenticated;
