// supabase-js's auth API against Go Forward's /auth/v1. The server runs in development, where
// e-mail sign-ups are confirmed at once and every mail is kept in the dev inbox, which these
// tests read with the service-role key to finish code flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthApiError, AuthWeakPasswordError, isAuthSessionMissingError } from '@supabase/supabase-js';
import { url, serviceRoleKey, client, unique } from './helpers.mjs';

const password = 'correct-horse-42';

function email(label) {
  return `${unique(`auth-${label}`)}@example.com`.toLowerCase();
}

// latestMessage returns the newest dev inbox message to an address.
async function latestMessage(to) {
  const res = await fetch(`${url}/auth/v1/dev/inbox?to=${encodeURIComponent(to)}`, {
    headers: { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { messages } = await res.json();
  assert.ok(messages.length > 0, `no message to ${to}`);
  return messages[0];
}

test('signUp, getUser, updateUser, refreshSession and signOut', async () => {
  const supabase = client();
  const address = email('lifecycle');
  const { data: signedUp, error: signUpError } = await supabase.auth.signUp({
    email: address,
    password,
    options: { data: { name: 'Ann' } },
  });
  assert.equal(signUpError, null);
  assert.ok(signedUp.session, 'development confirms sign-ups at once');
  assert.equal(signedUp.user.email, address);
  assert.equal(signedUp.user.user_metadata.name, 'Ann');
  assert.equal(signedUp.user.identities.length, 1);

  const { data: got, error: getError } = await supabase.auth.getUser();
  assert.equal(getError, null);
  assert.equal(got.user.id, signedUp.user.id);

  const { data: updated, error: updateError } = await supabase.auth.updateUser({ data: { name: 'Ann B.' } });
  assert.equal(updateError, null);
  assert.equal(updated.user.user_metadata.name, 'Ann B.');

  const before = (await supabase.auth.getSession()).data.session;
  const { data: refreshed, error: refreshError } = await supabase.auth.refreshSession();
  assert.equal(refreshError, null);
  assert.notEqual(refreshed.session.refresh_token, before.refresh_token);
  assert.equal(refreshed.user.user_metadata.name, 'Ann B.', 'the new token carries the new metadata');

  const { error: signOutError } = await supabase.auth.signOut();
  assert.equal(signOutError, null);
  const { error: goneError } = await supabase.auth.getUser(refreshed.session.access_token);
  assert.ok(isAuthSessionMissingError(goneError), `expected a missing session, got ${goneError}`);
  const { error: reuseError } = await client().auth.refreshSession({ refresh_token: refreshed.session.refresh_token });
  assert.ok(reuseError, 'the refresh token died with the session');
});

test('signInWithPassword, and the errors supabase-js understands', async () => {
  const address = email('password');
  const { error: signUpError } = await client().auth.signUp({ email: address, password });
  assert.equal(signUpError, null);

  const supabase = client();
  const { data, error } = await supabase.auth.signInWithPassword({ email: address, password });
  assert.equal(error, null);
  assert.equal(data.user.email, address);
  assert.ok(data.session.access_token);

  const { error: wrong } = await supabase.auth.signInWithPassword({ email: address, password: 'not-it' });
  assert.ok(wrong instanceof AuthApiError);
  assert.equal(wrong.status, 400);
  assert.equal(wrong.code, 'invalid_credentials');
  assert.equal(wrong.message, 'Invalid login credentials');

  const { error: weak } = await client().auth.signUp({ email: email('weak'), password: '123' });
  assert.ok(weak instanceof AuthWeakPasswordError, `expected a weak password error, got ${weak}`);
  assert.deepEqual(weak.reasons, ['length']);

  const { error: exists } = await client().auth.signUp({ email: address, password });
  assert.equal(exists.code, 'user_already_exists');
});

test('signInWithOtp and verifyOtp with the code from the dev inbox', async () => {
  const address = email('otp');
  const supabase = client();
  const { error } = await supabase.auth.signInWithOtp({ email: address, options: { data: { plan: 'free' } } });
  assert.equal(error, null);

  const message = await latestMessage(address);
  assert.equal(message.channel, 'email');
  const { data, error: verifyError } = await supabase.auth.verifyOtp({ email: address, token: message.data.token, type: 'email' });
  assert.equal(verifyError, null);
  assert.equal(data.user.email, address);
  assert.equal(data.user.user_metadata.plan, 'free');
  assert.ok(data.session.access_token);

  const { data: me } = await supabase.auth.getUser();
  assert.equal(me.user.id, data.user.id);

  const { error: again } = await client().auth.verifyOtp({ email: address, token: message.data.token, type: 'email' });
  assert.equal(again.code, 'otp_expired', 'a code works once');
});

test('resetPasswordForEmail leads to a new password', async () => {
  const address = email('reset');
  const { error: signUpError } = await client().auth.signUp({ email: address, password });
  assert.equal(signUpError, null);

  const supabase = client();
  const { error } = await supabase.auth.resetPasswordForEmail(address, { redirectTo: 'http://localhost:3000/reset' });
  assert.equal(error, null);
  const message = await latestMessage(address);
  assert.equal(message.kind, 'recovery');
  assert.equal(message.data.redirect_to, 'http://localhost:3000/reset');

  const { error: verifyError } = await supabase.auth.verifyOtp({ email: address, token: message.data.token, type: 'recovery' });
  assert.equal(verifyError, null);
  const { error: updateError } = await supabase.auth.updateUser({ password: 'a-brand-new-password' });
  assert.equal(updateError, null);

  const { error: oldError } = await client().auth.signInWithPassword({ email: address, password });
  assert.equal(oldError.code, 'invalid_credentials');
  const { data, error: newError } = await client().auth.signInWithPassword({ email: address, password: 'a-brand-new-password' });
  assert.equal(newError, null);
  assert.equal(data.user.email, address);

  // An unknown address looks the same from outside.
  const { error: unknownError } = await client().auth.resetPasswordForEmail(email('nobody'));
  assert.equal(unknownError, null);
});
