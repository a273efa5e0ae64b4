// Smaller pieces of the pages: the home page's open alerts, removing a table's security
// configuration (previewed, confirmed), and a new migration written and applied.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, api, ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('home: the open alerts are those the API lists', async () => {
  const page = await newPage(browser);
  await signIn(page);
  const recent = page.getByTestId('recent-alerts');
  await recent.waitFor();
  const token = await adminToken();
  const open = await api('GET', '/admin/v1/alerts?status=open&limit=5', undefined, { Authorization: `Bearer ${token}` });
  assert.equal(open.status, 200);
  if (open.body.alerts.length === 0) {
    assert.equal(await recent.textContent(), 'No open alerts.');
  } else {
    assert.equal(await recent.locator('tbody tr').count(), open.body.alerts.length);
    await recent.getByRole('cell', { name: open.body.alerts[0].rule }).first().waitFor();
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('table security: a configuration is removed after its SQL was shown and confirmed', async () => {
  const table = unique('guarded').replace('-', '_');
  await sql(`create table public.${table} (id int primary key, body text)`);
  const token = await adminToken();
  const put = await api('PUT', `/admin/v1/tables/public.${table}/security`, { api_config: { require_auth: true } }, { Authorization: `Bearer ${token}` });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Table security' }).click();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  await page.getByTestId('active').filter({ hasText: `public.${table} has a security configuration.` }).waitFor();
  await page.getByRole('button', { name: 'Remove configuration…' }).click();
  const dialog = page.getByRole('dialog', { name: "Remove this table's security configuration?" });
  await dialog.waitFor();
  await page.getByRole('heading', { name: 'SQL that the removal will run' }).waitFor();
  assert.match(await page.getByTestId('sql').textContent(), new RegExp(table));
  // Still there while only previewed.
  assert.equal((await api('GET', `/admin/v1/tables/public.${table}/security`, undefined, { Authorization: `Bearer ${token}` })).body.is_active, true);
  await dialog.getByRole('button', { name: 'Remove configuration' }).click();
  await page.getByRole('status').filter({ hasText: `The security configuration of public.${table} is removed` }).waitFor();
  await page.getByTestId('active').filter({ hasText: 'has no security configuration yet.' }).waitFor();
  const after = await api('GET', `/admin/v1/tables/public.${table}/security`, undefined, { Authorization: `Bearer ${token}` });
  assert.ok(after.status === 404 || after.body.is_active === false, JSON.stringify(after.body));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('migrations: a new migration is written and applied from the page', async () => {
  const name = unique('add_ledger').replace('-', '_');
  const table = `${name}_t`;
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Migrations' }).click();
  await page.getByText('New migration').click();
  await page.getByLabel('Migration name').fill(name);
  await page.getByLabel('Up SQL').fill(`create table public.${table} (id int primary key);`);
  await page.getByLabel(/^Down SQL/).fill(`drop table public.${table};`);
  await page.getByLabel('Then').selectOption('apply');
  await screenshotBothThemes(page, 'migrations-new');
  await page.getByRole('button', { name: 'Create migration' }).click();
  await page.getByRole('status').filter({ hasText: new RegExp(`Migration \\d+_${name} written and applied\\.`) }).waitFor();
  const row = page.getByTestId('migrations').getByRole('row').filter({ hasText: name });
  await row.getByText('applied').waitFor();
  await row.getByRole('cell', { name: 'yes' }).waitFor();
  assert.deepEqual(await sql(`select count(*)::int as n from pg_tables where tablename = '${table}'`), [{ n: 1 }]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('users: a system admin sees the auth settings of the effective configuration; a super admin does not', async () => {
  const token = await adminToken();
  const settings = await api('GET', '/admin/v1/settings', undefined, { Authorization: `Bearer ${token}` });
  assert.equal(settings.status, 200);
  const auth = settings.body.config.auth;
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  const dl = page.getByTestId('auth-settings');
  await dl.waitFor();
  const value = async (term) => (await dl.locator('div').filter({ has: page.getByText(term, { exact: true }) }).locator('dd').textContent());
  assert.equal(await value('Minimum password length'), String(auth.password_min_length));
  assert.equal(await value('New users may sign up'), auth.disable_signup ? 'no' : 'yes');
  assert.equal(await value('Site URL'), auth.site_url);
  await screenshotBothThemes(page, 'users-auth-settings');
  assert.deepEqual(page.problems, []);
  await page.context().close();

  const superAdmin = await makeAdmin('super_admin');
  const page2 = await newPage(browser);
  await signIn(page2, superAdmin);
  await page2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await page2.getByRole('button', { name: 'Search' }).waitFor();
  assert.equal(await page2.getByRole('heading', { name: 'Auth settings' }).count(), 0);
  assert.deepEqual(page2.problems, []);
  await page2.context().close();
});

test('table security: allowed roles, an IP allow-list, a rate limit and audit actions go into the config', async () => {
  const table = unique('limited').replace('-', '_');
  await sql(`create table public.${table} (id int primary key, body text)`);
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Table security' }).click();
  await page.getByRole('combobox', { name: /^Table/ }).selectOption(`public.${table}`);
  const form = page.getByRole('form', { name: `Security of public.${table}` });
  await form.getByLabel('Require a signed-in user').check();
  await form.getByLabel(/^Allowed roles/).fill('authenticated');
  await form.getByLabel(/^IP allow-list/).fill('10.0.0.0/8, 127.0.0.0/8');
  await form.getByLabel(/^Rate limit/).fill('120');
  await form.getByLabel(/^Burst/).fill('20');
  await form.getByLabel('Audit update').check();
  await form.getByLabel('Audit delete').check();
  await form.getByRole('button', { name: 'Preview SQL' }).click();
  await page.getByRole('heading', { name: 'SQL that Apply will run' }).waitFor();
  assert.match(await page.getByTestId('sql').textContent(), /gf_ip_allowlist/);
  await form.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: `The security of public.${table} is applied` }).waitFor();
  const token = await adminToken();
  const stored = await api('GET', `/admin/v1/tables/public.${table}/security`, undefined, { Authorization: `Bearer ${token}` });
  assert.equal(stored.status, 200);
  assert.deepEqual(stored.body.api_config.allowed_roles, ['authenticated']);
  assert.deepEqual(stored.body.api_config.ip_whitelist, ['10.0.0.0/8', '127.0.0.0/8']);
  assert.deepEqual(stored.body.api_config.rate_limit, { requests_per_minute: 120, burst: 20 });
  assert.deepEqual(stored.body.audit_config, { enabled: true, actions: ['update', 'delete'] });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
