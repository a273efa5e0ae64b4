// supabase-js's auth.getClaims() against a new data directory, which signs sessions with an
// ES256 key: the client verifies the access token itself with the public keys of
// /auth/v1/.well-known/jwks.json (fetched once, then cached), never calling /auth/v1/user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, unique } from './helpers.mjs';

// countingFetch records every URL the client requests, and refuses /auth/v1/user outright,
// so that a fallback to the server would fail the test rather than pass unnoticed.
function countingFetch() {
  const urls = [];
  const fetchImpl = async (input, init) => {
    const target = typeof input === 'string' ? input : input.url ?? String(input);
    urls.push(target);
    if (new URL(target).pathname === '/auth/v1/user') {
      return new Response(JSON.stringify({ code: 503, error_code: 'blocked_by_test', msg: '/user is blocked' }), {
        status: 503,
        headers: { 'Content-Type': 'application/json' },
      });
    }
    return fetch(input, init);
  };
  return { urls, fetchImpl };
}

test('getClaims verifies an ES256 session locally through the JWKS, without /user', async () => {
  const { urls, fetchImpl } = countingFetch();
  const supabase = client(undefined, { rest: { global: { fetch: fetchImpl } } });
  const { data: signedUp, error: signUpError } = await supabase.auth.signUp({
    email: `${unique('claims')}@example.com`.toLowerCase(),
    password: 'correct-horse-42',
  });
  assert.equal(signUpError, null);
  assert.ok(signedUp.session, 'development confirms sign-ups at once');

  const before = urls.length;
  const { data, error } = await supabase.auth.getClaims();
  assert.equal(error, null);
  assert.equal(data.header.alg, 'ES256');
  assert.ok(data.header.kid, 'the token names its key');
  assert.equal(data.claims.sub, signedUp.user.id);
  assert.equal(data.claims.role, 'authenticated');
  const requested = urls.slice(before).map((u) => new URL(u).pathname);
  assert.deepEqual(requested, ['/auth/v1/.well-known/jwks.json'], 'only the key set was fetched');

  // The key set is cached: a second verification makes no request at all.
  const cached = urls.length;
  const { error: againError } = await supabase.auth.getClaims();
  assert.equal(againError, null);
  assert.equal(urls.length, cached);

  // A token whose payload was changed fails the local signature check.
  const [header, payload, signature] = signedUp.session.access_token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.role = 'service_role';
  const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  const { data: forgedData, error: forgedError } = await supabase.auth.getClaims(forged);
  assert.equal(forgedData, null);
  assert.match(String(forgedError?.message), /Invalid JWT signature/);
  assert.ok(!urls.some((u) => new URL(u).pathname === '/auth/v1/user'), '/auth/v1/user was never asked');
});
