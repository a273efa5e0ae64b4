// supabase-js's functions.invoke against a function endpoint registered in Go
// (examples/basic). Run by tests/e2e/framework_test.go, not by TestSupabaseJS: the
// plain binary has no functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anonKey, client, unique, url } from '../helpers.mjs';

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
