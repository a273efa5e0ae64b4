-- Per-bucket choice of Go Forward's stricter upload check (storage.verify_content): whether a
-- bucket's allowed_mime_types is held against what an upload's first bytes look like as well
-- as against the Content-Type the client declared. NULL follows the server's setting; true
-- or false decides for this bucket. Supabase's storage.buckets has no such column, and the
-- bucket JSON of the API does not show it; it is set with SQL or in the body of
-- POST /storage/v1/bucket and PUT /storage/v1/bucket/{id}.
ALTER TABLE storage.buckets ADD COLUMN verify_content boolean;

COMMENT ON COLUMN storage.buckets.verify_content IS
  'Go Forward: check allowed_mime_types against the sniffed bytes of uploads too; NULL follows storage.verify_content.';
