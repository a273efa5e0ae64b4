// Sign-in, the first admin, the second factor, sign-out and the session's end, in a real
// browser against a real goforward.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adminToken, anonKey, api, ensureFirstAdmin, firstAdmin, launch, newPage, screenshotBothThemes, signIn, totp, unique, url,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the first admin is made on the sign-in page in development, and the session is an HttpOnly cookie', async () => {
  const page = await newPage(browser);
  await page.goto(url + '/');
  // No session: the home page sends the visitor to sign in, which offers the first admin.
  await page.waitForURL(url + '/signin');
  const state = await api('GET', '/admin/v1/setup');
  if (!state.body.first_admin_needed) {
    // Another file ran first and made the admin through the API; the form is not offered.
    await page.getByRole('heading', { name: 'Sign in to Go Forward' }).waitFor();
    return;
  }
  await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
  await screenshotBothThemes(page, 'first-admin');
  await page.getByLabel('Email').fill(firstAdmin.email);
  await page.getByLabel('Password', { exact: true }).fill(firstAdmin.password);
  await page.getByLabel('Password again').fill(firstAdmin.password + 'x');
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The two passwords differ' }).waitFor();
  await page.getByLabel('Password again').fill(firstAdmin.password);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await page.getByTestId('who').filter({ hasText: firstAdmin.email }).waitFor();
  await page.getByTestId('who').filter({ hasText: 'system admin' }).waitFor();

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'goforward_admin_session');
  assert.ok(session, 'the session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  // The page's script never holds the session token: nothing in web storage, and document.cookie
  // does not show it.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(session.value) && !stored.includes('gfa_'), stored);
  assert.deepEqual(page.problems, []);

  // Once made, the form is gone for good.
  const again = await api('GET', '/admin/v1/setup');
  assert.equal(again.body.first_admin_needed, false);
  await page.context().close();
});

test('sign-out ends the session; signing in again with the password works', async () => {
  await ensureFirstAdmin();
  const page = await newPage(browser);
  await signIn(page);
  await page.getByTestId('server').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Go Forward' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/admin/v1/me')).status);
  assert.equal(status, 401, 'the cookie no longer opens a session');
  assert.equal((await page.context().cookies()).find((c) => c.name === 'goforward_admin_session'), undefined);

  await page.getByLabel('Email').fill(firstAdmin.email);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid login credentials' }).waitFor();
  await screenshotBothThemes(page, 'signin');
  await page.getByLabel('Password', { exact: true }).fill(firstAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a session that ends sends the admin to sign in, and back to the page after', async () => {
  await ensureFirstAdmin();
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByTestId('users').waitFor();
  await page.getByLabel('Search users by email').fill('first-admin');

  // The session is revoked from elsewhere (another session of the same admin).
  const me = await page.evaluate(async () => (await fetch('/admin/v1/me')).json());
  const token = await adminToken();
  const revoked = await api('DELETE', `/admin/v1/sessions/${me.session.id}`, undefined, { Authorization: `Bearer ${token}` });
  assert.equal(revoked.status, 204, JSON.stringify(revoked.body));

  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\/signin\?expired=1$/);
  await page.getByText('Your session ended.').waitFor();
  await page.getByLabel('Email').fill(firstAdmin.email);
  await page.getByLabel('Password', { exact: true }).fill(firstAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url + '/users');
  await page.getByTestId('users').waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('an admin with a TOTP factor signs in with the code; navigation follows the level', async () => {
  await ensureFirstAdmin();
  const token = await adminToken();
  const who = { email: `${unique('mfa-admin')}@example.com`, password: 'another-long-password-7' };
  const made = await api('POST', '/admin/v1/admins', { ...who, level: 'super_admin' }, { Authorization: `Bearer ${token}` });
  assert.equal(made.status, 201, JSON.stringify(made.body));

  // The admin enrols an authenticator app through /auth/v1, as any user does.
  const auth = { apikey: anonKey };
  const signedIn = await api('POST', '/auth/v1/token?grant_type=password', who, auth);
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  const bearer = { ...auth, Authorization: `Bearer ${signedIn.body.access_token}` };
  const factor = await api('POST', '/auth/v1/factors', { factor_type: 'totp', friendly_name: 'Phone app' }, bearer);
  assert.equal(factor.status, 200, JSON.stringify(factor.body));
  const challenge = await api('POST', `/auth/v1/factors/${factor.body.id}/challenge`, {}, bearer);
  const now = Date.now();
  const verified = await api('POST', `/auth/v1/factors/${factor.body.id}/verify`,
    { challenge_id: challenge.body.id, code: totp(factor.body.totp.secret, now) }, bearer);
  assert.equal(verified.status, 200, JSON.stringify(verified.body));

  const page = await newPage(browser);
  await page.goto(url + '/signin');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Second factor' }).waitFor();
  await screenshotBothThemes(page, 'signin-mfa');
  await page.getByLabel('Code').fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid TOTP code' }).waitFor();
  // A code is accepted once per time step: the next step's code (within the allowed skew).
  await page.getByLabel('Code').fill(totp(factor.body.totp.secret, now + 30_000));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('who').filter({ hasText: 'super admin' }).waitFor();

  const nav = page.getByRole('navigation', { name: 'Main' });
  const links = await nav.getByRole('link').allTextContents();
  assert.deepEqual(links, ['Home', 'Table editor', 'Database', 'Table security', 'Storage', 'Users', 'Admins', 'Audit log', 'Alerts'], 'a super admin has no SQL, migrations, API keys or settings');
  // The page itself says so when reached by its address; the server refuses the API anyway.
  await page.goto(url + '/settings');
  await page.getByRole('alert').filter({ hasText: 'does not give access' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/admin/v1/settings')).status);
  assert.equal(status, 403);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('outside development the sign-in page names the command that makes the first admin', async () => {
  assert.ok(process.env.GOFORWARD_STAGING_URL, 'GOFORWARD_STAGING_URL: a goforward in staging (the Go test starts one)');
  const page = await newPage(browser);
  await page.goto(process.env.GOFORWARD_STAGING_URL + '/signin');
  await page.getByText('In staging the first admin is made on the server').waitFor();
  await page.getByText('goforward admin create --email you@example.com --level system_admin').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Create the first admin' }).count(), 0);
  await screenshotBothThemes(page, 'signin-staging');
  await page.context().close();
});
