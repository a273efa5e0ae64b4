// supabase-js's functions.invoke against a function endpoint registered in Go
// (examples/basic). Run by tests/e2e/framework_test.go, not by TestSupabaseJS: the
// plain binary has no functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anonKey, client, serviceRoleKey, unique, url } from '../helpers.mjs';

test('functions.invoke reaches the Go handler as the anon role', async () => {
  const supabase = client();
  const { data, error } = await supabase.functions.invoke('hello', { body: { name: 'Ada' } });
  assert.equal(error, null);
  assert.deepEqual(data, { message: 'Hello Ada', role: 'anon', user_id: '', email: null });
});

test('functions.invoke carries the signed-in user', async () => {
  const supabase = client();
  const email = `${unique('fn')}@example.com`;
  const { data: signUp, error: signUpError } = await supabase.auth.signUp({ email, password: 'correct horse battery' });
  assert.equal(signUpError, null);
  const { data, error } = await supabase.functions.invoke('hello', { body: { name: 'Grace' } });
  assert.equal(error, null);
  assert.deepEqual(data, { message: 'Hello Grace', role: 'authenticated', user_id: signUp.user.id, email });
});

test('functions.invoke reports an unknown function as an HTTP error', async () => {
  const { data, error } = await client().functions.invoke('missing', { body: {} });
  assert.equal(data, null);
  assert.equal(error.name, 'FunctionsHttpError');
  assert.equal(error.context.status, 404);
});

test('a bad token gets 401 before the function runs', async () => {
  const { error } = await client().functions.invoke('hello', {
    body: { name: 'Mallory' },
    headers: { Authorization: 'Bearer not-a-jwt' },
  });
  assert.equal(error.name, 'FunctionsHttpError');
  assert.equal(error.context.status, 401);
  assert.deepEqual(await error.context.json(), { code: 401, message: 'Invalid JWT' });
});

test('the custom auth provider signs in, and the function sees that user', async () => {
  const headers = { apikey: anonKey, 'Content-Type': 'application/json' };
  const wrong = await fetch(`${url}/auth/v1/token?grant_type=custom&provider=badges`, {
    method: 'POST', headers, body: JSON.stringify({ badge: '1001', pin: '0000' }),
  });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error_code, 'invalid_credentials');

  const res = await fetch(`${url}/auth/v1/token?grant_type=custom&provider=badges`, {
    method: 'POST', headers, body: JSON.stringify({ badge: '1001', pin: '4321' }),
  });
  assert.equal(res.status, 200);
  const session = await res.json();
  const supabase = client();
  const { error: setError } = await supabase.auth.setSession({ access_token: session.access_token, refresh_token: session.refresh_token });
  assert.equal(setError, null);
  const { data: current } = await supabase.auth.getSession();
  const claims = JSON.parse(Buffer.from(current.session.access_token.split('.')[1], 'base64url').toString());
  assert.equal(claims.signed_in_with, 'custom', 'the custom access token hook added its claim');
  const { data, error } = await supabase.functions.invoke('hello', { body: { name: 'badge 1001' } });
  assert.equal(error, null);
  assert.equal(data.role, 'authenticated');
  assert.equal(data.user_id, session.user.id);
});

test('the app page needs no key, and OnServe wrapped every response', async () => {
  const page = await fetch(`${url}/about`);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), 'basic: a Go Forward app\n');
  assert.equal(page.headers.get('x-powered-by'), 'basic');
  const health = await fetch(`${url}/health`);
  assert.equal(health.headers.get('x-powered-by'), 'basic');
  const rest = await fetch(`${url}/rest/v1/`);
  assert.equal(rest.status, 401, 'the app page does not open Go Forward\'s own paths');
});

// poll calls fn until it returns something other than undefined, for at most ms.
async function poll(fn, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('sign-in shows the custom claim; an insert runs the change hook, whose row the user reads', async () => {
  const supabase = client();
  const email = `${unique('orders')}@example.com`;
  const { error: signUpError } = await supabase.auth.signUp({ email, password: 'correct horse battery' });
  assert.equal(signUpError, null);
  const { data: signIn, error: signInError } = await supabase.auth.signInWithPassword({ email, password: 'correct horse battery' });
  assert.equal(signInError, null);
  const claims = JSON.parse(Buffer.from(signIn.session.access_token.split('.')[1], 'base64url').toString());
  assert.equal(claims.signed_in_with, 'password', 'the custom access token hook added its claim');

  const { data: order, error: insertError } = await supabase.from('orders').insert({ item: 'tea' }).select().single();
  assert.equal(insertError, null);
  const events = await poll(async () => {
    const { data, error } = await supabase.from('order_events').select('order_id, user_id, kind').eq('order_id', order.id);
    assert.equal(error, null);
    return data.length > 0 ? data : undefined;
  }, 30000);
  assert.deepEqual(events, [{ order_id: order.id, user_id: signIn.user.id, kind: 'created' }], 'the OnChange handler wrote its row');
});

test('the cron job runs on its schedule, and admins read its runs', async () => {
  const headers = { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` };
  const runs = await poll(async () => {
    const res = await fetch(`${url}/admin/v1/cron/runs?job=tally-orders&status=succeeded`, { headers });
    assert.equal(res.status, 200);
    const body = await res.json();
    return body.runs.length > 0 ? body.runs : undefined;
  }, 30000);
  assert.ok(runs, 'a succeeded run of tally-orders is listed');
  assert.equal(runs[0].schedule, '@every 5s');
  const { data, error } = await client().from('order_stats').select('orders');
  assert.equal(error, null);
  assert.equal(data.length, 1, 'the job wrote the count');
});
