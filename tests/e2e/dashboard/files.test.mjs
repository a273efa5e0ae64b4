// The storage browser (/files) on /admin/v1/storage/v1: buckets with limits, folders, upload
// with progress, previews, signed links, move and delete, as an admin with the session cookie.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureFirstAdmin, launch, makeAdmin, newPage, screenshotBothThemes, signIn, sql, unique, url } from './helpers.mjs';

let browser;
before(async () => {
  await ensureFirstAdmin();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// A 1×1 PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

async function objects(bucket) {
  return (await sql(`select name from storage.objects where bucket_id = '${bucket}' order by name`)).map((r) => r.name);
}

test('storage: create a bucket, a folder, upload and preview files, sign a link, move and delete', async () => {
  const bucket = unique('docs');
  const page = await newPage(browser);
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).click();
  await page.getByRole('heading', { name: 'Buckets' }).waitFor();
  await page.getByText('Create a bucket').click();
  await page.getByLabel('Bucket name').fill(bucket);
  await page.getByLabel(/^Size limit per file in MB/).fill('0.001');
  await page.getByLabel(/^Allowed MIME types/).fill('text/plain, image/png, application/octet-stream');
  await page.getByRole('button', { name: 'Create bucket' }).click();
  await page.getByRole('status').filter({ hasText: `Bucket ${bucket} created (private).` }).waitFor();
  const brow = page.getByTestId('buckets').getByRole('row').filter({ hasText: bucket });
  await brow.getByRole('cell', { name: '1.0 KB' }).waitFor();
  await screenshotBothThemes(page, 'storage-buckets');
  const [stored] = await sql(`select public, file_size_limit::int as l, allowed_mime_types from storage.buckets where id = '${bucket}'`);
  assert.deepEqual(stored, { public: false, l: 1049, allowed_mime_types: ['text/plain', 'image/png', 'application/octet-stream'] });

  await brow.getByRole('button', { name: bucket, exact: true }).click();
  await page.getByRole('heading', { name: `Bucket ${bucket}` }).waitFor();
  await page.getByLabel('New folder').fill('notes');
  await page.getByRole('button', { name: 'Create folder' }).click();
  await page.getByRole('status').filter({ hasText: 'Folder notes created.' }).waitFor();
  await page.getByTestId('objects').getByRole('button', { name: 'notes/' }).click();
  await page.getByRole('status').filter({ hasText: '0 folders, 0 files in /notes/' }).waitFor();

  await page.getByLabel('Upload files').setInputFiles([
    { name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the dashboard') },
    { name: 'dot.png', mimeType: 'image/png', buffer: png },
  ]);
  await page.getByRole('status').filter({ hasText: 'Uploaded 2 files.' }).waitFor();
  await page.getByRole('status').filter({ hasText: '0 folders, 2 files in /notes/' }).waitFor();
  assert.deepEqual(await objects(bucket), ['notes/.emptyFolderPlaceholder', 'notes/dot.png', 'notes/hello.txt']);

  // Previews: the text's content, the image decoded.
  await page.getByRole('button', { name: 'Preview hello.txt' }).click();
  await page.getByTestId('preview-text').filter({ hasText: 'hello from the dashboard' }).waitFor();
  await page.getByRole('button', { name: 'Preview dot.png' }).click();
  const img = page.getByRole('img', { name: 'Preview of dot.png' });
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('img.preview')?.naturalWidth === 1);
  await screenshotBothThemes(page, 'storage-objects');

  // Too big for the bucket's limit: refused in words, nothing stored.
  await page.getByLabel('Upload files').setInputFiles([{ name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(4096, 'x') }]);
  await page.getByRole('alert').filter({ hasText: /exceeded the maximum allowed size|too large/i }).waitFor();
  assert.ok(!(await objects(bucket)).includes('notes/big.txt'));

  // A signed link works without any session, until it expires.
  await page.getByLabel(/^Signed links expire after/).fill('120');
  await page.getByRole('button', { name: 'Signed link for hello.txt' }).click();
  const link = await page.getByLabel('Signed link to hello.txt').inputValue();
  assert.ok(link.startsWith(`${url}/storage/v1/object/sign/${bucket}/notes/hello.txt?token=`), link);
  const viaLink = await fetch(link);
  assert.equal(viaLink.status, 200);
  assert.equal(await viaLink.text(), 'hello from the dashboard');
  // The bucket is private: without the signature the file is not served.
  assert.notEqual((await fetch(`${url}/storage/v1/object/public/${bucket}/notes/hello.txt`)).status, 200);

  // Download goes through the admin session.
  const href = await page.getByRole('link', { name: 'Download hello.txt' }).getAttribute('href');
  const downloaded = await page.evaluate(async (h) => { const r = await fetch(h); return [r.status, r.headers.get('content-disposition'), await r.text()]; }, href);
  assert.equal(downloaded[0], 200);
  assert.match(downloaded[1], /attachment/);
  assert.equal(downloaded[2], 'hello from the dashboard');

  await page.getByRole('button', { name: 'Move hello.txt' }).click();
  await page.getByLabel('New path of notes/hello.txt').fill('notes/greeting.txt');
  await page.getByRole('form', { name: 'Move file' }).getByRole('button', { name: 'Move' }).click();
  await page.getByRole('status').filter({ hasText: 'Moved notes/hello.txt to notes/greeting.txt.' }).waitFor();
  await page.getByRole('button', { name: 'Preview greeting.txt' }).waitFor();

  await page.getByRole('button', { name: 'Delete dot.png' }).click();
  await page.getByRole('dialog', { name: 'Delete this file?' }).getByRole('button', { name: 'Delete file' }).click();
  await page.getByRole('status').filter({ hasText: 'Deleted dot.png.' }).waitFor();
  assert.deepEqual(await objects(bucket), ['notes/.emptyFolderPlaceholder', 'notes/greeting.txt']);
  const audited = await sql(`select count(*)::int as n from goforward.audit_log where action = 'admin.storage.delete' and resource_id = '/object/${bucket}'`);
  assert.deepEqual(audited, [{ n: 1 }]);

  // Public, then the bucket deleted with its files.
  await page.getByRole('button', { name: 'All buckets' }).click();
  await brow.getByRole('button', { name: `Make public ${bucket}` }).click();
  await brow.getByRole('cell', { name: 'public', exact: true }).waitFor();
  assert.equal((await fetch(`${url}/storage/v1/object/public/${bucket}/notes/greeting.txt`)).status, 200);
  await brow.getByRole('button', { name: `Delete bucket ${bucket}` }).click();
  await page.getByRole('dialog', { name: 'Delete this bucket?' }).getByRole('button', { name: 'Delete bucket and its files' }).click();
  await page.getByRole('status').filter({ hasText: `Bucket ${bucket} deleted.` }).waitFor();
  await brow.waitFor({ state: 'detached' });
  assert.deepEqual(await sql(`select count(*)::int as n from storage.buckets where id = '${bucket}'`), [{ n: 0 }]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('storage: a regular admin has no storage page, and the server refuses it', async () => {
  const who = await makeAdmin('regular_admin');
  const page = await newPage(browser);
  await signIn(page, who);
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).count(), 0);
  await page.goto(`${url}/files`);
  await page.getByRole('alert').filter({ hasText: 'does not give access to this page' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/admin/v1/storage/v1/bucket')).status);
  assert.equal(status, 403);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
