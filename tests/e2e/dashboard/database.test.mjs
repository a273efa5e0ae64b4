// The database pages over /pg: policies (templates, preview, edit, delete) honoured by REST,
// roles, functions, triggers, indexes, extensions and realtime per table, driven as an admin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { anonKey, ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function anonRead(table) {
  // REST learns of a table created a moment ago when its schema cache reloads: poll, bounded.
  for (let i = 0; ; i++) {
    const res = await fetch(`${url}/rest/v1/${table}?select=id&order=id`, { headers: { apikey: anonKey } });
    if (res.status === 200) return res.json();
    assert.ok(res.status === 404 && i < 100, `REST answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function openDatabase(page, object) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Database' }).click();
  await page.getByRole('navigation', { name: 'Database objects' }).getByRole('button', { name: object }).click();
  await page.getByRole('heading', { name: object, level: 2 }).waitFor();
}

test('database: a policy from a template, previewed, edited and deleted, and REST honours it', async () => {
  const table = unique('notes').replace('-', '_');
  await sql(`create table public.${table} (id int primary key, published bool not null default false);
    insert into public.${table} values (1, true), (2, false);
    alter table public.${table} enable row level security; grant select on public.${table} to anon;`);
  assert.deepEqual(await anonRead(table), [], 'no policy: anon reads nothing');

  const page = await newPage(browser);
  await signIn(page);
  await openDatabase(page, 'Policies');
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByRole('status').filter({ hasText: `0 policies on public.${table}` }).waitFor();
  await page.getByLabel('New policy from a template').selectOption('Enable read access for everyone');
  const form = page.getByRole('form', { name: 'New policy' });
  assert.equal(await form.getByLabel('Policy name').inputValue(), 'Enable read access for everyone');
  await form.getByRole('button', { name: 'Preview SQL' }).click();
  const preview = await page.getByTestId('policy-sql').textContent();
  assert.match(preview, new RegExp(`CREATE POLICY "Enable read access for everyone" ON public\\.${table}`));
  assert.match(preview, /FOR SELECT\s+TO public\s+USING \(true\);/);
  await screenshotBothThemes(page, 'database-policies');
  await form.getByRole('button', { name: 'Create policy' }).click();
  await page.getByRole('status').filter({ hasText: `Policy “Enable read access for everyone” created on public.${table}.` }).waitFor();
  const row = page.getByTestId('policies').getByRole('row').filter({ hasText: 'Enable read access for everyone' });
  await row.getByRole('cell', { name: 'SELECT' }).waitFor();
  assert.deepEqual(await anonRead(table), [{ id: 1 }, { id: 2 }]);

  // Edit: only published rows, to anon.
  await row.getByRole('button', { name: 'Edit Enable read access for everyone' }).click();
  const edit = page.getByRole('form', { name: 'Edit policy' });
  await edit.getByLabel(/^Roles/).fill('anon');
  await edit.getByLabel(/^USING expression/).fill('published');
  await edit.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('status').filter({ hasText: 'Policy “Enable read access for everyone” saved.' }).waitFor();
  await row.getByRole('cell', { name: 'published', exact: true }).waitFor();
  assert.deepEqual(await anonRead(table), [{ id: 1 }]);
  const stored = await sql(`select roles::text[] as roles, qual from pg_policies where tablename = '${table}'`);
  assert.deepEqual(stored, [{ roles: ['anon'], qual: 'published' }]);

  // A bad expression comes back in PostgreSQL's words.
  await row.getByRole('button', { name: 'Edit Enable read access for everyone' }).click();
  await edit.getByLabel(/^USING expression/).fill('no_such_column');
  await edit.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('alert').filter({ hasText: 'column "no_such_column" does not exist' }).waitFor();
  await edit.getByRole('button', { name: 'Cancel' }).click();

  await row.getByRole('button', { name: 'Delete Enable read access for everyone' }).click();
  await page.getByRole('dialog', { name: 'Delete this policy?' }).getByRole('button', { name: 'Delete policy' }).click();
  await page.getByRole('status').filter({ hasText: 'Policy “Enable read access for everyone” deleted.' }).waitFor();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(await anonRead(table), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('database: roles, functions, triggers and indexes are created, used and dropped', async () => {
  const table = unique('stamped').replace('-', '_');
  await sql(`create table public.${table} (id int primary key, title text, updated_at timestamptz);`);
  const role = unique('reporter').replace('-', '_');
  const fn = unique('touch').replace('-', '_');
  const trigger = `${fn}_trg`;
  const index = `${table}_title_idx`;
  const page = await newPage(browser);
  await signIn(page);

  await openDatabase(page, 'Roles');
  await page.getByText('Create a role').click();
  await page.getByLabel('Role name').fill(role);
  await page.getByLabel(/^Member of/).fill('authenticated');
  await page.getByRole('button', { name: 'Create role' }).click();
  await page.getByRole('status').filter({ hasText: `Role ${role} created.` }).waitFor();
  await page.getByTestId('roles').getByRole('row').filter({ hasText: role }).waitFor();
  assert.deepEqual(await sql(`select pg_has_role('${role}', 'authenticated', 'member') as m`), [{ m: true }]);
  await screenshotBothThemes(page, 'database-roles');
  await page.getByRole('button', { name: `Delete role ${role}` }).click();
  await page.getByRole('dialog', { name: 'Delete this role?' }).getByRole('button', { name: 'Delete role' }).click();
  await page.getByRole('status').filter({ hasText: `Role ${role} deleted.` }).waitFor();
  assert.deepEqual(await sql(`select count(*)::int as n from pg_roles where rolname = '${role}'`), [{ n: 0 }]);

  await openDatabase(page, 'Functions');
  await page.getByText('Create a function').click();
  await page.getByLabel('Function name').fill(fn);
  // The form starts as a trigger function setting updated_at.
  await page.getByRole('button', { name: 'Create function' }).click();
  await page.getByRole('status').filter({ hasText: `Function public.${fn} created.` }).waitFor();
  await page.getByTestId('functions').getByRole('row').filter({ hasText: fn }).getByRole('cell', { name: 'trigger' }).waitFor();
  await screenshotBothThemes(page, 'database-functions');

  await openDatabase(page, 'Triggers');
  await page.getByText('Create a trigger').click();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByLabel('Trigger name').fill(trigger);
  await page.getByLabel(/^Function/).selectOption(`public.${fn}`);
  await page.getByRole('checkbox', { name: 'INSERT' }).check();
  await page.getByRole('button', { name: 'Create trigger' }).click();
  await page.getByRole('status').filter({ hasText: `Trigger ${trigger} created on public.${table}.` }).waitFor();
  const trow = page.getByTestId('triggers').getByRole('row').filter({ hasText: trigger });
  await trow.getByRole('cell', { name: 'BEFORE UPDATE OR INSERT FOR EACH ROW' }).or(trow.getByRole('cell', { name: 'BEFORE INSERT OR UPDATE FOR EACH ROW' })).waitFor();
  await sql(`insert into public.${table} (id, title) values (1, 'a')`);
  assert.deepEqual(await sql(`select updated_at is not null as stamped from public.${table}`), [{ stamped: true }]);
  await screenshotBothThemes(page, 'database-triggers');
  await trow.getByRole('button', { name: `Disable trigger ${trigger}` }).click();
  await page.getByRole('status').filter({ hasText: `Trigger ${trigger} disabled.` }).waitFor();
  await trow.getByRole('cell', { name: 'disabled' }).waitFor();
  await sql(`insert into public.${table} (id, title) values (2, 'b')`);
  assert.deepEqual(await sql(`select updated_at is null as plain from public.${table} where id = 2`), [{ plain: true }]);
  await trow.getByRole('button', { name: `Delete trigger ${trigger}` }).click();
  await page.getByRole('dialog', { name: 'Delete this trigger?' }).getByRole('button', { name: 'Delete trigger' }).click();
  await trow.waitFor({ state: 'detached' });

  await openDatabase(page, 'Indexes');
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByTestId('indexes').getByRole('row').filter({ hasText: 'primary key' }).waitFor();
  await page.getByLabel('Index name').fill(index);
  await page.getByLabel(/^Columns/).fill('title');
  await page.getByLabel('Unique').check();
  await page.getByRole('button', { name: 'Create index' }).click();
  await page.getByRole('status').filter({ hasText: `Index ${index} created on public.${table}.` }).waitFor();
  const irow = page.getByTestId('indexes').getByRole('row').filter({ hasText: index });
  await irow.getByRole('cell', { name: 'unique', exact: true }).waitFor();
  assert.match((await sql(`select indexdef from pg_indexes where indexname = '${index}'`))[0].indexdef, /CREATE UNIQUE INDEX .* USING btree \(title\)/);
  await screenshotBothThemes(page, 'database-indexes');
  await irow.getByRole('button', { name: `Delete index ${index}` }).click();
  await page.getByRole('dialog', { name: 'Delete this index?' }).getByRole('button', { name: 'Delete index' }).click();
  await irow.waitFor({ state: 'detached' });
  assert.deepEqual(await sql(`select count(*)::int as n from pg_indexes where indexname = '${index}'`), [{ n: 0 }]);

  // The function goes last: PostgreSQL refuses to drop it while the trigger used it.
  await openDatabase(page, 'Functions');
  await page.getByRole('button', { name: `Delete function ${fn}` }).click();
  await page.getByRole('dialog', { name: 'Delete this function?' }).getByRole('button', { name: 'Delete function' }).click();
  await page.getByRole('status').filter({ hasText: `Function public.${fn} deleted.` }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('database: enable and disable an extension; realtime on and off per table', async () => {
  const table = unique('live').replace('-', '_');
  await sql(`create table public.${table} (id int primary key)`);
  const page = await newPage(browser);
  await signIn(page);
  await openDatabase(page, 'Extensions');
  await page.getByLabel('Search extensions').fill('pg_trgm');
  const xrow = page.getByTestId('extensions').getByRole('row').filter({ hasText: 'pg_trgm' });
  await xrow.getByRole('cell', { name: 'disabled' }).waitFor();
  await xrow.getByRole('button', { name: 'Enable pg_trgm' }).click();
  await page.getByRole('status').filter({ hasText: /Extension pg_trgm enabled in \w+\./ }).waitFor();
  await xrow.getByRole('cell', { name: /^enabled in/ }).waitFor();
  assert.deepEqual(await sql(`select count(*)::int as n from pg_extension where extname = 'pg_trgm'`), [{ n: 1 }]);
  await screenshotBothThemes(page, 'database-extensions');
  await xrow.getByRole('button', { name: 'Disable pg_trgm' }).click();
  await page.getByRole('dialog', { name: 'Disable this extension?' }).getByRole('button', { name: 'Disable extension' }).click();
  await xrow.getByRole('cell', { name: 'disabled' }).waitFor();
  assert.deepEqual(await sql(`select count(*)::int as n from pg_extension where extname = 'pg_trgm'`), [{ n: 0 }]);

  await openDatabase(page, 'Publications');
  await page.getByTestId('publications').getByRole('row').filter({ hasText: 'supabase_realtime' }).waitFor();
  const rrow = page.getByTestId('realtime-tables').getByRole('row').filter({ hasText: `public.${table}` });
  await rrow.getByRole('button', { name: `Turn on realtime for public.${table}` }).click();
  await page.getByRole('status').filter({ hasText: `Realtime on for public.${table}.` }).waitFor();
  await rrow.getByRole('cell', { name: 'on', exact: true }).waitFor();
  const published = () => sql(`select count(*)::int as n from pg_publication_tables where pubname = 'supabase_realtime' and tablename = '${table}'`);
  assert.deepEqual(await published(), [{ n: 1 }]);
  await screenshotBothThemes(page, 'database-publications');
  await rrow.getByRole('button', { name: `Turn off realtime for public.${table}` }).click();
  await rrow.getByRole('cell', { name: 'off', exact: true }).waitFor();
  assert.deepEqual(await published(), [{ n: 0 }]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('database: a moderator reads the objects but has no controls, and the server refuses its changes', async () => {
  const who = await makeAdmin('moderator');
  const page = await newPage(browser);
  await signIn(page, who);
  await openDatabase(page, 'Roles');
  await page.getByTestId('roles').getByRole('row').filter({ hasText: 'authenticated' }).first().waitFor();
  assert.equal(await page.getByText('Create a role').count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Delete role/ }).count(), 0);
  const status = await page.evaluate(async () => {
    const me = await (await fetch('/admin/v1/me')).json();
    const res = await fetch('/pg/roles', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ name: 'sneaky' }) });
    return res.status;
  });
  assert.equal(status, 403);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
