"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

interface Actor {
  type: string;
  id?: string;
  email?: string;
}

interface Key {
  id: string;
  name: string;
  kind: "publishable" | "secret";
  prefix: string;
  scopes: { services?: string[] | null; tables?: string[] | null };
  created_at: string;
  created_by: Actor;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const SERVICES = ["auth", "rest", "realtime", "storage", "admin", "meta", "metrics"];

const when = (t: string | null, none: string) => (t ? new Date(t).toLocaleString() : none);
const who = (a: Actor) => a.email || (a.id ? `${a.type} ${a.id}` : a.type);

function scopeText(k: Key): string {
  const s = k.scopes?.services?.length ? k.scopes.services.join(", ") : "all services";
  const t = k.scopes?.tables?.length ? k.scopes.tables.join(", ") : "all tables";
  return `${s}; ${t}`;
}

/** The new key, shown once: the server keeps only its hash. */
function Shown({ created, onDone }: { created: Key & { api_key: string }; onDone: () => void }) {
  const [copied, setCopied] = useState("");
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.api_key);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopied("The browser did not allow copying: select the key and copy it by hand.");
    }
  }
  return (
    <section className="card" aria-labelledby="shown-title" data-testid="new-key">
      <h2 id="shown-title">Key “{created.name}” created</h2>
      <p>
        Copy it now: it is shown only this once. Go Forward keeps only its hash, so a lost key cannot be shown again;
        revoke it and create another.
        {created.kind === "secret" && " A secret key acts as the service role: keep it on servers, never in a browser or an app."}
      </p>
      <label>
        The new {created.kind} key
        <input type="text" readOnly className="key" value={created.api_key} onFocus={(e) => e.target.select()} data-testid="key-value" />
      </label>
      <div className="actions">
        <button type="button" className="primary" onClick={copy}>Copy key</button>
        <button type="button" onClick={onDone}>I have stored it</button>
      </div>
      {copied && <p role="status">{copied}</p>}
    </section>
  );
}

function Keys() {
  const [showRevoked, setShowRevoked] = useState(false);
  const list = useLoad(
    () => api<{ api_keys: Key[] }>("GET", `/admin/v1/api-keys${showRevoked ? "?include_revoked=true" : ""}`),
    [showRevoked],
  );
  const act = useAction();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"publishable" | "secret">("publishable");
  const [services, setServices] = useState<string[]>([]);
  const [tables, setTables] = useState("");
  const [expiresDays, setExpiresDays] = useState("");
  const [created, setCreated] = useState<(Key & { api_key: string }) | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    if (
      await act.run(async () => {
        const body: Record<string, unknown> = {
          name: name.trim(),
          kind,
          scopes: {
            services,
            tables: tables.split(/[\s,]+/).filter(Boolean),
          },
        };
        if (expiresDays.trim()) body.expires_in = Math.round(Number(expiresDays) * 86400);
        const k = await api<Key & { api_key: string }>("POST", "/admin/v1/api-keys", body);
        setCreated(k);
      })
    ) {
      setName("");
      setServices([]);
      setTables("");
      setExpiresDays("");
      list.reload();
    }
  }

  const keys = list.data?.api_keys ?? [];
  return (
    <>
      <Feedback error={act.error || list.error} message={act.message} />
      {created && <Shown created={created} onDone={() => setCreated(null)} />}
      <details>
        <summary>Create a key</summary>
        <form onSubmit={create} className="card">
          <label>
            Name
            <input type="text" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.target.value as "publishable" | "secret")}>
              <option value="publishable">publishable (acts as anon: browsers and apps)</option>
              <option value="secret">secret (acts as the service role: servers only)</option>
            </select>
          </label>
          <fieldset>
            <legend>Services (none checked: all)</legend>
            {SERVICES.map((s) => (
              <label key={s} className="inline">
                <input
                  type="checkbox"
                  checked={services.includes(s)}
                  onChange={(e) => setServices(e.target.checked ? [...services, s] : services.filter((x) => x !== s))}
                />
                {s}
              </label>
            ))}
          </fieldset>
          <label>
            Tables (schema.table or schema.*, separated by commas; empty: all)
            <input type="text" value={tables} onChange={(e) => setTables(e.target.value)} placeholder="public.orders, storage.*" />
          </label>
          <label>
            Expires in days (empty: never)
            <input type="number" min="0" step="any" value={expiresDays} onChange={(e) => setExpiresDays(e.target.value)} />
          </label>
          <button className="primary" type="submit" disabled={act.busy}>Create key</button>
        </form>
      </details>
      <div className="toolbar">
        <label className="inline">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />
          Show revoked keys
        </label>
      </div>
      <p className="muted" role="status">{list.loading ? "Loading…" : `${keys.length} key${keys.length === 1 ? "" : "s"}`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="api-keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scope</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>{k.kind}</td>
                <td><code>{k.prefix}…</code></td>
                <td>{scopeText(k)}</td>
                <td>{when(k.created_at, "")} by {who(k.created_by)}</td>
                <td>{when(k.expires_at, "never")}</td>
                <td>{when(k.last_used_at, "never")}</td>
                <td>{k.revoked_at ? <span className="badge">revoked</span> : "live"}</td>
                <td className="actions">
                  {!k.revoked_at && (
                    <button type="button" className="danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>Revoke</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!revoking}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          const k = revoking!;
          setRevoking(null);
          act
            .run(async () => {
              await api("DELETE", `/admin/v1/api-keys/${k.id}`);
              return `Key ${k.name} revoked: every node refuses it within a second.`;
            })
            .then((ok) => ok && list.reload());
        }}
      >
        <p>
          Every request with “{revoking?.name}” ({revoking?.prefix}…) is refused from now on, and realtime sockets opened with it are
          closed. This cannot be undone.
        </p>
      </Confirm>
    </>
  );
}

export default function Page() {
  return (
    <Shell title="API keys" need="can_manage_system">
      <Keys />
    </Shell>
  );
}
