import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, unique } from './helpers.mjs';

const timeoutMs = 20000;

// waitFor resolves with the first value pushed to the returned sink that satisfies pred.
function collector() {
  const items = [];
  const waiters = [];
  return {
    push(item) {
      items.push(item);
      for (const w of [...waiters]) {
        if (w.pred(item)) {
          waiters.splice(waiters.indexOf(w), 1);
          clearTimeout(w.timer);
          w.resolve(item);
        }
      }
    },
    waitFor(pred, what) {
      const found = items.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(items)}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

// subscribed subscribes channel and resolves once the server confirmed it.
function subscribed(channel) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`subscribe ${channel.topic} timed out`)), timeoutMs);
    channel.subscribe((status, err) => {
      if (status === 'SUBSCRIBED') {
        clearTimeout(timer);
        resolve();
      } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
        clearTimeout(timer);
        reject(err ?? new Error(status));
      }
    });
  });
}

test('postgres_changes delivers inserts, updates and deletes made through the REST API', async () => {
  const listener = client();
  const writer = client();
  const changes = collector();
  const system = collector();
  const channel = listener
    .channel(unique('todos'))
    .on('postgres_changes', { event: '*', schema: 'public', table: 'realtime_todos' }, (p) => changes.push(p))
    .on('system', {}, (p) => system.push(p));
  try {
    await subscribed(channel);
    const sys = await system.waitFor((p) => p.extension === 'postgres_changes', 'the postgres_changes system message');
    assert.equal(sys.status, 'ok', JSON.stringify(sys));
    assert.equal(sys.message, 'Subscribed to PostgreSQL');

    const title = unique('todo');
    const inserted = await writer.from('realtime_todos').insert({ title, tags: ['a', 'b'] }).select().single();
    assert.equal(inserted.error, null, JSON.stringify(inserted.error));
    const id = inserted.data.id;

    const insert = await changes.waitFor((p) => p.eventType === 'INSERT' && p.new.id === id, 'the INSERT');
    assert.equal(insert.schema, 'public');
    assert.equal(insert.table, 'realtime_todos');
    assert.deepEqual(insert.new, { id, title, done: false, tags: ['a', 'b'] });
    assert.deepEqual(insert.old, {});
    assert.match(insert.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(insert.errors, null);

    const updated = await writer.from('realtime_todos').update({ done: true }).eq('id', id);
    assert.equal(updated.error, null, JSON.stringify(updated.error));
    const update = await changes.waitFor((p) => p.eventType === 'UPDATE' && p.new.id === id, 'the UPDATE');
    assert.equal(update.new.done, true);
    // Under RLS the old record carries only the primary key, even with REPLICA IDENTITY FULL:
    // the old values may be ones this subscriber was never allowed to read.
    assert.deepEqual(update.old, { id }, 'under RLS the old record is the key only');

    const deleted = await writer.from('realtime_todos').delete().eq('id', id);
    assert.equal(deleted.error, null, JSON.stringify(deleted.error));
    const del = await changes.waitFor((p) => p.eventType === 'DELETE' && p.old.id === id, 'the DELETE');
    assert.deepEqual(del.new, {});
  } finally {
    await listener.removeAllChannels();
    await writer.removeAllChannels();
  }
});

test('postgres_changes filters rows on the server', async () => {
  const listener = client();
  const writer = client();
  const wanted = unique('wanted');
  const changes = collector();
  const channel = listener
    .channel(unique('filtered'))
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'realtime_todos', filter: `title=eq.${wanted}` }, (p) => changes.push(p));
  try {
    await subscribed(channel);
    const other = await writer.from('realtime_todos').insert({ title: unique('other') });
    assert.equal(other.error, null, JSON.stringify(other.error));
    const mine = await writer.from('realtime_todos').insert({ title: wanted });
    assert.equal(mine.error, null, JSON.stringify(mine.error));
    // The other row was committed first: unless the server filtered it out, it would arrive first.
    const first = await changes.waitFor(() => true, 'the filtered INSERT');
    assert.equal(first.eventType, 'INSERT');
    assert.equal(first.new.title, wanted);
  } finally {
    await listener.removeAllChannels();
  }
});

test('broadcast reaches another client, with acknowledgement, in both serializers', async () => {
  const a = client();
  const b = client();
  const legacy = client(undefined, { realtime: { vsn: '1.0.0' } });
  const room = unique('room');
  const gotB = collector();
  const gotLegacy = collector();
  const sender = a.channel(room, { config: { broadcast: { ack: true } } });
  const receiver = b.channel(room).on('broadcast', { event: 'cursor' }, (p) => gotB.push(p));
  const receiverV1 = legacy.channel(room).on('broadcast', { event: 'cursor' }, (p) => gotLegacy.push(p));
  try {
    await Promise.all([subscribed(sender), subscribed(receiver), subscribed(receiverV1)]);
    const status = await sender.send({ type: 'broadcast', event: 'cursor', payload: { x: 1, y: 2 } });
    assert.equal(status, 'ok');
    for (const got of [gotB, gotLegacy]) {
      const msg = await got.waitFor((p) => p.payload.x === 1, 'the broadcast');
      assert.equal(msg.event, 'cursor');
      assert.deepEqual(msg.payload, { x: 1, y: 2 });
    }

    // httpSend goes through the REST endpoint.
    const sent = await sender.httpSend('cursor', { x: 3 });
    assert.deepEqual(sent, { success: true });
    await gotB.waitFor((p) => p.payload.x === 3, 'the httpSend broadcast');
  } finally {
    await Promise.all([a.removeAllChannels(), b.removeAllChannels(), legacy.removeAllChannels()]);
  }
});

test('presence syncs who is online and who left', async () => {
  const a = client();
  const b = client();
  const room = unique('lobby');
  const syncsA = collector();
  const leavesA = collector();
  const chA = a
    .channel(room, { config: { presence: { key: 'alice' } } })
    .on('presence', { event: 'sync' }, () => syncsA.push(chA.presenceState()))
    .on('presence', { event: 'leave' }, (p) => leavesA.push(p));
  const chB = b.channel(room, { config: { presence: { key: 'bob' } } }).on('presence', { event: 'sync' }, () => {});
  try {
    await subscribed(chA);
    assert.equal(await chA.track({ name: 'Alice' }), 'ok');
    await subscribed(chB);
    assert.equal(await chB.track({ name: 'Bob' }), 'ok');

    const state = await syncsA.waitFor((s) => s.alice && s.bob, 'both users in the presence state');
    assert.equal(state.alice[0].name, 'Alice');
    assert.equal(state.bob[0].name, 'Bob');
    assert.equal(typeof state.bob[0].presence_ref, 'string');

    await chB.untrack();
    const leave = await leavesA.waitFor((p) => p.key === 'bob', 'bob leaving');
    assert.equal(leave.leftPresences[0].name, 'Bob');
  } finally {
    await Promise.all([a.removeAllChannels(), b.removeAllChannels()]);
  }
});

test('private channels follow the policies on realtime.messages', async () => {
  const user = client();
  const { data, error } = await user.auth.signUp({ email: `${unique('rt')}@example.com`, password: 'correct-horse-battery' });
  assert.equal(error, null, JSON.stringify(error));
  const uid = data.user.id;
  const room = `realtime-room-${uid}`;

  const anon = client();
  const refused = anon.channel(room, { config: { private: true } });
  await assert.rejects(subscribed(refused), /You do not have permissions to read from this Channel topic/);

  const other = client();
  await other.auth.setSession(data.session);
  const got = collector();
  const sender = user.channel(room, { config: { private: true, broadcast: { ack: true } } });
  const receiver = other.channel(room, { config: { private: true } }).on('broadcast', { event: 'note' }, (p) => got.push(p));
  try {
    await Promise.all([subscribed(sender), subscribed(receiver)]);
    assert.equal(await sender.send({ type: 'broadcast', event: 'note', payload: { text: 'only for me' } }), 'ok');
    const msg = await got.waitFor(() => true, 'the private broadcast');
    assert.deepEqual(msg.payload, { text: 'only for me' });
  } finally {
    await Promise.all([user.removeAllChannels(), other.removeAllChannels(), anon.removeAllChannels()]);
  }
});
