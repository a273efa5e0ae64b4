// supabase-js's MFA and admin APIs against Go Forward's /auth/v1. TOTP codes are computed
// here (RFC 6238 over node:crypto), as an authenticator app would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { url, serviceRoleKey, client, adminClient, unique } from './helpers.mjs';

const password = 'correct-horse-42';

function email(label) {
  return `${unique(`mfa-${label}`)}@example.com`.toLowerCase();
}

// totp is RFC 6238 with the parameters authenticator apps use: HMAC-SHA1 over the 30-second
// step count, dynamically truncated to six digits.
function totp(base32Secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32Secret.replace(/=+$/, '')) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) {
    key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
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

test('mfa.enroll, challenge, verify, getAuthenticatorAssuranceLevel and unenroll', async () => {
  const supabase = client();
  const address = email('totp');
  const { data: signedUp, error: signUpError } = await supabase.auth.signUp({ email: address, password });
  assert.equal(signUpError, null);
  assert.ok(signedUp.session);

  const { data: enrolled, error: enrollError } = await supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'e2e app' });
  assert.equal(enrollError, null);
  assert.equal(enrolled.type, 'totp');
  assert.equal(enrolled.friendly_name, 'e2e app');
  assert.ok(enrolled.totp.qr_code.startsWith('data:image/svg+xml;utf-8,<svg'), enrolled.totp.qr_code.slice(0, 40));
  assert.ok(enrolled.totp.uri.startsWith('otpauth://totp/'));

  let { data: level } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(level.currentLevel, 'aal1');

  const { data: challenge, error: challengeError } = await supabase.auth.mfa.challenge({ factorId: enrolled.id });
  assert.equal(challengeError, null);
  assert.ok(challenge.expires_at > Date.now() / 1000);

  const { error: wrongError } = await supabase.auth.mfa.verify({ factorId: enrolled.id, challengeId: challenge.id, code: '000000' });
  assert.equal(wrongError.code, 'mfa_verification_failed');

  const { data: verified, error: verifyError } = await supabase.auth.mfa.verify({
    factorId: enrolled.id,
    challengeId: challenge.id,
    code: totp(enrolled.totp.secret),
  });
  assert.equal(verifyError, null);
  assert.ok(verified.access_token);

  ({ data: level } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel());
  assert.equal(level.currentLevel, 'aal2');
  assert.equal(level.nextLevel, 'aal2');
  assert.ok(level.currentAuthenticationMethods.some((m) => m.method === 'totp'));

  const { data: factors } = await supabase.auth.mfa.listFactors();
  assert.equal(factors.totp.length, 1);
  assert.equal(factors.totp[0].id, enrolled.id);

  const { data: adminFactors, error: adminFactorsError } = await adminClient().auth.admin.mfa.listFactors({ userId: signedUp.user.id });
  assert.equal(adminFactorsError, null);
  assert.equal(adminFactors.factors.length, 1);

  const { data: unenrolled, error: unenrollError } = await supabase.auth.mfa.unenroll({ factorId: enrolled.id });
  assert.equal(unenrollError, null);
  assert.equal(unenrolled.id, enrolled.id);
  const { data: after } = await supabase.auth.getUser();
  assert.equal((after.user.factors ?? []).length, 0);
});

test('auth.admin: createUser, listUsers, getUserById, updateUserById (ban) and deleteUser', async () => {
  const admin = adminClient().auth.admin;
  const address = email('admin');
  const { data: created, error: createError } = await admin.createUser({
    email: address,
    password,
    email_confirm: true,
    user_metadata: { full_name: 'Admin Made' },
  });
  assert.equal(createError, null);
  assert.equal(created.user.email, address);
  assert.ok(created.user.email_confirmed_at);

  const { data: listed, error: listError } = await admin.listUsers({ page: 1, perPage: 1000 });
  assert.equal(listError, null);
  assert.ok(listed.users.some((u) => u.id === created.user.id));
  assert.equal(listed.total, listed.users.length);
  assert.equal(listed.lastPage, 1);
  assert.equal(listed.nextPage, null);
  const { data: firstPage } = await admin.listUsers({ page: 1, perPage: 1 });
  assert.equal(firstPage.users.length, 1);
  assert.equal(firstPage.nextPage, firstPage.total > 1 ? 2 : null);
  assert.ok(firstPage.total >= 1);

  const { data: fetched } = await admin.getUserById(created.user.id);
  assert.equal(fetched.user.user_metadata.full_name, 'Admin Made');

  const { data: banned, error: banError } = await admin.updateUserById(created.user.id, { ban_duration: '1h' });
  assert.equal(banError, null);
  assert.ok(banned.user.banned_until);
  const { error: signInError } = await client().auth.signInWithPassword({ email: address, password });
  assert.equal(signInError.code, 'user_banned');
  await admin.updateUserById(created.user.id, { ban_duration: 'none' });
  const { error: unbannedError } = await client().auth.signInWithPassword({ email: address, password });
  assert.equal(unbannedError, null);

  const { error: deleteError } = await admin.deleteUser(created.user.id);
  assert.equal(deleteError, null);
  const { error: goneError } = await admin.getUserById(created.user.id);
  assert.equal(goneError.status, 404);

  const { error: notAdmin } = await client().auth.admin.listUsers();
  assert.equal(notAdmin.code, 'not_admin');
});

test('auth.admin.generateLink and inviteUserByEmail lead to sessions', async () => {
  const admin = adminClient().auth.admin;
  const linked = email('link');
  await admin.createUser({ email: linked, password, email_confirm: true });
  const { data: link, error: linkError } = await admin.generateLink({ type: 'magiclink', email: linked });
  assert.equal(linkError, null);
  assert.equal(link.user.email, linked);
  assert.equal(link.properties.verification_type, 'magiclink');
  assert.ok(link.properties.action_link.includes('/auth/v1/verify?'));
  const { data: viaLink, error: viaLinkError } = await client().auth.verifyOtp({ type: 'magiclink', token_hash: link.properties.hashed_token });
  assert.equal(viaLinkError, null);
  assert.equal(viaLink.user.email, linked);

  const invited = email('invite');
  const { data: invitation, error: inviteError } = await admin.inviteUserByEmail(invited, { data: { team: 'e2e' } });
  assert.equal(inviteError, null);
  assert.ok(invitation.user.invited_at);
  const message = await latestMessage(invited);
  assert.equal(message.kind, 'invite');
  const supabase = client();
  const { data: accepted, error: acceptError } = await supabase.auth.verifyOtp({ email: invited, token: message.data.token, type: 'invite' });
  assert.equal(acceptError, null);
  assert.equal(accepted.user.user_metadata.team, 'e2e');
  const { error: passwordError } = await supabase.auth.updateUser({ password: 'invited-password-1' });
  assert.equal(passwordError, null);
  const { error: signInError } = await client().auth.signInWithPassword({ email: invited, password: 'invited-password-1' });
  assert.equal(signInError, null);
});
