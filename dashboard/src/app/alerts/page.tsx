"use client";

import { useState } from "react";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { can, useMe } from "@/lib/session";

interface Alert {
  id: number;
  rule: string;
  severity: string;
  subject: string;
  message: string;
  details?: unknown;
  first_seen: string;
  last_seen: string;
  count: number;
  status: "open" | "acknowledged" | "resolved";
  action?: string | null;
  action_until?: string | null;
  acknowledged_at?: string | null;
  resolved_at?: string | null;
}

// The rules of docs/alerts.md; the API refuses any other value with validation_failed.
const RULES = [
  "brute_force_account",
  "brute_force_ip",
  "credential_stuffing",
  "admin_new_ip",
  "privilege_escalation",
  "unauthorized_burst",
  "emergency_access",
  "emergency_access_used",
  "audit_chain_broken",
];

interface Filters {
  status: string;
  rule: string;
  severity: string;
}

function query(f: Filters, cursor?: string | null): string {
  const q = new URLSearchParams({ limit: "50" });
  if (f.status) q.set("status", f.status);
  if (f.rule) q.set("rule", f.rule);
  if (f.severity) q.set("severity", f.severity);
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

function Alerts() {
  const me = useMe();
  const mayHandle = can(me, "can_manage_auth");
  const [draft, setDraft] = useState<Filters>({ status: "", rule: "", severity: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [more, setMore] = useState<Alert[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const list = useLoad(async () => {
    const page = await api<{ alerts: Alert[]; next_cursor: string | null }>("GET", `/admin/v1/alerts?${query(filters)}`);
    setMore([]);
    setCursor(page.next_cursor);
    return page.alerts;
  }, [filters]);
  const act = useAction();
  const [open, setOpen] = useState<number | null>(null);

  async function loadMore() {
    await act.run(async () => {
      const page = await api<{ alerts: Alert[]; next_cursor: string | null }>("GET", `/admin/v1/alerts?${query(filters, cursor)}`);
      setMore((m) => [...m, ...page.alerts]);
      setCursor(page.next_cursor);
    });
  }

  async function handle(a: Alert, what: "acknowledge" | "resolve") {
    if (
      await act.run(async () => {
        await api("POST", `/admin/v1/alerts/${a.id}/${what}`);
        return `Alert ${a.id} (${a.rule}, ${a.subject}) ${what === "acknowledge" ? "acknowledged" : "resolved"}.`;
      })
    )
      list.reload();
  }

  const alerts = [...(list.data ?? []), ...more];
  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLSelectElement>) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <>
      <Feedback error={act.error || list.error} message={act.message} />
      <form
        className="toolbar"
        aria-label="Filter alerts"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...draft });
        }}
      >
        <label>
          Status
          <select value={draft.status} onChange={set("status")}>
            <option value="">any</option>
            <option value="open">open</option>
            <option value="acknowledged">acknowledged</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          Rule
          <select value={draft.rule} onChange={set("rule")}>
            <option value="">any</option>
            {RULES.map((r) => (
              <option key={r} value={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={draft.severity} onChange={set("severity")}>
            <option value="">any</option>
            <option value="critical">critical</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </label>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={list.reload}>Refresh</button>
      </form>
      {!mayHandle && <p className="muted">Your admin level can read alerts; acknowledging and resolving them needs can_manage_auth.</p>}
      <p className="muted" role="status">
        {list.loading ? "Loading…" : `${alerts.length} alert${alerts.length === 1 ? "" : "s"}${cursor ? " (more below)" : ""}`}
      </p>
      <div className="scroll-x">
        <table className="list" data-testid="alerts">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Severity</th>
              <th scope="col">Rule</th>
              <th scope="col">Subject</th>
              <th scope="col">Message</th>
              <th scope="col">Hits</th>
              <th scope="col">Last seen</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={a.id}>
                <td>{a.id}</td>
                <td><span className="badge">{a.severity}</span></td>
                <td>{a.rule}</td>
                <td><code>{a.subject}</code></td>
                <td>
                  {a.message}
                  {a.action && a.action !== "none" && <div className="muted">Action: {a.action}{a.action_until ? ` until ${new Date(a.action_until).toLocaleString()}` : ""}</div>}
                  <button type="button" className="link" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                    {open === a.id ? "Hide details" : "Details"}
                  </button>
                  {open === a.id && <pre className="details" tabIndex={0} aria-label={`Details of alert ${a.id}`}>{JSON.stringify(a.details ?? {}, null, 2)}</pre>}
                </td>
                <td>{a.count}</td>
                <td>{new Date(a.last_seen).toLocaleString()}</td>
                <td>{a.status}</td>
                <td className="actions">
                  {mayHandle && a.status === "open" && (
                    <button type="button" onClick={() => handle(a, "acknowledge")} aria-label={`Acknowledge alert ${a.id}`}>Acknowledge</button>
                  )}
                  {mayHandle && a.status !== "resolved" && (
                    <button type="button" onClick={() => handle(a, "resolve")} aria-label={`Resolve alert ${a.id}`}>Resolve</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor && (
        <div className="toolbar">
          <button type="button" onClick={loadMore} disabled={act.busy}>Load more</button>
        </div>
      )}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Alerts" need="can_view_all_logs">
      <Alerts />
    </Shell>
  );
}
