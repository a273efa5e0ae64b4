"use client";

import { useState } from "react";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { Bucket, formatSize, listObjects, STORAGE, upload } from "@/lib/storage";

export interface FileReference {
  file_id: string;
  url: string;
  filename: string;
  size: number;
  mime_type: string;
  metadata?: Record<string, string> | null;
}

// The reference's url is the object's address on /storage/v1: public for a public bucket,
// else the authenticated route (a signed link is made when it is shared).
function urlOf(b: Bucket, name: string) {
  const path = [b.id, ...name.split("/")].map(encodeURIComponent).join("/");
  return `/storage/v1/object/${b.public ? "public" : "authenticated"}/${path}`;
}

/** The file reference kind's picker: upload a file to a bucket, or pick one already there. */
export function FileReferencePicker({ label, value, onChange }: { label: string; value: FileReference | null; onChange: (v: FileReference | null) => void }) {
  const buckets = useLoad(() => api<Bucket[]>("GET", `${STORAGE}/bucket`), []);
  const [bucketId, setBucketId] = useState("");
  const bucket = buckets.data?.find((b) => b.id === (bucketId || buckets.data?.[0]?.id));
  const files = useLoad(() => (bucket ? listObjects(bucket.id, "") : Promise.resolve([])), [bucket?.id]);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState("");

  async function uploadOne(f: File | undefined) {
    if (!f || !bucket) return;
    setError("");
    try {
      setProgress(0);
      const name = `${crypto.randomUUID().slice(0, 8)}-${f.name}`;
      const res = await upload(bucket.id, name, f, setProgress);
      onChange({ file_id: res.Id, url: urlOf(bucket, name), filename: f.name, size: f.size, mime_type: f.type || "application/octet-stream", metadata: null });
      files.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setProgress(null);
    }
  }

  return (
    <fieldset className="file-picker">
      <legend>{label}</legend>
      <p data-testid="file-reference" aria-live="polite">
        {value ? `${value.filename} (${value.mime_type}, ${formatSize(value.size)})` : "No file."}
        {value && <button type="button" className="small" onClick={() => onChange(null)}>Clear file</button>}
      </p>
      {buckets.error && <p className="error" role="alert">{buckets.error}</p>}
      {buckets.data?.length === 0 && <p className="muted">No bucket yet: create one on the Storage page first.</p>}
      {bucket && (
        <>
          <label>
            Bucket
            <select value={bucket.id} onChange={(e) => setBucketId(e.target.value)}>
              {buckets.data!.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
            </select>
          </label>
          <label>
            Upload a file to {bucket.name}
            <input type="file" onChange={(e) => uploadOne(e.target.files?.[0])} />
          </label>
          {progress !== null && <progress max={1} value={progress} aria-label="Upload progress" />}
          <label>
            Or pick a file in {bucket.name}
            <select value="" onChange={(e) => {
              const o = files.data?.find((x) => x.id === e.target.value);
              if (o) onChange({ file_id: o.id!, url: urlOf(bucket, o.name), filename: o.name, size: o.metadata?.size ?? 0, mime_type: o.metadata?.mimetype ?? "application/octet-stream", metadata: null });
            }}>
              <option value="">Choose a file…</option>
              {(files.data ?? []).filter((o) => o.id).map((o) => <option key={o.id} value={o.id!}>{o.name}</option>)}
            </select>
          </label>
        </>
      )}
      {error && <p className="error" role="alert">{error}</p>}
    </fieldset>
  );
}
