// storage-js, through supabase-js, against goforward's /storage/v1. Fixtures: storage.sql
// (Supabase's per-user folder policies for buckets named storage-private-*).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, adminClient, unique, url, serviceRoleKey } from './helpers.mjs';

const admin = adminClient();
const password = 'correct-horse-42';

// signedIn returns a client signed in as a new user (development confirms sign-ups at once).
async function signedIn(label) {
  const supabase = client();
  const { data, error } = await supabase.auth.signUp({
    email: `${unique(`storage-${label}`)}@example.com`.toLowerCase(),
    password,
  });
  assert.equal(error, null);
  assert.ok(data.session);
  return { supabase, id: data.user.id };
}

async function newBucket(kind, options = { public: false }) {
  const id = unique(`storage-${kind}`);
  const { data, error } = await admin.storage.createBucket(id, options);
  assert.equal(error, null);
  assert.deepEqual(data, { name: id });
  return id;
}

// pngBytes is a 40×20 RGB PNG, built by hand so the test needs no image library.
function pngBytes(width = 40, height = 20) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rows[y * (width * 3 + 1) + 1 + x * 3] = 255;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibStore(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// zlibStore wraps data in an uncompressed zlib stream.
function zlibStore(data) {
  const blocks = [];
  for (let i = 0; i < data.length || i === 0; i += 65535) {
    const part = data.subarray(i, i + 65535);
    const header = Buffer.alloc(5);
    header[0] = i + 65535 >= data.length ? 1 : 0;
    header.writeUInt16LE(part.length, 1);
    header.writeUInt16LE(~part.length & 0xffff, 3);
    blocks.push(header, part);
  }
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0x01]), ...blocks, adler]);
}

function pngSize(buf) {
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('buckets: create, get, list, update, empty and delete', async () => {
  const id = await newBucket('buckets', { public: false, fileSizeLimit: '1MB', allowedMimeTypes: ['text/*'] });
  const { data: bucket, error } = await admin.storage.getBucket(id);
  assert.equal(error, null);
  assert.equal(bucket.id, id);
  assert.equal(bucket.public, false);
  assert.equal(bucket.file_size_limit, 1_000_000);
  assert.deepEqual(bucket.allowed_mime_types, ['text/*']);

  const { data: buckets } = await admin.storage.listBuckets();
  assert.ok(buckets.some((b) => b.id === id));

  const { data: updated, error: updateError } = await admin.storage.updateBucket(id, { public: true });
  assert.equal(updateError, null);
  assert.equal(updated.message, 'Successfully updated');
  assert.equal((await admin.storage.getBucket(id)).data.public, true);

  await admin.storage.from(id).upload('a.txt', 'a', { contentType: 'text/plain' });
  const { error: notEmpty } = await admin.storage.deleteBucket(id);
  assert.equal(notEmpty.statusCode, '409');
  assert.equal(notEmpty.status, 400);
  assert.equal((await admin.storage.emptyBucket(id)).error, null);
  assert.equal((await admin.storage.deleteBucket(id)).error, null);
  const { error: gone } = await admin.storage.getBucket(id);
  assert.equal(gone.statusCode, '404');
});

test('a user uploads, downloads, lists, signs, moves, copies and removes their files', async () => {
  const bucket = await newBucket('private');
  const { supabase, id } = await signedIn('owner');
  const files = supabase.storage.from(bucket);

  const { data: up, error: upError } = await files.upload(`${id}/hello.txt`, 'hello from supabase-js', {
    contentType: 'text/plain',
    cacheControl: '120',
  });
  assert.equal(upError, null);
  assert.equal(up.path, `${id}/hello.txt`);
  assert.equal(up.fullPath, `${bucket}/${id}/hello.txt`);

  const { data: blob, error: downError } = await files.download(`${id}/hello.txt`);
  assert.equal(downError, null);
  assert.equal(await blob.text(), 'hello from supabase-js');

  const { data: info, error: infoError } = await files.info(`${id}/hello.txt`);
  assert.equal(infoError, null);
  assert.equal(info.size, 22);
  assert.equal(info.cacheControl, 'max-age=120');
  assert.equal((await files.exists(`${id}/hello.txt`)).data, true);
  assert.equal((await files.exists(`${id}/nope.txt`)).data, false);

  const { error: dupError } = await files.upload(`${id}/hello.txt`, 'again');
  assert.equal(dupError.statusCode, '409');
  const { error: upsertError } = await files.upload(`${id}/hello.txt`, 'hello, replaced', { upsert: true });
  assert.equal(upsertError, null);
  assert.equal(await (await files.download(`${id}/hello.txt`)).data.text(), 'hello, replaced');

  // A Blob goes up as multipart form data, as in a browser.
  const { error: blobError } = await files.upload(`${id}/docs/note.txt`, new Blob(['a note'], { type: 'text/plain' }));
  assert.equal(blobError, null);

  const { data: root, error: listError } = await files.list(id);
  assert.equal(listError, null);
  assert.deepEqual(root.map((f) => f.name), ['docs', 'hello.txt']);
  assert.equal(root[0].id, null, 'folders have no id');
  assert.equal(root[1].metadata.mimetype, 'text/plain;charset=UTF-8');

  const { data: signed, error: signError } = await files.createSignedUrl(`${id}/hello.txt`, 60, { download: 'greeting.txt' });
  assert.equal(signError, null);
  const res = await fetch(signed.signedUrl);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'hello, replaced');
  assert.match(res.headers.get('content-disposition'), /filename=greeting\.txt/);

  const { data: urls } = await files.createSignedUrls([`${id}/hello.txt`, `${id}/missing.txt`], 60);
  assert.ok(urls[0].signedUrl);
  assert.equal(urls[1].signedUrl, null);
  assert.ok(urls[1].error);

  const { error: moveError } = await files.move(`${id}/hello.txt`, `${id}/moved.txt`);
  assert.equal(moveError, null);
  const { data: copied, error: copyError } = await files.copy(`${id}/moved.txt`, `${id}/copy.txt`);
  assert.equal(copyError, null);
  assert.equal(copied.path, `${bucket}/${id}/copy.txt`);
  assert.equal(await (await files.download(`${id}/copy.txt`)).data.text(), 'hello, replaced');

  const { data: removed, error: removeError } = await files.remove([`${id}/moved.txt`, `${id}/copy.txt`, `${id}/docs/note.txt`]);
  assert.equal(removeError, null);
  assert.equal(removed.length, 3);
  assert.deepEqual((await files.list(id)).data, []);
});

test('policies keep users out of each other\'s files', async () => {
  const bucket = await newBucket('private');
  const a = await signedIn('alice');
  const b = await signedIn('bob');
  assert.equal((await a.supabase.storage.from(bucket).upload(`${a.id}/diary.txt`, 'dear diary')).error, null);

  const { error: readError } = await b.supabase.storage.from(bucket).download(`${a.id}/diary.txt`);
  assert.ok(readError, 'bob cannot read alice\'s file');
  const { error: writeError } = await b.supabase.storage.from(bucket).upload(`${a.id}/diary.txt`, 'overwritten', { upsert: true });
  assert.equal(writeError.statusCode, '403');
  assert.match(writeError.message, /row-level security/);
  const { data: listed } = await b.supabase.storage.from(bucket).list(a.id);
  assert.deepEqual(listed, []);
  const { data: removed } = await b.supabase.storage.from(bucket).remove([`${a.id}/diary.txt`]);
  assert.deepEqual(removed, []);
  const { error: anonError } = await client().storage.from(bucket).upload('anon.txt', 'x');
  assert.equal(anonError.statusCode, '403');

  assert.equal(await (await a.supabase.storage.from(bucket).download(`${a.id}/diary.txt`)).data.text(), 'dear diary');
});

test('signed upload URLs upload without a token', async () => {
  const bucket = await newBucket('private');
  const { supabase, id } = await signedIn('uploader');
  const files = supabase.storage.from(bucket);
  const { data: target, error } = await files.createSignedUploadUrl(`${id}/from-url.txt`);
  assert.equal(error, null);
  assert.ok(target.token);

  const { data: uploaded, error: uploadError } = await client().storage
    .from(bucket)
    .uploadToSignedUrl(`${id}/from-url.txt`, target.token, 'sent through a signed URL', { contentType: 'text/plain' });
  assert.equal(uploadError, null);
  assert.equal(uploaded.fullPath, `${bucket}/${id}/from-url.txt`);
  assert.equal(await (await files.download(`${id}/from-url.txt`)).data.text(), 'sent through a signed URL');
});

test('public buckets serve getPublicUrl without a key, and image transforms', async () => {
  const bucket = await newBucket('public', { public: true, allowedMimeTypes: ['image/*'] });
  const files = admin.storage.from(bucket);
  const png = pngBytes();
  const { error } = await files.upload('img/red.png', new Blob([png], { type: 'image/png' }));
  assert.equal(error, null);

  const { data: pub } = client().storage.from(bucket).getPublicUrl('img/red.png');
  const res = await fetch(pub.publicUrl);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

  const { data: small } = client().storage.from(bucket).getPublicUrl('img/red.png', { transform: { width: 10, height: 10, resize: 'contain' } });
  const resized = await fetch(small.publicUrl);
  assert.equal(resized.status, 200);
  assert.deepEqual(pngSize(Buffer.from(await resized.arrayBuffer())), { width: 10, height: 5 });

  const { data: rendered, error: renderError } = await files.download('img/red.png', { transform: { width: 8, height: 8, resize: 'cover' } });
  assert.equal(renderError, null);
  assert.deepEqual(pngSize(Buffer.from(await rendered.arrayBuffer())), { width: 8, height: 8 });

  const { data: signed } = await files.createSignedUrl('img/red.png', 60, { transform: { width: 20, height: 10, resize: 'fill' } });
  const fromSigned = await fetch(signed.signedUrl);
  assert.equal(fromSigned.status, 200);
  assert.deepEqual(pngSize(Buffer.from(await fromSigned.arrayBuffer())), { width: 20, height: 10 });

  const { error: mimeError } = await files.upload('notes.txt', 'text', { contentType: 'text/plain' });
  assert.equal(mimeError.statusCode, '415');
  assert.equal(mimeError.message, 'mime type text/plain is not supported');
});

test('route words are no bucket names, and no path falls through to an upload', async () => {
  for (const word of ['list-v2', 'list', 'info', 'public']) {
    const { data, error } = await admin.storage.createBucket(word);
    assert.equal(data, null);
    assert.equal(error.statusCode, '400');
    assert.match(error.message, /reserved/);
  }
  const bucket = await newBucket('routes');
  // POST /object/list-v2/{bucket}/{name} is no route: it answers 404 and stores nothing.
  const res = await fetch(`${url}/storage/v1/object/list-v2/${bucket}/smuggled.txt`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${serviceRoleKey}`, 'Content-Type': 'text/plain' },
    body: 'stored by mistake',
  });
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.statusCode, '404');
  assert.equal(body.message, `Route POST:/object/list-v2/${bucket}/smuggled.txt not found`);
  // storage-js's own calls to a bucket named so get the same answer.
  const { error: uploadError } = await admin.storage.from('info').upload('a/b.txt', 'x');
  assert.equal(uploadError.statusCode, '404');
  const { data: listed } = await admin.storage.from(bucket).listV2();
  assert.deepEqual(listed.objects, []);
});

test('listV2 pages folders and objects with a cursor', async () => {
  const bucket = await newBucket('listv2');
  const files = admin.storage.from(bucket);
  for (const name of ['docs/a.txt', 'docs/b.txt', 'docs/deep/c.txt', 'docs.txt', 'notes/n.txt', 'z.txt']) {
    assert.equal((await files.upload(name, name, { contentType: 'text/plain' })).error, null);
  }

  const { data: root, error } = await files.listV2({ with_delimiter: true });
  assert.equal(error, null);
  assert.equal(root.hasNext, false);
  assert.equal(root.nextCursor, undefined);
  assert.deepEqual(root.folders.map((f) => [f.key, f.name]), [['docs', 'docs/'], ['notes', 'notes/']]);
  assert.deepEqual(root.objects.map((o) => o.name), ['docs.txt', 'z.txt']);
  assert.equal(root.objects[0].metadata.mimetype, 'text/plain');
  assert.match(root.objects[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const { data: docs } = await files.listV2({ prefix: 'docs/', with_delimiter: true });
  assert.deepEqual(docs.folders.map((f) => f.name), ['docs/deep/']);
  assert.deepEqual(docs.objects.map((o) => [o.key, o.name]), [['a.txt', 'docs/a.txt'], ['b.txt', 'docs/b.txt']]);

  // Without a delimiter every object under the prefix, which is a plain string.
  const { data: flat } = await files.listV2({ prefix: 'docs' });
  assert.deepEqual(flat.objects.map((o) => o.name), ['docs.txt', 'docs/a.txt', 'docs/b.txt', 'docs/deep/c.txt']);
  assert.deepEqual(flat.folders, []);

  // Pages of two, by name from the end, followed through nextCursor.
  const seen = [];
  let cursor;
  for (let page = 0; page < 10; page++) {
    const { data, error: pageError } = await files.listV2({
      limit: 2,
      sortBy: { column: 'name', order: 'desc' },
      ...(cursor ? { cursor } : {}),
    });
    assert.equal(pageError, null);
    assert.ok(data.objects.length <= 2);
    seen.push(...data.objects.map((o) => o.name));
    if (!data.hasNext) break;
    cursor = data.nextCursor;
  }
  assert.deepEqual(seen, ['z.txt', 'notes/n.txt', 'docs/deep/c.txt', 'docs/b.txt', 'docs/a.txt', 'docs.txt']);
});

test('info returns metadata {} for an object uploaded without any', async () => {
  const bucket = await newBucket('info');
  const files = admin.storage.from(bucket);
  assert.equal((await files.upload('plain.txt', 'plain', { contentType: 'text/plain' })).error, null);
  const { data, error } = await files.info('plain.txt');
  assert.equal(error, null);
  assert.deepEqual(data.metadata, {});
  assert.equal(data.metadata.owner, undefined);

  assert.equal((await files.upload('tagged.txt', 'tagged', { metadata: { owner: 'me' } })).error, null);
  assert.deepEqual((await files.info('tagged.txt')).data.metadata, { owner: 'me' });
});
