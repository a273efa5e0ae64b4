"use client";

import { Fragment, useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { can, useMe } from "@/lib/session";

interface Entry {
  id: number;
  occurred_at: string;
  actor_type: string;
  actor_id?: string;
  actor_email?: string;
  action: string;
  resource_type?: string;
  resource_id?: string;
  outcome: string;
  severity: string;
  ip?: string;
  details?: unknown;
  seq: number | null;
}

interface Verify {
  ok: boolean;
  checked: number;
  archived: number;
  unsealed: number;
  first_broken?: { problem: string; seq: number; detail: string } | null;
}

const FILTERS = ["action", "actor", "actor_type", "resource_type", "resource_id", "outcome", "severity", "from", "to"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function query(f: Filters): string {
  const q = new URLSearchParams();
  for (const k of FILTERS) {
    let v = f[k]?.trim();
    if (!v) continue;
    // datetime-local gives a local time without a zone; the API takes RFC 3339.
    if ((k === "from" || k === "to") && !/[zZ]|[+-]\d\d:\d\d$/.test(v)) v = new Date(v).toISOString();
    q.set(k, v);
  }
  return q.toString();
}

function Audit() {
  const me = useMe();
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<number | null>(null);
  const [tail, setTail] = useState(false);
  const verify = useLoad(
    () => (can(me, "can_view_all_logs") ? api<Verify>("GET", "/admin/v1/audit/verify") : Promise.resolve(null)),
    [],
  );

  async function load(after: string | null) {
    try {
      const q = query(filters);
      const page = await api<{ entries: Entry[]; next_cursor: string | null }>(
        "GET", `/admin/v1/audit?limit=100${q ? "&" + q : ""}${after ? `&cursor=${encodeURIComponent(after)}` : ""}`,
      );
      setEntries((prev) => (after ? [...prev, ...page.entries] : page.entries));
      setCursor(page.next_cursor);
      setError("");
    } catch (e) {
      setError((e as Error).message);
    }
  }
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => { load(null); }, [filters]);
  // The live tail reads the newest page again every few seconds while it is on.
  useEffect(() => {
    if (!tail) return;
    const id = setInterval(() => load(null), 3000);
    return () => clearInterval(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tail, filters]);

  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setDraft({ ...draft, [k]: e.target.value });
  const q = query(filters);
  const v = verify.data;
  return (
    <>
      {v && (
        <p className={v.ok ? "ok" : "error"} role="status" data-testid="verify">
          {v.ok
            ? `Chain verified: ${v.checked} entries checked${v.archived ? ` (${v.archived} archived)` : ""}, ${v.unsealed} not sealed yet.`
            : `The audit log was tampered with: ${v.first_broken?.problem} at entry ${v.first_broken?.seq}. ${v.first_broken?.detail ?? ""}`}
        </p>
      )}
      {verify.error && <p className="error" role="alert">Verification failed: {verify.error}</p>}
      <form className="toolbar" role="search" aria-label="Filter the audit log" onSubmit={(e) => { e.preventDefault(); setFilters(draft); }}>
        <label>Action (auth.* for a prefix)<input value={draft.action ?? ""} onChange={set("action")} /></label>
        <label>Actor (id or email)<input value={draft.actor ?? ""} onChange={set("actor")} /></label>
        <label>Outcome
          <select value={draft.outcome ?? ""} onChange={set("outcome")}>
            <option value="">any</option><option>success</option><option>denied</option><option>error</option>
          </select>
        </label>
        <label>Severity
          <select value={draft.severity ?? ""} onChange={set("severity")}>
            <option value="">any</option><option>info</option><option>warning</option><option>critical</option>
          </select>
        </label>
        <label>From<input type="datetime-local" value={draft.from ?? ""} onChange={set("from")} /></label>
        <label>To<input type="datetime-local" value={draft.to ?? ""} onChange={set("to")} /></label>
        <button type="submit">Apply filters</button>
        <label className="inline"><input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} /> Live tail</label>
      </form>
      {can(me, "can_export_data") && (
        <p className="actions">
          <a className="button" href={`/admin/v1/audit/export?format=csv${q ? "&" + q : ""}`} download="audit.csv">Export CSV</a>
          <a className="button" href={`/admin/v1/audit/export?format=ndjson${q ? "&" + q : ""}`} download="audit.ndjson">Export NDJSON</a>
        </p>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="scroll-x">
        <table className="list" data-testid="audit">
          <thead>
            <tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Severity</th><th scope="col">Details</th></tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <Fragment key={e.id}>
                <tr>
                  <td>{new Date(e.occurred_at).toLocaleString()}</td>
                  <td>{e.actor_email || e.actor_id || e.actor_type}</td>
                  <td><code>{e.action}</code></td>
                  <td>{[e.resource_type, e.resource_id].filter(Boolean).join(" ")}</td>
                  <td>{e.outcome}</td>
                  <td>{e.severity}</td>
                  <td><button type="button" className="small" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>{open === e.id ? "Hide" : "Show"}</button></td>
                </tr>
                {open === e.id && (
                  <tr><td colSpan={7}><pre>{JSON.stringify({ ip: e.ip, seq: e.seq, details: e.details }, null, 2)}</pre></td></tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
      {entries.length === 0 && !error && <p className="muted">No entries match.</p>}
      {cursor && <button type="button" onClick={() => load(cursor)}>Load older entries</button>}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Audit log" need="can_view_basic_logs">
      <Audit />
    </Shell>
  );
}
