-- Fixtures of storage.test.mjs: Supabase's documented per-user folder policies, applied to
-- the buckets the tests create (their ids start with storage-private-), so each test run's
-- buckets are covered without knowing their exact names.
CREATE POLICY "storage e2e: users upload into their own folder"
ON storage.objects FOR INSERT TO authenticated
WITH CHECK (
  bucket_id LIKE 'storage-private-%' AND
  (storage.foldername(name))[1] = (SELECT auth.uid()::text)
);

CREATE POLICY "storage e2e: users read their own files"
ON storage.objects FOR SELECT TO authenticated
USING (bucket_id LIKE 'storage-private-%' AND (SELECT auth.uid()) = owner_id::uuid);

CREATE POLICY "storage e2e: users update their own files"
ON storage.objects FOR UPDATE TO authenticated
USING (bucket_id LIKE 'storage-private-%' AND owner_id = (SELECT auth.uid()::text));

CREATE POLICY "storage e2e: users delete their own files"
ON storage.objects FOR DELETE TO authenticated
USING (bucket_id LIKE 'storage-private-%' AND owner_id = (SELECT auth.uid()::text));
