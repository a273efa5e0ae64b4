// The SQL editor: results with types, the confirmation that names a DROP, and the refusal of a
// regular admin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, api, ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('run SQL, see typed results, and be asked to confirm a DROP', async () => {
  const table = unique('sql_t').replace('-', '_');
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'SQL editor' }).click();
  const editor = page.getByLabel('SQL (select text to run only that)');
  await editor.fill(`create table public.${table} (id int4, note text);\ninsert into public.${table} values (1, 'one'), (2, 'two');\nselect * from public.${table} order by id;`);
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('result-summary').filter({ hasText: 'SELECT: 2 rows' }).waitFor();
  await page.getByText('id: int4 · note: text').waitFor();
  await page.getByRole('cell', { name: 'two' }).waitFor();
  await screenshotBothThemes(page, 'sql-editor');

  await editor.fill(`drop table public.${table};`);
  await page.getByRole('button', { name: 'Run all' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run dangerous SQL?' });
  await dialog.waitFor();
  await dialog.getByTestId('dangerous').filter({ hasText: 'drop' }).waitFor();
  await screenshotBothThemes(page, 'sql-confirm');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await sql(`select count(*)::int as n from public.${table}`))[0].n, 2, 'cancelled: the table is still there');

  await page.getByRole('button', { name: 'Run all' }).click();
  await dialog.getByRole('button', { name: 'Run it: drop' }).click();
  await page.getByTestId('result-summary').filter({ hasText: 'DROP TABLE' }).waitFor();
  assert.deepEqual(await sql(`select to_regclass('public.${table}') as t`), [{ t: null }]);

  // A PostgreSQL error is shown in its words.
  await editor.fill('select * from no_such_table;');
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByRole('alert').filter({ hasText: 'relation "no_such_table" does not exist' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a regular admin has no SQL editor, and the server refuses it too', async () => {
  const who = await makeAdmin('regular_admin');
  const page = await newPage(browser);
  await signIn(page, who);
  const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  assert.ok(!links.includes('SQL editor'), links.join(', '));
  await page.goto(url + '/sql');
  await page.getByRole('alert').filter({ hasText: 'does not give access' }).waitFor();
  const status = await page.evaluate(async () => {
    const me = await (await fetch('/admin/v1/me')).json();
    const res = await fetch('/pg/query', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ query: 'select 1' }),
    });
    return res.status;
  });
  assert.equal(status, 403);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
