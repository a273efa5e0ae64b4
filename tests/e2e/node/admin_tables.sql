-- Fixtures of admin_tables.test.mjs: a table only admins see (row-level security without a
-- policy for the API roles), and one its regular admin is not assigned.
CREATE TABLE IF NOT EXISTS public.admin_posts (id int PRIMARY KEY, title text NOT NULL);
CREATE TABLE IF NOT EXISTS public.admin_payroll (id int PRIMARY KEY, salary int NOT NULL);
ALTER TABLE public.admin_posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.admin_payroll ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.admin_posts, public.admin_payroll TO anon, authenticated, service_role;
INSERT INTO public.admin_posts VALUES (1, 'first'), (2, 'second') ON CONFLICT DO NOTHING;
INSERT INTO public.admin_payroll VALUES (1, 5000) ON CONFLICT DO NOTHING;
