// Home, admins, users, migrations, settings and the audit log, each in a real browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminToken, api, ensureFirstAdmin, firstAdmin, launch, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('home shows health, versions and row counts', async () => {
  const table = unique('counted').replace('-', '_');
  await sql(`create table public.${table} (id int primary key); insert into public.${table} select generate_series(1, 42); analyze public.${table};`);
  // PostgreSQL publishes its row statistics a moment after the insert: wait for them (a
  // bounded poll, spaced well below the gateway's rate limit; reloading the page instead
  // fetched every route's prefetch and ran into it), then open the page once.
  for (let i = 0; ; i++) {
    const [row] = await sql(`select pg_stat_get_live_tuples('public.${table}'::regclass) as n`);
    if (Number(row?.n) === 42) break;
    assert.ok(i < 100, 'the statistics never counted 42 rows');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const page = await newPage(browser);
  await signIn(page);
  await page.getByTestId('health').filter({ hasText: 'Ready' }).waitFor();
  await page.getByTestId('server').filter({ hasText: 'development' }).waitFor();
  await page.getByTestId('server').filter({ hasText: /PostgreSQL\s*\d+/ }).waitFor();
  await page.getByTestId('row-counts').getByRole('row', { name: `public.${table} 42` }).waitFor();
  await screenshotBothThemes(page, 'home');
  // A phone-sized screen gets the same page, navigation on top.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).waitFor();
  await page.screenshot({ path: `${process.env.GOFORWARD_ARTIFACTS ?? 'artifacts'}/home-phone.png`, fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('admins: add a moderator, change its level, revoke it', async () => {
  const email = `${unique('mod')}@example.com`;
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Admins' }).click();
  await page.getByTestId('admins').filter({ hasText: firstAdmin.email }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill('a-long-moderator-password');
  await page.locator('form.card').getByLabel(/^Level/).selectOption('moderator');
  await page.getByRole('button', { name: 'Add admin' }).click();
  await page.getByRole('status').filter({ hasText: `${email} is now a moderator (a new user was created).` }).waitFor();
  await screenshotBothThemes(page, 'admins');
  await page.getByLabel(`Level of ${email}`).selectOption('regular_admin');
  await page.getByRole('status').filter({ hasText: `${email} is now a regular admin` }).waitFor();
  const row = page.getByRole('row').filter({ hasText: email });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog', { name: 'Revoke this admin?' }).getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('status').filter({ hasText: `${email} is no longer an admin.` }).waitFor();
  await row.getByText('revoked').waitFor();
  const signIn2 = await api('POST', '/admin/v1/sessions', { email, password: 'a-long-moderator-password' });
  assert.equal(signIn2.status, 403, 'a revoked admin cannot sign in');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('users: create, search, ban, sign out everywhere, delete', async () => {
  const email = `${unique('user')}@example.com`;
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByText('Create a user').click();
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill('a-long-user-password-1');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('status').filter({ hasText: `User ${email} created.` }).waitFor();
  await page.getByLabel('Search users by email').fill(email.split('@')[0]);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('status').filter({ hasText: /^1 user$/ }).waitFor();
  const row = page.getByRole('row').filter({ hasText: email });
  await row.getByRole('button', { name: 'Ban' }).click();
  await row.getByText('banned').waitFor();
  await screenshotBothThemes(page, 'users');
  const refused = await api('POST', '/auth/v1/token?grant_type=password', { email, password: 'a-long-user-password-1' }, { apikey: process.env.GOFORWARD_ANON_KEY });
  assert.equal(refused.status, 400, 'a banned user cannot sign in');
  await row.getByRole('button', { name: 'Unban' }).click();
  await row.getByRole('button', { name: 'Ban' }).waitFor();
  await row.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.getByRole('status').filter({ hasText: 'signed out everywhere' }).waitFor();
  await row.getByRole('button', { name: 'Unlock' }).click();
  await page.getByRole('status').filter({ hasText: 'sign-in lockout cleared' }).waitFor();
  await row.getByRole('button', { name: 'Reset MFA' }).click();
  await page.getByRole('status').filter({ hasText: 'second factors removed' }).waitFor();
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete this user?' }).getByRole('button', { name: 'Delete user' }).click();
  await page.getByRole('status').filter({ hasText: /^0 users$/ }).waitFor();
  assert.deepEqual(await sql(`select count(*)::int as n from auth.users where email = '${email}'`), [{ n: 0 }]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('migrations: a pending migration is shown and applied after its SQL is shown', async () => {
  const name = unique('add_notes').replace('-', '_');
  const token = await adminToken();
  const made = await api('POST', '/admin/v1/migrations', { name, up: `create table public.${name} (id int);` }, { Authorization: `Bearer ${token}` });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Migrations' }).click();
  const row = page.getByRole('row').filter({ hasText: name });
  await row.getByText('pending').waitFor();
  await screenshotBothThemes(page, 'migrations');
  await page.getByRole('button', { name: 'Apply pending…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Apply these migrations?' });
  await dialog.getByText(`create table public.${name}`).waitFor();
  await dialog.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('status').filter({ hasText: new RegExp(`^Applied .*${made.body.version}_${name}`) }).waitFor();
  await row.getByText('applied').waitFor();
  assert.deepEqual(await sql(`select to_regclass('public.${name}')::text as t`), [{ t: name }]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('settings show the configuration with secrets redacted', async () => {
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Settings' }).click();
  const text = await page.getByTestId('settings').textContent();
  assert.match(text, /"environment": "development"|"port"/);
  assert.ok(!text.includes(process.env.GOFORWARD_ANON_KEY ?? 'no key'), 'no key in the settings');
  await screenshotBothThemes(page, 'settings');
  await page.context().close();
});

test('audit log: filter, verification status and CSV/NDJSON export', async () => {
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByTestId('verify').filter({ hasText: 'Chain verified' }).waitFor();
  await page.getByLabel(/^Action/).fill('admin.sign_in');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByTestId('audit').getByRole('row').filter({ hasText: 'admin.sign_in' }).first().waitFor();
  const actions = await page.getByTestId('audit').locator('tbody tr td:nth-child(3)').allTextContents();
  assert.ok(actions.length > 0 && actions.every((a) => a === 'admin.sign_in'), actions.join(','));
  await screenshotBothThemes(page, 'audit');

  for (const [label, check] of [
    ['Export CSV', (body) => assert.match(body.split('\n')[0], /^id,occurred_at,/)],
    ['Export NDJSON', (body) => assert.equal(JSON.parse(body.trim().split('\n')[0]).action, 'admin.sign_in')],
  ]) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: label }).click()]);
    const body = readFileSync(await download.path(), 'utf8');
    check(body);
    assert.ok(body.includes('admin.sign_in') && !body.includes('user.create'), `${label}: the filter applies`);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
