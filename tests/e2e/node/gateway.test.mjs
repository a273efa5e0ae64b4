import { test } from 'node:test';
import assert from 'node:assert/strict';
import { url, anonKey, client } from './helpers.mjs';

test('createClient accepts the anon key printed by goforward', () => {
  const supabase = client();
  assert.ok(supabase.auth);
  assert.ok(supabase.storage);
});

test('the gateway answers like Supabase\'s Kong for a request without apikey', async () => {
  const res = await fetch(`${url}/rest/v1/anything`);
  assert.ok(res.status === 401 || res.status === 404, `status ${res.status}`);
  const body = await res.json();
  assert.equal(typeof body.message, 'string');
});

test('CORS preflight from a local dev origin is allowed with the headers supabase-js sends', async () => {
  const res = await fetch(`${url}/rest/v1/anything`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'http://localhost:3000',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'apikey, authorization, content-type, x-client-info, prefer',
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:3000');
  const allowed = res.headers.get('access-control-allow-headers').toLowerCase();
  for (const h of ['apikey', 'authorization', 'content-type', 'x-client-info', 'prefer']) {
    assert.ok(allowed.includes(h), `${h} missing from ${allowed}`);
  }
});

test('health answers without a key', async () => {
  const res = await fetch(`${url}/health`, { headers: { apikey: anonKey } });
  assert.equal(res.status, 200);
});
