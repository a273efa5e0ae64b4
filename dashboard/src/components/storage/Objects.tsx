"use client";

import { useRef, useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { Bucket, formatSize, listObjects, objectPath, objectURL, STORAGE, StoredObject, upload } from "@/lib/storage";

// Storage has no folders: a prefix is one, and an empty folder holds Supabase Studio's
// placeholder file so that it exists.
const PLACEHOLDER = ".emptyFolderPlaceholder";

function kindOf(o: StoredObject): "image" | "video" | "audio" | "text" | "pdf" | "other" {
  const t = o.metadata?.mimetype ?? "";
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  if (t.startsWith("audio/")) return "audio";
  if (t === "application/pdf") return "pdf";
  if (t.startsWith("text/") || t === "application/json") return "text";
  return "other";
}

function Preview({ bucket, path, object }: { bucket: string; path: string; object: StoredObject }) {
  const src = objectURL(bucket, path);
  const kind = kindOf(object);
  const text = useLoad(
    () => (kind === "text" ? fetch(src, { credentials: "same-origin" }).then((r) => r.text()).then((t) => t.slice(0, 20000)) : Promise.resolve("")),
    [src, kind],
  );
  return (
    <section className="card" aria-label={`Preview of ${object.name}`} data-testid="preview">
      <h3>{object.name}</h3>
      <p className="muted">{object.metadata?.mimetype} · {formatSize(object.metadata?.size)}</p>
      {kind === "image" && <img src={src} alt={`Preview of ${object.name}`} className="preview" />}
      {kind === "video" && <video src={src} controls className="preview" aria-label={`Video ${object.name}`} />}
      {kind === "audio" && <audio src={src} controls aria-label={`Audio ${object.name}`} />}
      {kind === "text" && <pre data-testid="preview-text">{text.data}</pre>}
      {(kind === "pdf" || kind === "other") && <p>No preview for this type: download it to open it.</p>}
    </section>
  );
}

export function Objects({ bucket, back }: { bucket: Bucket; back: () => void }) {
  const [prefix, setPrefix] = useState("");
  const list = useLoad(() => listObjects(bucket.id, prefix), [bucket.id, prefix]);
  const act = useAction();
  const [progress, setProgress] = useState<{ name: string; fraction: number } | null>(null);
  const [selected, setSelected] = useState<StoredObject | null>(null);
  const [signed, setSigned] = useState<{ name: string; url: string } | null>(null);
  const [expiry, setExpiry] = useState("3600");
  const [folder, setFolder] = useState("");
  const [moving, setMoving] = useState<{ from: string; to: string } | null>(null);
  const [deleting, setDeleting] = useState<StoredObject | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const items = (list.data ?? []).filter((o) => o.name !== PLACEHOLDER);
  const folders = items.filter((o) => o.id === null);
  const files = items.filter((o) => o.id !== null);
  const crumbs = prefix.split("/").filter(Boolean);

  function go(p: string) {
    setPrefix(p);
    setSelected(null);
    setSigned(null);
  }

  async function uploadFiles(fs: FileList | null) {
    if (!fs?.length) return;
    const chosen = Array.from(fs);
    if (await act.run(async () => {
      for (const f of chosen) {
        setProgress({ name: f.name, fraction: 0 });
        await upload(bucket.id, prefix + f.name, f, (fraction) => setProgress({ name: f.name, fraction }));
      }
      return chosen.length === 1 ? `Uploaded ${chosen[0]!.name}.` : `Uploaded ${chosen.length} files.`;
    })) list.reload();
    setProgress(null);
    if (fileInput.current) fileInput.current.value = "";
  }

  async function createFolder(e: React.FormEvent) {
    e.preventDefault();
    const name = folder.trim().replace(/\/+$/, "");
    if (await act.run(async () => {
      await upload(bucket.id, `${prefix}${name}/${PLACEHOLDER}`, new Blob([], { type: "application/octet-stream" }), () => {});
      return `Folder ${name} created.`;
    })) {
      setFolder("");
      list.reload();
    }
  }

  async function sign(o: StoredObject) {
    await act.run(async () => {
      const res = await api<{ signedURL: string }>("POST", `${STORAGE}/object/sign/${objectPath(bucket.id, prefix + o.name)}`, { expiresIn: Number(expiry) });
      // The signed route needs no session: the link works anywhere until it expires.
      setSigned({ name: o.name, url: `${window.location.origin}/storage/v1${res.signedURL}` });
    });
  }

  async function move(e: React.FormEvent) {
    e.preventDefault();
    const m = moving!;
    if (await act.run(async () => {
      await api("POST", `${STORAGE}/object/move`, { bucketId: bucket.id, sourceKey: m.from, destinationKey: m.to.trim() });
      return `Moved ${m.from} to ${m.to.trim()}.`;
    })) {
      setMoving(null);
      setSelected(null);
      list.reload();
    }
  }

  return (
    <section aria-labelledby="objects-title">
      <h2 id="objects-title">Bucket {bucket.name}</h2>
      <nav aria-label="Folder" className="toolbar">
        <button type="button" onClick={back}>All buckets</button>
        <button type="button" className="linkish" onClick={() => go("")}>{bucket.name}</button>
        {crumbs.map((c, i) => (
          <span key={i}>
            / <button type="button" className="linkish" onClick={() => go(crumbs.slice(0, i + 1).join("/") + "/")}>{c}</button>
          </span>
        ))}
      </nav>
      <Feedback error={act.error || list.error} message={act.message} />
      <div className="toolbar">
        <label>
          Upload files
          <input ref={fileInput} type="file" multiple onChange={(e) => uploadFiles(e.target.files)} disabled={act.busy} />
        </label>
        <form onSubmit={createFolder} className="toolbar">
          <label>
            New folder
            <input type="text" required value={folder} onChange={(e) => setFolder(e.target.value)} pattern="[^/]+/?" />
          </label>
          <button type="submit">Create folder</button>
        </form>
        <label>
          Signed links expire after (seconds)
          <input type="number" min="1" value={expiry} onChange={(e) => setExpiry(e.target.value)} />
        </label>
      </div>
      {progress && (
        <p role="status">
          <label>
            Uploading {progress.name}
            <progress max={1} value={progress.fraction}>{Math.round(progress.fraction * 100)}%</progress>
          </label>
        </p>
      )}
      <p className="muted" role="status">{list.loading ? "Loading…" : `${folders.length} folders, ${files.length} files in /${prefix}`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="objects">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Size</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {folders.map((f) => (
              <tr key={`d:${f.name}`}>
                <td><button type="button" className="linkish" onClick={() => go(`${prefix}${f.name}/`)}>{f.name}/</button></td>
                <td>folder</td>
                <td></td>
                <td></td>
                <td></td>
              </tr>
            ))}
            {files.map((o) => (
              <tr key={o.id}>
                <td><button type="button" className="linkish" aria-label={`Preview ${o.name}`} onClick={() => { setSelected(o); setSigned(null); }}>{o.name}</button></td>
                <td>{o.metadata?.mimetype}</td>
                <td>{formatSize(o.metadata?.size)}</td>
                <td>{o.updated_at ? new Date(o.updated_at).toLocaleString() : ""}</td>
                <td className="actions">
                  <a className="button" href={`${objectURL(bucket.id, prefix + o.name)}?download`} aria-label={`Download ${o.name}`}>Download</a>
                  <button type="button" aria-label={`Signed link for ${o.name}`} onClick={() => sign(o)}>Signed link</button>
                  <button type="button" aria-label={`Move ${o.name}`} onClick={() => setMoving({ from: prefix + o.name, to: prefix + o.name })}>Move</button>
                  <button type="button" className="danger" aria-label={`Delete ${o.name}`} onClick={() => setDeleting(o)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {signed && (
        <div className="card">
          <label>
            Signed link to {signed.name}
            <input type="text" readOnly className="key" value={signed.url} onFocus={(e) => e.target.select()} />
          </label>
        </div>
      )}
      {moving && (
        <form className="card" onSubmit={move} aria-label="Move file">
          <label>
            New path of {moving.from}
            <input type="text" required value={moving.to} onChange={(e) => setMoving({ ...moving, to: e.target.value })} />
          </label>
          <div className="actions">
            <button type="submit" className="primary">Move</button>
            <button type="button" onClick={() => setMoving(null)}>Cancel</button>
          </div>
        </form>
      )}
      {selected && <Preview key={selected.id} bucket={bucket.id} path={prefix + selected.name} object={selected} />}
      <Confirm
        open={!!deleting}
        title="Delete this file?"
        confirmLabel="Delete file"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const o = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `${STORAGE}/object/${encodeURIComponent(bucket.id)}`, { prefixes: [prefix + o.name] });
            if (selected?.id === o.id) setSelected(null);
            return `Deleted ${o.name}.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>{deleting?.name} is deleted from {bucket.name}; its links, signed ones included, stop working. This cannot be undone.</p>
      </Confirm>
    </section>
  );
}
