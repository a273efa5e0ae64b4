"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction } from "@/components/useLoad";
import { api } from "@/lib/api";
import { Bucket, formatSize, STORAGE } from "@/lib/storage";

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

/** The bucket list with create, settings and delete (emptied first, with confirmation). */
export function Buckets({ buckets, reload, open }: { buckets: Bucket[]; reload: () => void; open: (b: string) => void }) {
  const act = useAction();
  const [form, setForm] = useState({ name: "", isPublic: false, limit: "", mimes: "" });
  const [deleting, setDeleting] = useState<Bucket | null>(null);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const name = form.name.trim();
    if (await act.run(async () => {
      await api("POST", `${STORAGE}/bucket`, {
        name, id: name, public: form.isPublic,
        file_size_limit: form.limit.trim() ? Math.round(Number(form.limit) * 1024 * 1024) : null,
        allowed_mime_types: list(form.mimes).length ? list(form.mimes) : null,
      });
      return `Bucket ${name} created (${form.isPublic ? "public" : "private"}).`;
    })) {
      setForm({ name: "", isPublic: false, limit: "", mimes: "" });
      reload();
    }
  }

  function setPublic(b: Bucket, isPublic: boolean) {
    act.run(async () => {
      await api("PUT", `${STORAGE}/bucket/${encodeURIComponent(b.id)}`, { public: isPublic, file_size_limit: b.file_size_limit, allowed_mime_types: b.allowed_mime_types });
      return `Bucket ${b.name} is now ${isPublic ? "public: anyone with a link reads its files" : "private"}.`;
    }).then((ok) => ok && reload());
  }

  return (
    <section aria-labelledby="buckets-title">
      <h2 id="buckets-title">Buckets</h2>
      <Feedback error={act.error} message={act.message} />
      <details>
        <summary>Create a bucket</summary>
        <form className="card" onSubmit={create}>
          <label>
            Bucket name
            <input type="text" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </label>
          <label className="inline">
            <input type="checkbox" checked={form.isPublic} onChange={(e) => setForm({ ...form, isPublic: e.target.checked })} />
            Public (files are readable by anyone with their URL)
          </label>
          <label>
            Size limit per file in MB (empty: the server&apos;s)
            <input type="number" min="0" step="any" value={form.limit} onChange={(e) => setForm({ ...form, limit: e.target.value })} />
          </label>
          <label>
            Allowed MIME types (separated by commas, e.g. image/*, application/pdf; empty: any)
            <input type="text" value={form.mimes} onChange={(e) => setForm({ ...form, mimes: e.target.value })} />
          </label>
          <button type="submit" className="primary" disabled={act.busy}>Create bucket</button>
        </form>
      </details>
      <div className="scroll-x">
        <table className="list" data-testid="buckets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Access</th>
              <th scope="col">Size limit</th>
              <th scope="col">MIME types</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {buckets.map((b) => (
              <tr key={b.id}>
                <td><button type="button" className="linkish" onClick={() => open(b.id)}>{b.name}</button></td>
                <td>{b.public ? "public" : "private"}</td>
                <td>{b.file_size_limit ? formatSize(b.file_size_limit) : "server's"}</td>
                <td>{b.allowed_mime_types?.join(", ") || "any"}</td>
                <td className="actions">
                  <button type="button" aria-label={`Make ${b.public ? "private" : "public"} ${b.name}`} onClick={() => setPublic(b, !b.public)}>
                    Make {b.public ? "private" : "public"}
                  </button>
                  <button type="button" className="danger" aria-label={`Delete bucket ${b.name}`} onClick={() => setDeleting(b)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!deleting}
        title="Delete this bucket?"
        confirmLabel="Delete bucket and its files"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const b = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("POST", `${STORAGE}/bucket/${encodeURIComponent(b.id)}/empty`);
            await api("DELETE", `${STORAGE}/bucket/${encodeURIComponent(b.id)}`);
            return `Bucket ${b.name} deleted.`;
          }).then((ok) => ok && reload());
        }}
      >
        <p>Every file in {deleting?.name} is deleted, then the bucket. Links to its files stop working. This cannot be undone.</p>
      </Confirm>
    </section>
  );
}
