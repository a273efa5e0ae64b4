// The alerts page: an alert the security monitor raised for real is listed, filtered and
// acknowledged, then resolved, in a real browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminToken, api, ensureFirstAdmin, launch, newPage, screenshotBothThemes, signIn, unique } from './helpers.mjs';


const auth = (token) => ({ Authorization: `Bearer ${token}` });

/**
 * Raises a privilege_escalation alert for real: a super admin trying to make a system admin is
 * refused with cannot_grant_level, which the security monitor turns into an alert at once
 * (docs/alerts.md). Answers the open alert, its subject and the first admin's token.
 */
async function raiseAlert() {
  const token = await adminToken();
  const climber = { email: `${unique('climber')}@example.com`, password: 'a-long-climber-password-1' };
  const made = await api('POST', '/admin/v1/admins', { ...climber, level: 'super_admin' }, auth(token));
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const session = await api('POST', '/admin/v1/sessions', climber);
  assert.equal(session.status, 200, JSON.stringify(session.body));
  const refused = await api(
    'POST',
    '/admin/v1/admins',
    { email: `${unique('sys')}@example.com`, password: 'a-long-system-password-1', level: 'system_admin' },
    auth(session.body.token),
  );
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error_code, 'cannot_grant_level');
  const subject = `admin:${made.body.user_id}`;
  // The monitor reads sealed audit entries every few seconds: poll the API until it raised it.
  for (let i = 0; ; i++) {
    assert.ok(i < 240, 'the monitor never raised the alert');
    const res = await api('GET', `/admin/v1/alerts?rule=privilege_escalation&subject=${encodeURIComponent(subject)}`, undefined, auth(token));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const alert = res.body.alerts[0];
    if (alert) {
      assert.equal(alert.status, 'open');
      return { alert, subject, token };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('alerts: a real privilege escalation alert is listed, acknowledged and resolved', async () => {
  const { alert, subject, token } = await raiseAlert();

  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
  await page.getByLabel('Rule').selectOption('privilege_escalation');
  await page.getByLabel('Severity').selectOption('critical');
  await page.getByLabel('Status').selectOption('open');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const row = page.getByTestId('alerts').getByRole('row').filter({ hasText: subject });
  await row.getByRole('cell', { name: 'open', exact: true }).waitFor();
  const rules = await page.getByTestId('alerts').locator('tbody tr td:nth-child(3)').allTextContents();
  assert.ok(rules.every((r) => r === 'privilege_escalation'), rules.join(','));
  await row.getByRole('button', { name: 'Details' }).click();
  await row.locator('pre').filter({ hasText: '"requested_level": "system_admin"' }).waitFor();
  await screenshotBothThemes(page, 'alerts');

  await row.getByRole('button', { name: `Acknowledge alert ${alert.id}` }).click();
  await page.getByRole('status').filter({ hasText: `Alert ${alert.id} (privilege_escalation, ${subject}) acknowledged.` }).waitFor();
  // The list still filters on open alerts: the acknowledged one left it.
  await row.waitFor({ state: 'detached' });
  const after1 = await api('GET', `/admin/v1/alerts/${alert.id}`, undefined, auth(token));
  assert.equal(after1.body.status, 'acknowledged');
  assert.ok(after1.body.acknowledged_by, 'who acknowledged it is recorded');

  await page.getByLabel('Status').selectOption('acknowledged');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await row.getByRole('cell', { name: 'acknowledged', exact: true }).waitFor();
  await row.getByRole('button', { name: `Resolve alert ${alert.id}` }).click();
  await page.getByRole('status').filter({ hasText: `Alert ${alert.id} (privilege_escalation, ${subject}) resolved.` }).waitFor();
  const after2 = await api('GET', `/admin/v1/alerts/${alert.id}`, undefined, auth(token));
  assert.equal(after2.body.status, 'resolved');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('alerts: acknowledging an alert resolved meanwhile says so in words', async () => {
  const { alert, subject, token } = await raiseAlert();
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
  const row = page.getByTestId('alerts').getByRole('row').filter({ hasText: subject });
  await row.getByRole('cell', { name: 'open', exact: true }).waitFor();
  // Another admin resolves it after the page listed it.
  const resolved = await api('POST', `/admin/v1/alerts/${alert.id}/resolve`, undefined, auth(token));
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
  await row.getByRole('button', { name: `Acknowledge alert ${alert.id}` }).click();
  await page.getByRole('alert').filter({ hasText: 'The alert is resolved; a new hit opens a new alert' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
