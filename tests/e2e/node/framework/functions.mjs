// supabase-js's functions.invoke against a function endpoint registered in Go
// (tests/e2e/frameworkapp). Run by tests/e2e/framework_test.go, not by TestSupabaseJS: the
// plain binary has no functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, unique } from '../helpers.mjs';

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
