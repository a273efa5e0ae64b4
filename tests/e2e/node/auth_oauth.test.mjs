// Social sign-in with supabase-js against a real OpenID Connect provider on loopback (started
// by tests/e2e/node_test.go as "acme"). Node has no browser, so fetch with manual redirects
// plays its part: it opens the URL supabase-js returns and follows the server's and the
// provider's redirects until the application's redirect_to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, unique } from './helpers.mjs';

const app = 'http://app.test/callback';
const password = 'correct-horse-42';

function email(label) {
  return `${unique(`oauth-${label}`)}@example.com`.toLowerCase();
}

// browse follows redirects from start until they lead to the application.
async function browse(start) {
  let next = start;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(next, { redirect: 'manual' });
    const location = res.headers.get('location');
    assert.ok(res.status >= 300 && res.status < 400 && location, `${next}: ${res.status} ${await res.text()}`);
    const target = new URL(location, next);
    if (target.hostname === 'app.test' || target.port === '3000') {
      return target;
    }
    next = target.href;
  }
  throw new Error('too many redirects');
}

test('signInWithOAuth with PKCE, exchangeCodeForSession and getUserIdentities', async () => {
  const supabase = client(undefined, { auth: { flowType: 'pkce' } });
  const address = email('pkce');
  const { data, error } = await supabase.auth.signInWithOAuth({
    provider: 'acme',
    options: { redirectTo: app, skipBrowserRedirect: true, queryParams: { login_hint: address } },
  });
  assert.equal(error, null);
  const back = await browse(data.url);
  assert.equal(back.origin + back.pathname, app);
  const code = back.searchParams.get('code');
  assert.ok(code, `no code in ${back}`);

  const { data: signedIn, error: exchangeError } = await supabase.auth.exchangeCodeForSession(code);
  assert.equal(exchangeError, null);
  assert.equal(signedIn.user.email, address);
  assert.ok(signedIn.session.provider_token, 'the provider token comes with the session');
  assert.equal(signedIn.user.app_metadata.provider, 'acme');

  const { data: identities, error: identitiesError } = await supabase.auth.getUserIdentities();
  assert.equal(identitiesError, null);
  assert.deepEqual(identities.identities.map((i) => i.provider), ['acme']);
  assert.equal(identities.identities[0].identity_data.email, address);
});

test('signInWithOAuth refuses a redirect outside the allow list', async () => {
  const supabase = client();
  const { data } = await supabase.auth.signInWithOAuth({
    provider: 'acme',
    options: { redirectTo: 'https://evil.test/steal', skipBrowserRedirect: true, queryParams: { login_hint: email('evil') } },
  });
  const back = await browse(data.url);
  assert.notEqual(back.hostname, 'evil.test');
  assert.ok(new URLSearchParams(back.hash.slice(1)).get('access_token'), 'the session went to site_url instead');
});

test('linkIdentity and unlinkIdentity', async () => {
  const supabase = client();
  const address = email('link');
  const { error: signUpError } = await supabase.auth.signUp({ email: address, password });
  assert.equal(signUpError, null);
  const { error: signInError } = await supabase.auth.signInWithPassword({ email: address, password });
  assert.equal(signInError, null);

  const { data, error } = await supabase.auth.linkIdentity({
    provider: 'acme',
    options: { redirectTo: app, queryParams: { login_hint: email('linked') } },
  });
  assert.equal(error, null);
  const back = await browse(data.url);
  assert.ok(new URLSearchParams(back.hash.slice(1)).get('access_token'), `linking signed in: ${back}`);

  const { data: identities } = await supabase.auth.getUserIdentities();
  assert.deepEqual(identities.identities.map((i) => i.provider).sort(), ['acme', 'email']);
  const acme = identities.identities.find((i) => i.provider === 'acme');

  const { error: unlinkError } = await supabase.auth.unlinkIdentity(acme);
  assert.equal(unlinkError, null);
  const { data: after } = await supabase.auth.getUserIdentities();
  assert.deepEqual(after.identities.map((i) => i.provider), ['email']);

  const { error: lastError } = await supabase.auth.unlinkIdentity(after.identities[0]);
  assert.equal(lastError?.code, 'single_identity_not_deletable');
});
