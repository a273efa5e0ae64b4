// The table editor: create a table, insert, edit and delete rows through postgrest-js on
// /admin/v1/rest/v1, foreign-key links, filters, sort and a virtualised grid of 10,000 rows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, ensureFirstAdmin, launch, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('create a table, insert a row, edit a cell and delete the row', async () => {
  const name = unique('authors').replace('-', '_');
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Table editor' }).click();
  await page.getByRole('heading', { name: 'New table in public' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Add column' }).click();
  await page.getByLabel('Column 2 name').fill('name');
  await page.getByLabel('Column 2 type').fill('text');
  await page.getByLabel('Column 2 nullable').uncheck();
  await page.getByRole('button', { name: 'Add column' }).click();
  await page.getByLabel('Column 3 name').fill('tags');
  await page.getByLabel('Column 3 type').fill('jsonb');
  await screenshotBothThemes(page, 'table-create');
  await page.getByRole('button', { name: 'Create table' }).click();
  await page.getByRole('heading', { name: `public.${name}` }).waitFor();
  await page.getByTestId('row-count').filter({ hasText: '0 rows' }).waitFor();

  // Insert: the identity column is left to its default; JSON is checked before it is sent.
  await page.getByRole('button', { name: 'Insert row' }).click();
  await page.getByLabel(/^name/).fill('Ursula');
  await page.getByLabel(/^tags/).fill('{not json');
  await page.getByRole('button', { name: 'Save row' }).click();
  await page.getByRole('alert').filter({ hasText: 'tags takes JSON' }).waitFor();
  await page.getByLabel(/^tags/).fill('["sf", "fantasy"]');
  await page.getByRole('button', { name: 'Save row' }).click();
  await page.getByRole('status').filter({ hasText: 'Row inserted.' }).waitFor();
  await page.getByTestId('row-count').filter({ hasText: '1 row' }).waitFor();
  await page.getByRole('cell', { name: 'Ursula' }).waitFor();

  // Inline edit: double-click, type, Enter.
  await page.getByRole('cell', { name: 'Ursula' }).dblclick();
  await page.getByLabel('New value of name').fill('Ursula K. Le Guin');
  await page.getByLabel('New value of name').press('Enter');
  await page.getByRole('cell', { name: 'Ursula K. Le Guin' }).waitFor();
  const stored = await sql(`select name, tags from public.${name}`);
  assert.deepEqual(stored, [{ name: 'Ursula K. Le Guin', tags: ['sf', 'fantasy'] }]);

  // A NOT NULL violation comes back in words.
  await page.getByRole('cell', { name: 'Ursula K. Le Guin' }).dblclick();
  await page.getByLabel('New value of name').fill('NULL');
  await page.getByLabel('New value of name').press('Enter');
  await page.getByRole('alert').filter({ hasText: /null value in column "name"/ }).waitFor();
  await page.getByLabel('New value of name').press('Escape');
  await screenshotBothThemes(page, 'table-editor');

  // Alter: a column added, row-level security turned off (it was created on).
  await page.getByRole('button', { name: 'Add column' }).click();
  await page.getByLabel('Column name', { exact: true }).fill('born');
  await page.getByLabel('Column type', { exact: true }).fill('int4');
  await page.getByRole('button', { name: 'Save column' }).click();
  await page.getByRole('status').filter({ hasText: 'Column born added.' }).waitFor();
  await page.getByRole('columnheader', { name: /^born/ }).waitFor();
  assert.deepEqual(await sql(`select relrowsecurity as rls from pg_class where oid = 'public.${name}'::regclass`), [{ rls: true }]);
  await page.getByRole('button', { name: 'Turn row-level security off' }).click();
  await page.getByRole('button', { name: 'Turn row-level security on' }).waitFor();
  assert.deepEqual(await sql(`select relrowsecurity as rls from pg_class where oid = 'public.${name}'::regclass`), [{ rls: false }]);

  // Realtime: the table joins and leaves the supabase_realtime publication.
  const published = async () => (await sql(`select count(*)::int as n from pg_publication_tables where pubname = 'supabase_realtime' and tablename = '${name}'`))[0].n;
  assert.equal(await published(), 0);
  await page.getByRole('button', { name: 'Turn realtime on' }).click();
  await page.getByRole('button', { name: 'Turn realtime off' }).waitFor();
  assert.equal(await published(), 1);
  await page.getByRole('button', { name: 'Turn realtime off' }).click();
  await page.getByRole('button', { name: 'Turn realtime on' }).waitFor();
  assert.equal(await published(), 0);

  // Delete asks first; cancelling keeps the row.
  await page.getByRole('button', { name: 'Delete row 1' }).click();
  await page.getByRole('dialog', { name: 'Delete this row?' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await sql(`select count(*)::int as n from public.${name}`))[0].n, 1);
  await page.getByRole('button', { name: 'Delete row 1' }).click();
  await page.getByRole('button', { name: 'Delete row', exact: true }).click();
  await page.getByTestId('row-count').filter({ hasText: '0 rows' }).waitFor();
  assert.equal((await sql(`select count(*)::int as n from public.${name}`))[0].n, 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a foreign-key value links to the row it points at', async () => {
  const authors = unique('fk_authors').replace('-', '_');
  const books = unique('fk_books').replace('-', '_');
  await sql(`create table public.${authors} (id int8 primary key, name text);
    create table public.${books} (id int8 primary key, title text, author_id int8 references public.${authors}(id));
    insert into public.${authors} values (1, 'Octavia'), (2, 'Iain');
    insert into public.${books} values (10, 'Kindred', 1), (11, 'Excession', 2);`);
  const page = await newPage(browser);
  await signIn(page);
  await page.goto(`${url}/tables?schema=public&table=${books}`);
  await page.getByRole('heading', { name: `public.${books}` }).waitFor();
  await page.getByRole('link', { name: '2', exact: true }).click();
  await page.getByRole('heading', { name: `public.${authors}` }).waitFor();
  await page.getByTestId('row-count').filter({ hasText: '1 row match the filter' }).waitFor();
  await page.getByRole('cell', { name: 'Iain' }).waitFor();
  assert.equal(await page.getByRole('cell', { name: 'Octavia' }).count(), 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('ten thousand rows: virtualised, filtered and sorted', async () => {
  const big = unique('big').replace('-', '_');
  await sql(`create table public.${big} (id int8 primary key, label text);
    insert into public.${big} select g, 'row ' || g from generate_series(1, 10000) g;`);
  const page = await newPage(browser);
  await signIn(page);
  await page.goto(`${url}/tables?schema=public&table=${big}`);
  await page.getByTestId('row-count').filter({ hasText: '10000 rows' }).waitFor();
  await page.getByLabel('Rows per page').selectOption('10000');
  // Read in ranges of rest.max_rows, with the progress shown.
  await page.getByTestId('row-count').filter({ hasText: /^10000 rows/ }).waitFor();
  await page.getByRole('cell', { name: 'row 1', exact: true }).waitFor();
  // Only the rows in view are in the page, however many were loaded.
  const rendered = await page.locator('.grid-body [role=row]').count();
  assert.ok(rendered > 10 && rendered < 100, `rows in the DOM: ${rendered}`);
  // The frame rate while scrolling all 10,000 rows, 20 rows a frame, as a figure for
  // bench/RESULTS.md (written as an artifact and printed; not asserted: it depends on the machine).
  const fps = await page.locator('.grid-body').evaluate((el) => new Promise((resolve) => {
    const gaps = [];
    let last = performance.now();
    const start = last;
    const tick = (now) => {
      gaps.push(now - last);
      last = now;
      el.scrollTop += 20 * 34;
      if (el.scrollTop + el.clientHeight < el.scrollHeight - 1) return requestAnimationFrame(tick);
      gaps.sort((a, b) => a - b);
      resolve({ frames: gaps.length, seconds: (now - start) / 1000, fps: gaps.length / ((now - start) / 1000),
        p95_ms: gaps[Math.floor(gaps.length * 0.95)], max_ms: gaps[gaps.length - 1], over_50ms: gaps.filter((g) => g > 50).length });
    };
    requestAnimationFrame(tick);
  }));
  writeFileSync(join(artifacts, 'grid-scroll-fps.json'), JSON.stringify(fps, null, 2));
  console.log(`grid scroll over 10,000 rows: ${JSON.stringify(fps)}`);
  assert.ok(fps.frames > 10, 'the grid was scrolled frame by frame');
  await page.getByRole('cell', { name: 'row 10000', exact: true }).waitFor();
  assert.ok((await page.locator('.grid-body [role=row]').count()) < 100);

  await page.getByLabel(/^Column/).selectOption('id');
  await page.getByLabel('Operator').selectOption('gt');
  await page.getByLabel('Value').fill('9995');
  await page.getByRole('button', { name: 'Apply filter' }).click();
  await page.getByTestId('row-count').filter({ hasText: '5 rows match the filter' }).waitFor();
  await page.getByRole('button', { name: /^label/ }).click();
  await page.getByRole('button', { name: /^label/ }).click();
  await page.getByRole('columnheader', { name: /label/ }).and(page.locator('[aria-sort=descending]')).waitFor();
  // The header shows the order at once; the rows follow when the sorted page arrives.
  const firstCell = page.locator('.grid-body [role=row]').first().locator('[role=cell]').nth(1);
  const deadline = Date.now() + 10000;
  while ((await firstCell.textContent()) !== 'row 9999' && Date.now() < deadline) {
    await page.waitForTimeout(50);
  }
  assert.equal(await firstCell.textContent(), 'row 9999', 'text sort descending: "row 9999" > "row 10000"');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('create a table with a foreign key, then a many-to-many relationship with its junction table', async () => {
  const authors = unique('m_authors').replace('-', '_');
  const books = unique('m_books').replace('-', '_');
  const tags = unique('m_tags').replace('-', '_');
  await sql(`create table public.${authors} (id int8 primary key, name text); insert into public.${authors} values (7, 'Ursula');
    create table public.${tags} (slug text primary key);`);
  const page = await newPage(browser);
  await signIn(page);
  await page.goto(`${url}/tables?schema=public`);
  await page.getByRole('heading', { name: 'New table in public' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill(books);
  await page.getByRole('button', { name: 'Add column' }).click();
  await page.getByLabel('Column 2 name').fill('author_id');
  await page.getByLabel('Column 2 type').fill('int8');
  await page.getByLabel('Column 2 references').fill(`public.${authors}.id`);
  await page.getByRole('button', { name: 'Create table' }).click();
  await page.getByRole('heading', { name: `public.${books}` }).waitFor();
  assert.deepEqual(await sql(`select confrelid::regclass::text as target from pg_constraint where conrelid = 'public.${books}'::regclass and contype = 'f'`),
    [{ target: authors }]);

  await page.getByRole('button', { name: 'Link many-to-many…' }).click();
  await page.getByLabel('Other table').selectOption(`public.${tags}`);
  await page.getByRole('button', { name: 'Create junction table' }).click();
  await page.getByRole('status').filter({ hasText: `Junction table public.${books}_${tags} created` }).waitFor();
  const fks = await sql(`select confrelid::regclass::text as target from pg_constraint where conrelid = 'public.${books}_${tags}'::regclass and contype = 'f' order by 1`);
  assert.deepEqual(fks.map((r) => r.target).sort(), [books, tags].sort());
  const pk = await sql(`select array_length(conkey, 1) as n from pg_constraint where conrelid = 'public.${books}_${tags}'::regclass and contype = 'p'`);
  assert.deepEqual(pk, [{ n: 2 }]);
  await screenshotBothThemes(page, 'table-relationships');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
