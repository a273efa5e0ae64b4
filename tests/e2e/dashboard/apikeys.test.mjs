// The API keys page: a publishable key created in the page (shown once, copied) works against
// REST, and once revoked in the page the same request is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function rest(path, key) {
  const res = await fetch(`${url}/rest/v1/${path}`, { headers: { apikey: key, Authorization: `Bearer ${key}` } });
  return { status: res.status, body: await res.json() };
}

test('api keys: create a publishable key, use it against REST, revoke it', async () => {
  const table = unique('keyed').replace('-', '_');
  await sql(`create table public.${table} (id int primary key); insert into public.${table} values (1), (2); grant select on public.${table} to anon;`);
  const name = unique('web');
  const page = await newPage(browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  await page.getByText('Create a key').click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Kind').selectOption('publishable');
  await page.getByRole('checkbox', { name: 'rest' }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByTestId('new-key');
  await shown.getByRole('heading', { name: `Key “${name}” created` }).waitFor();
  const key = await page.getByLabel('The new publishable key').inputValue();
  assert.match(key, /^gf_pub_[0-9A-Za-z]{43}$/);
  await shown.getByRole('button', { name: 'Copy key' }).click();
  await shown.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  const row = page.getByTestId('api-keys').getByRole('row').filter({ hasText: name });
  await row.getByRole('cell', { name: 'rest; all tables' }).waitFor();
  await row.getByRole('cell', { name: key.slice(0, 13) + '…' }).waitFor();
  await screenshotBothThemes(page, 'api-keys');

  const ok = await rest(`${table}?select=id&order=id`, key);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body, [{ id: 1 }, { id: 2 }]);
  // The key's scope holds: it may call REST only.
  const auth = await fetch(`${url}/auth/v1/settings`, { headers: { apikey: key } });
  assert.equal(auth.status, 403);

  // Shown once: after "I have stored it" the key is nowhere on the page, even after a reload.
  await shown.getByRole('button', { name: 'I have stored it' }).click();
  await shown.waitFor({ state: 'detached' });
  await page.reload();
  await row.waitFor();
  assert.ok(!(await page.content()).includes(key), 'the key is not shown again');

  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
  await dialog.getByText(`“${name}”`).waitFor();
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  await page.getByRole('status').filter({ hasText: `Key ${name} revoked` }).waitFor();
  await row.waitFor({ state: 'detached' });
  await page.getByLabel('Show revoked keys').check();
  await row.getByText('revoked').waitFor();

  // Every node drops the key within a second of the change (docs/apikeys.md): poll, bounded.
  let refused;
  for (let i = 0; ; i++) {
    refused = await rest(`${table}?select=id`, key);
    if (refused.status !== 200) break;
    assert.ok(i < 100, 'the revoked key still worked');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('api keys: a bad request and a level without access are shown in words', async () => {
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  await page.getByText('Create a key').click();
  // A table scope naming the admin service is refused by the API (validation_failed).
  await page.getByLabel('Name').fill(unique('bad'));
  await page.getByRole('checkbox', { name: 'admin' }).check();
  await page.getByLabel(/^Tables/).fill('public.orders');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('alert').filter({ hasText: 'scopes.services: admin reaches every table' }).waitFor();
  assert.equal(await page.getByTestId('new-key').count(), 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();

  // A regular admin has no can_manage_system: no link, and the page says so.
  const regular = await makeAdmin('regular_admin');
  const page2 = await newPage(browser);
  await signIn(page2, regular);
  assert.equal(await page2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).count(), 0);
  await page2.goto(`${url}/api-keys`);
  await page2.getByRole('alert').filter({ hasText: 'does not give access to this page' }).waitFor();
  assert.deepEqual(page2.problems, []);
  await page2.context().close();
});
