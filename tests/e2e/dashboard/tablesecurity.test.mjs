// The table security page: an ownership config made in the page, previewed as SQL and
// applied, is what REST then enforces for signed-in users.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, anonKey, api, ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A confirmed user made through the admin API, signed in through auth: its id and token. */
async function user() {
  const token = await adminToken();
  const email = `${unique('owner')}@example.com`;
  const password = 'a-long-owner-password-1';
  const made = await api('POST', '/admin/v1/users', { email, password, email_confirm: true }, { Authorization: `Bearer ${token}` });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const signedIn = await api('POST', '/auth/v1/token?grant_type=password', { email, password }, { apikey: anonKey });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return { id: made.body.id, token: signedIn.body.access_token };
}

async function rest(path, who) {
  const res = await fetch(`${url}/rest/v1/${path}`, { headers: { apikey: anonKey, Authorization: `Bearer ${who.token}` } });
  return { status: res.status, body: await res.json() };
}

test('table security: an ownership config applied in the page is what REST enforces', async () => {
  const table = unique('notes').replace('-', '_');
  const [alice, bob] = [await user(), await user()];
  await sql(`create table public.${table} (id int primary key, owner_id uuid not null, body text, secret text);
    insert into public.${table} values (1, '${alice.id}', 'alice''s', 's1'), (2, '${bob.id}', 'bob''s', 's2'), (3, '${alice.id}', 'alice again', 's3');
    grant select, insert, update, delete on public.${table} to anon, authenticated;`);
  // Before: no row level security, every signed-in user reads every row (once REST's schema
  // cache, reloaded on DDL, knows the table: poll, bounded).
  let before;
  for (let i = 0; ; i++) {
    before = await rest(`${table}?select=id&order=id`, alice);
    if (before.status === 200) break;
    assert.ok(i < 100, JSON.stringify(before.body));
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(before.body, [{ id: 1 }, { id: 2 }, { id: 3 }]);

  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Table security' }).click();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByTestId('active').filter({ hasText: `public.${table} has no security configuration yet.` }).waitFor();
  const form = page.getByRole('form', { name: `Security of public.${table}` });
  await form.getByLabel('Require a signed-in user').check();
  await form.getByLabel('Users reach only their own rows').check();
  await form.getByLabel(/^Ownership column/).selectOption('owner_id');
  await form.getByLabel('Hide secret').check();
  // Apply stays off until the SQL was previewed.
  assert.equal(await form.getByRole('button', { name: 'Apply' }).isDisabled(), true);
  await form.getByRole('button', { name: 'Preview SQL' }).click();
  await page.getByRole('heading', { name: 'SQL that Apply will run' }).waitFor();
  const preview = await page.getByTestId('sql').textContent();
  assert.match(preview, /gf_read_own/);
  assert.match(preview, /auth\.uid\(\)/);
  // A dry run changed nothing.
  assert.deepEqual((await rest(`${table}?select=id&order=id`, alice)).body, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  await screenshotBothThemes(page, 'table-security');

  await form.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: `The security of public.${table} is applied` }).waitFor();
  await page.getByRole('heading', { name: 'SQL that ran' }).waitFor();
  await page.getByTestId('active').filter({ hasText: `public.${table} has a security configuration.` }).waitFor();

  // REST now gives each user their own rows only, hides the hidden column and refuses anon.
  assert.deepEqual((await rest(`${table}?select=id,body&order=id`, alice)).body, [{ id: 1, body: "alice's" }, { id: 3, body: 'alice again' }]);
  assert.deepEqual((await rest(`${table}?select=id,body&order=id`, bob)).body, [{ id: 2, body: "bob's" }]);
  // A hidden column does not exist for the API roles (REST's schema cache answers 42703).
  const secret = await rest(`${table}?select=secret`, alice);
  assert.equal(secret.status, 400, JSON.stringify(secret.body));
  assert.equal(secret.body.code, '42703');
  const anon = await rest(`${table}?select=id`, { token: anonKey });
  assert.equal(anon.status, 401, JSON.stringify(anon.body));
  // Writing a row owned by someone else is refused.
  const forged = await fetch(`${url}/rest/v1/${table}`, {
    method: 'POST',
    headers: { apikey: anonKey, Authorization: `Bearer ${alice.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 9, owner_id: bob.id, body: 'forged' }),
  });
  assert.equal(forged.status, 403, await forged.text());

  // Reloading the page shows the config as stored.
  await page.reload();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByTestId('active').filter({ hasText: 'has a security configuration.' }).waitFor();
  assert.equal(await form.getByLabel('Users reach only their own rows').isChecked(), true);
  assert.equal(await form.getByLabel('Hide secret').isChecked(), true);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('table security: a refused config is shown in words, and lower levels are told', async () => {
  const table = unique('plain').replace('-', '_');
  await sql(`create table public.${table} (id int primary key, note text);`);
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Table security' }).click();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  const form = page.getByRole('form', { name: `Security of public.${table}` });
  // The ownership column must hold a user's id: an integer one is refused (validation_failed).
  await form.getByLabel('Users reach only their own rows').check();
  await form.getByLabel(/^Ownership column/).selectOption('id');
  await form.getByRole('button', { name: 'Preview SQL' }).click();
  await page.getByRole('alert').filter({ hasText: "api_config.ownership_column: id is of type integer; it must be uuid or text, holding the user's id" }).waitFor();
  assert.equal(await form.getByRole('button', { name: 'Apply' }).isDisabled(), true);
  assert.deepEqual(page.problems, []);
  await page.context().close();

  const regular = await makeAdmin('regular_admin');
  const page2 = await newPage(browser);
  await signIn(page2, regular);
  assert.equal(await page2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Table security' }).count(), 0);
  await page2.goto(`${url}/table-security`);
  await page2.getByRole('alert').filter({ hasText: 'does not give access to this page' }).waitFor();
  await page2.context().close();
});
