// Shared helpers of the dashboard's browser tests: playwright-core drives Debian's chromium
// (no browser download) against a goforward the Go test (tests/e2e/dashboard_test.go) started.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const url = process.env.GOFORWARD_URL ?? 'http://127.0.0.1:8080';
export const anonKey = process.env.GOFORWARD_ANON_KEY ?? '';
export const artifacts = process.env.GOFORWARD_ARTIFACTS ?? join(process.cwd(), 'artifacts');
mkdirSync(artifacts, { recursive: true });

// The first admin every test file signs in as: made through the page by signin.test.mjs, or
// through POST /admin/v1/setup by whichever file runs first.
export const firstAdmin = { email: 'first-admin@example.com', password: 'a-long-first-password-42' };

export function unique(label) {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    // Root in a container has no user namespaces for chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/**
 * A new browser page at 1280×800 that records what the CSP refused and every uncaught error,
 * so a test can assert none happened.
 */
export async function newPage(browser, { width = 1280, height = 800, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) page.problems.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  return page;
}

export async function api(method, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Makes the first admin through the API when no test made it through the page yet. */
export async function ensureFirstAdmin() {
  const state = await api('GET', '/admin/v1/setup');
  if (state.body.first_admin_needed) {
    const res = await api('POST', '/admin/v1/setup', firstAdmin);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
}

/** An admin session token for API calls the tests make to arrange things. */
export async function adminToken(who = firstAdmin) {
  const res = await api('POST', '/admin/v1/sessions', who);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.token;
}

/** Signs in through the page (no second factor) and waits for the home page. */
export async function signIn(page, who = firstAdmin) {
  await page.goto(url + '/signin');
  await page.getByRole('heading', { name: 'Sign in to Go Forward' }).waitFor();
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
}

/** Runs axe-core on the page and fails on any serious or critical violation. */
export async function assertAccessible(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe-core on ${name}`,
  );
}

/** Screenshots the page in both themes (test artifacts, not committed) and checks each with axe. */
export async function screenshotBothThemes(page, name) {
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await assertAccessible(page, `${name} (${theme})`);
    await page.screenshot({ path: join(artifacts, `${name}-${theme}.png`), fullPage: true });
  }
  await page.evaluate(() => delete document.documentElement.dataset.theme);
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s, six digits), as an authenticator app computes it. */
export function totp(base32Secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32Secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}

/** Runs SQL through POST /pg/query as the first admin (arranging what a test needs). */
export async function sql(query, confirm = []) {
  const token = await adminToken();
  const res = await api('POST', '/pg/query', { query, confirm }, { Authorization: `Bearer ${token}` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Makes an admin of the level through the API and answers its credentials. */
export async function makeAdmin(level, extra = {}) {
  const token = await adminToken();
  const who = { email: `${unique(level.replace('_', '-'))}@example.com`, password: 'a-long-admin-password-9' };
  const res = await api('POST', '/admin/v1/admins', { ...who, level, ...extra }, { Authorization: `Bearer ${token}` });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return who;
}
