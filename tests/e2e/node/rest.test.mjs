// postgrest-js, through supabase-js, against goforward's /rest/v1. Fixtures: rest.sql.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, adminClient, unique } from './helpers.mjs';

const db = client();

// The fixtures are applied after the server starts: the schema cache picks them up through
// the DDL event trigger. Wait for that before the first test.
async function waitForSchema() {
  for (let i = 0; i < 100; i++) {
    const { error } = await db.from('rest_books').select('id').limit(1);
    if (!error) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('rest_books never appeared in the schema cache');
}

test('select with filters and order', async () => {
  await waitForSchema();
  const { data, error, status } = await db
    .from('rest_books')
    .select('id, title')
    .gte('year', 1970)
    .lt('year', 1989)
    .ilike('title', '%the%')
    .order('year', { ascending: false });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, [
    { id: 5, title: 'The Player of Games' },
    { id: 2, title: 'The Dispossessed' },
  ]);
});

test('in, contains, or, not and textSearch-free filters', async () => {
  const { data, error } = await db
    .from('rest_books')
    .select('id')
    .in('id', [1, 3, 4])
    .contains('tags', ['fantasy'])
    .order('id');
  assert.equal(error, null);
  assert.deepEqual(data, [{ id: 1 }, { id: 3 }]);

  const or = await db.from('rest_books').select('id').or('year.lt.1970,title.eq.Consider Phlebas').order('id');
  assert.deepEqual(or.data, [{ id: 1 }, { id: 4 }]);

  const not = await db.from('rest_books').select('id').not('author_id', 'eq', 3).order('id', { ascending: false });
  assert.deepEqual(not.data, [{ id: 3 }, { id: 2 }, { id: 1 }]);

  const match = await db.from('rest_books').select('id').match({ author_id: 1, year: 1974 });
  assert.deepEqual(match.data, [{ id: 2 }]);
});

test('range with an exact count', async () => {
  const { data, count, status, error } = await db
    .from('rest_books')
    .select('id', { count: 'exact' })
    .order('id')
    .range(1, 2);
  assert.equal(error, null);
  assert.equal(status, 206);
  assert.equal(count, 5);
  assert.deepEqual(data, [{ id: 2 }, { id: 3 }]);

  const head = await db.from('rest_books').select('*', { count: 'exact', head: true }).eq('author_id', 3);
  assert.equal(head.count, 2);
  assert.equal(head.data, null);
});

test('single and maybeSingle', async () => {
  const one = await db.from('rest_authors').select('name').eq('id', 2).single();
  assert.equal(one.error, null);
  assert.deepEqual(one.data, { name: 'Terry' });

  const none = await db.from('rest_authors').select('name').eq('id', 99).single();
  assert.equal(none.status, 406);
  assert.equal(none.error.code, 'PGRST116');

  const maybe = await db.from('rest_authors').select('name').eq('id', 99).maybeSingle();
  assert.equal(maybe.error, null);
  assert.equal(maybe.data, null);
});

test('computed fields, and stripNulls', async () => {
  const all = await db.from('rest_authors').select('id, nick:rest_nickname').order('id');
  assert.equal(all.error, null);
  assert.deepEqual(all.data, [{ id: 1, nick: null }, { id: 2, nick: 'Pratchett' }, { id: 3, nick: null }]);

  const stripped = await db.from('rest_authors').select('id, rest_nickname').order('id').stripNulls();
  assert.equal(stripped.error, null);
  assert.deepEqual(stripped.data, [{ id: 1 }, { id: 2, rest_nickname: 'Pratchett' }, { id: 3 }]);

  const filtered = await db.from('rest_authors').select('name').eq('rest_nickname', 'Pratchett').single();
  assert.equal(filtered.error, null);
  assert.deepEqual(filtered.data, { name: 'Terry' });
});

test('embedding many-to-one, one-to-many and many-to-many', async () => {
  const { data, error } = await db
    .from('rest_books')
    .select('title, rest_authors(name), rest_shelves(label)')
    .eq('id', 1)
    .single();
  assert.equal(error, null);
  assert.deepEqual(data, { title: 'A Wizard of Earthsea', rest_authors: { name: 'Ursula' }, rest_shelves: [{ label: 'favourites' }] });

  const authors = await db
    .from('rest_authors')
    .select('name, rest_books(title)')
    .eq('id', 1)
    .order('id', { referencedTable: 'rest_books', ascending: false })
    .limit(1, { referencedTable: 'rest_books' });
  assert.equal(authors.error, null);
  assert.deepEqual(authors.data, [{ name: 'Ursula', rest_books: [{ title: 'The Dispossessed' }] }]);

  const inner = await db.from('rest_authors').select('id, rest_books!inner(id)').eq('rest_books.year', 1989);
  assert.deepEqual(inner.data, [{ id: 2, rest_books: [{ id: 3 }] }]);
});

test('insert, update, upsert and delete with select()', async () => {
  const admin = adminClient();
  const name = unique('rest-item');
  const inserted = await admin.from('rest_items').insert({ name, qty: 1 }).select('name, qty').single();
  assert.equal(inserted.error, null);
  assert.equal(inserted.status, 201);
  assert.deepEqual(inserted.data, { name, qty: 1 });

  const bulk = await admin
    .from('rest_items')
    .insert([{ name: name + '-a' }, { name: name + '-b', qty: 5 }], { defaultToNull: false })
    .select('qty');
  assert.equal(bulk.error, null);
  assert.deepEqual(bulk.data.map((r) => r.qty), [0, 5], 'missing keys take the column default');

  const nulls = await admin.from('rest_items').insert([{ name: name + '-c' }, { name: name + '-d', qty: 1 }]);
  assert.equal(nulls.status, 400, 'without defaultToNull: false a missing key is NULL');
  assert.equal(nulls.error.code, '23502');

  const updated = await admin.from('rest_items').update({ qty: 2 }).eq('name', name).select('qty');
  assert.deepEqual(updated.data, [{ qty: 2 }]);

  const upserted = await admin.from('rest_items').upsert({ name, qty: 9 }, { onConflict: 'name' }).select('name, qty');
  assert.equal(upserted.error, null);
  assert.deepEqual(upserted.data, [{ name, qty: 9 }]);

  const ignored = await admin.from('rest_items').upsert({ name, qty: 100 }, { onConflict: 'name', ignoreDuplicates: true }).select();
  assert.deepEqual(ignored.data, []);

  const deleted = await admin.from('rest_items').delete().like('name', name + '%').select('name');
  assert.equal(deleted.error, null);
  assert.equal(deleted.data.length, 3);

  const minimal = await admin.from('rest_items').insert({ name: name + '-min' });
  assert.equal(minimal.status, 201);
  assert.equal(minimal.data, null);
  await admin.from('rest_items').delete().eq('name', name + '-min');
});

test('rpc with POST and GET, and filters on set-returning functions', async () => {
  const sum = await db.rpc('rest_add', { a: 2, b: 40 });
  assert.equal(sum.error, null);
  assert.equal(sum.data, 42);

  const got = await db.rpc('rest_add', { a: 1, b: 1 }, { get: true });
  assert.equal(got.data, 2);

  const books = await db.rpc('rest_books_by', { author: 3 }).select('title').gt('year', 1987);
  assert.equal(books.error, null);
  assert.deepEqual(books.data, [{ title: 'The Player of Games' }]);

  const missing = await db.rpc('rest_nope', {});
  assert.equal(missing.status, 404);
  assert.equal(missing.error.code, 'PGRST202');
});

test('csv', async () => {
  const { data, error } = await db.from('rest_authors').select('id, name').order('id').csv();
  assert.equal(error, null);
  assert.equal(data, 'id,name\n1,Ursula\n2,Terry\n3,Iain');
});

test('error codes', async () => {
  const noTable = await db.from('rest_missing').select();
  assert.equal(noTable.status, 404);
  assert.equal(noTable.error.code, 'PGRST205');

  const noColumn = await db.from('rest_books').select('nope');
  assert.equal(noColumn.status, 400);
  assert.equal(noColumn.error.code, '42703');

  const duplicate = await adminClient().from('rest_authors').insert({ id: 1, name: 'again' });
  assert.equal(duplicate.status, 409);
  assert.equal(duplicate.error.code, '23505');

  const denied = await db.from('rest_private').insert({ id: 2, secret: 'x' });
  assert.equal(denied.status, 401);
  assert.equal(denied.error.code, '42501');

  const hidden = await db.from('rest_private').select();
  assert.deepEqual(hidden.data, [], 'row-level security without a policy hides every row');

  const unfiltered = await adminClient().from('rest_items').delete();
  assert.equal(unfiltered.status, 400);
  assert.equal(unfiltered.error.code, '21000');
});

test('embedded counts, views and computed relationships', async () => {
  const counts = await db.from('rest_authors').select('name, rest_books(count)').order('id');
  assert.equal(counts.error, null);
  assert.deepEqual(counts.data, [
    { name: 'Ursula', rest_books: [{ count: 2 }] },
    { name: 'Terry', rest_books: [{ count: 1 }] },
    { name: 'Iain', rest_books: [{ count: 2 }] },
  ]);

  const view = await db.from('rest_old_books').select('title, rest_authors(name)').order('id');
  assert.equal(view.error, null);
  assert.deepEqual(view.data, [
    { title: 'A Wizard of Earthsea', rest_authors: { name: 'Ursula' } },
    { title: 'The Dispossessed', rest_authors: { name: 'Ursula' } },
  ]);

  const toView = await db
    .from('rest_authors')
    .select('name, rest_old_books(title)')
    .in('id', [1, 2])
    .order('id')
    .order('id', { referencedTable: 'rest_old_books' });
  assert.equal(toView.error, null);
  assert.deepEqual(toView.data, [
    { name: 'Ursula', rest_old_books: [{ title: 'A Wizard of Earthsea' }, { title: 'The Dispossessed' }] },
    { name: 'Terry', rest_old_books: [] },
  ]);

  const fromRPC = await db.rpc('rest_old_books_by', { author: 1 }).select('title, rest_authors(name)').order('id').limit(1);
  assert.equal(fromRPC.error, null);
  assert.deepEqual(fromRPC.data, [{ title: 'A Wizard of Earthsea', rest_authors: { name: 'Ursula' } }]);

  const computed = await db.from('rest_books').select('title, rest_writer(name), rest_same_author(title)').eq('id', 4).single();
  assert.equal(computed.error, null);
  assert.deepEqual(computed.data, {
    title: 'Consider Phlebas',
    rest_writer: { name: 'Iain' },
    rest_same_author: [{ title: 'The Player of Games' }],
  });
});

test('spreading a to-many relationship gives arrays of its columns', async () => {
  const { data, error } = await db
    .from('rest_authors')
    .select('name, ...rest_books(title, year)')
    .eq('id', 1)
    .order('id', { referencedTable: 'rest_books' })
    .single();
  assert.equal(error, null);
  assert.deepEqual(data, { name: 'Ursula', title: ['A Wizard of Earthsea', 'The Dispossessed'], year: [1968, 1974] });
});

test('insert with defaultToNull: false fills identity columns and defaults', async () => {
  // The second row names id, so the request's columns include it and the first row leaves it out.
  const title = unique('ticket');
  const chosen = 1000000 + Math.floor(Math.random() * 1000000);
  const { data, error, status } = await adminClient()
    .from('rest_tickets')
    .insert([{ title: title + '-a' }, { id: chosen, title: title + '-b', status: 'closed' }], { defaultToNull: false })
    .select('id, title, status');
  assert.equal(error, null);
  assert.equal(status, 201);
  assert.deepEqual(data.map((r) => [r.title, r.status]), [[title + '-a', 'open'], [title + '-b', 'closed']]);
  assert.ok(Number.isInteger(data[0].id) && data[0].id < chosen, 'the identity column got its next value');
  assert.equal(data[1].id, chosen);
});
