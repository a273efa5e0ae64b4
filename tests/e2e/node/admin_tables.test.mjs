// postgrest-js's PostgrestClient pointed at /admin/v1/rest/v1, the table data of the admin
// API, with an admin session token. Fixtures: admin_tables.sql.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';
import { url, serviceRoleKey, adminClient, client, unique } from './helpers.mjs';

// regularAdmin makes a user, grants it regular_admin on public.admin_posts through the admin
// API (with the service-role key) and signs it in at /admin/v1/sessions.
async function regularAdmin() {
  const email = `${unique('editor')}@example.com`;
  const password = 'correct-horse-battery-42';
  const { data, error } = await adminClient().auth.admin.createUser({ email, password, email_confirm: true });
  assert.equal(error, null);
  const granted = await fetch(`${url}/admin/v1/admins`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${serviceRoleKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: data.user.id, level: 'regular_admin', assigned_tables: ['public.admin_posts'] }),
  });
  assert.equal(granted.status, 201, await granted.text());
  const session = await fetch(`${url}/admin/v1/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(session.status, 200, await session.clone().text());
  return (await session.json()).token;
}

async function waitForTable(db) {
  for (let i = 0; i < 100; i++) {
    const { error } = await db.from('admin_posts').select('id').limit(1);
    if (!error) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('admin_posts never appeared in the schema cache');
}

test('a regular admin reads and edits its assigned table past RLS and is refused the others', async () => {
  const token = await regularAdmin();
  const db = new PostgrestClient(`${url}/admin/v1/rest/v1`, { headers: { Authorization: `Bearer ${token}` } });
  await waitForTable(db);

  // The same table through /rest/v1 with a user's rights: row-level security hides it all.
  const hidden = await client().from('admin_posts').select('id');
  assert.deepEqual(hidden.data, []);

  const read = await db.from('admin_posts').select('id, title').order('id');
  assert.equal(read.error, null);
  assert.deepEqual(read.data, [{ id: 1, title: 'first' }, { id: 2, title: 'second' }]);

  const updated = await db.from('admin_posts').update({ title: 'edited' }).eq('id', 2).select().single();
  assert.equal(updated.error, null);
  assert.deepEqual(updated.data, { id: 2, title: 'edited' });

  const inserted = await db.from('admin_posts').insert({ id: 3, title: 'third' }).select('id');
  assert.equal(inserted.status, 201);
  const removed = await db.from('admin_posts').delete().eq('id', 3);
  assert.equal(removed.error, null);
  assert.equal(removed.status, 204);

  const refused = await db.from('admin_payroll').select('salary');
  assert.equal(refused.status, 403);
  assert.equal(refused.error.code, '42501');
  assert.equal(refused.data, null);
});

test('the table data answers 401 without an admin session', async () => {
  const db = new PostgrestClient(`${url}/admin/v1/rest/v1`);
  const { status, error } = await db.from('admin_posts').select('id');
  assert.equal(status, 401);
  assert.equal(error.code, 'no_authorization');
});
