"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

interface Migration {
  version: string;
  name: string;
  status: string;
  applied_at?: string;
  applied_by?: string;
  reversible: boolean;
}

interface Step {
  version: string;
  name: string;
  direction: string;
  sql?: string;
}

function Migrations() {
  const list = useLoad(() => api<{ dir: string; migrations: Migration[] }>("GET", "/admin/v1/migrations"), []);
  const act = useAction();
  const [plan, setPlan] = useState<{ direction: "up" | "down"; steps: Step[] } | null>(null);

  async function preview(direction: "up" | "down") {
    await act.run(async () => {
      const res = await api<{ steps: Step[] }>("POST", `/admin/v1/migrations/${direction}`, { dry_run: true });
      if (res.steps.length === 0) return direction === "up" ? "Nothing to apply: every migration is applied." : "Nothing to roll back.";
      setPlan({ direction, steps: res.steps });
    });
  }

  async function apply() {
    const p = plan!;
    setPlan(null);
    if (await act.run(async () => {
      const res = await api<{ steps: Step[] }>("POST", `/admin/v1/migrations/${p.direction}`, {});
      return `${p.direction === "up" ? "Applied" : "Rolled back"} ${res.steps.map((s) => `${s.version}_${s.name}`).join(", ")}.`;
    })) list.reload();
  }

  const pending = list.data?.migrations.filter((m) => m.status === "pending").length ?? 0;
  const [draft, setDraft] = useState({ name: "", up: "", down: "", mode: "file" as "file" | "apply" | "mark" });

  // A new migration: only its files (applied later with the rest), applied at once, or
  // recorded as applied for changes already made in the dashboard.
  async function create(e: React.FormEvent) {
    e.preventDefault();
    if (await act.run(async () => {
      const m = await api<Migration>("POST", "/admin/v1/migrations", {
        name: draft.name.trim(), up: draft.up, down: draft.down.trim() ? draft.down : undefined,
        apply: draft.mode === "apply", mark_applied: draft.mode === "mark",
      });
      return `Migration ${m.version}_${m.name} written${draft.mode === "apply" ? " and applied" : draft.mode === "mark" ? " and recorded as applied" : ""}.`;
    })) {
      setDraft({ name: "", up: "", down: "", mode: "file" });
      list.reload();
    }
  }

  return (
    <>
      <Feedback error={act.error || list.error} message={act.message} />
      {list.data && (
        <p className="muted" data-testid="migrations-summary">
          Directory <code>{list.data.dir}</code>: {list.data.migrations.length} migration{list.data.migrations.length === 1 ? "" : "s"}, {pending} pending.
        </p>
      )}
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => preview("up")} disabled={act.busy}>Apply pending…</button>
        <button type="button" onClick={() => preview("down")} disabled={act.busy}>Roll back the last…</button>
        <button type="button" onClick={list.reload}>Refresh</button>
      </div>
      <details>
        <summary>New migration</summary>
        <form className="card" onSubmit={create}>
          <label>Migration name<input required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} placeholder="add_orders" /></label>
          <label>Up SQL<textarea rows={5} required value={draft.up} onChange={(e) => setDraft({ ...draft, up: e.target.value })} /></label>
          <label>Down SQL (empty: not reversible)<textarea rows={3} value={draft.down} onChange={(e) => setDraft({ ...draft, down: e.target.value })} /></label>
          <label>
            Then
            <select value={draft.mode} onChange={(e) => setDraft({ ...draft, mode: e.target.value as "file" | "apply" | "mark" })}>
              <option value="file">only write the files (pending)</option>
              <option value="apply">apply it now</option>
              <option value="mark">record it as applied (its changes were made already)</option>
            </select>
          </label>
          <button type="submit" className="primary" disabled={act.busy}>Create migration</button>
        </form>
      </details>
      <div className="scroll-x">
        <table className="list" data-testid="migrations">
          <thead>
            <tr><th scope="col">Version</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Applied</th><th scope="col">Reversible</th></tr>
          </thead>
          <tbody>
            {list.data?.migrations.map((m) => (
              <tr key={m.version}>
                <td><code>{m.version}</code></td>
                <td>{m.name}</td>
                <td><span className="badge">{m.status}</span></td>
                <td>{m.applied_at ? `${new Date(m.applied_at).toLocaleString()}${m.applied_by ? ` by ${m.applied_by}` : ""}` : "—"}</td>
                <td>{m.reversible ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!plan}
        title={plan?.direction === "up" ? "Apply these migrations?" : "Roll back this migration?"}
        confirmLabel={plan?.direction === "up" ? "Apply" : "Roll back"}
        onConfirm={apply}
        onCancel={() => setPlan(null)}
      >
        {plan?.steps.map((s) => (
          <div key={s.version}>
            <p><strong>{s.version}_{s.name}</strong> ({s.direction})</p>
            {s.sql && <pre>{s.sql}</pre>}
          </div>
        ))}
      </Confirm>
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Migrations" need="can_manage_database">
      <Migrations />
    </Shell>
  );
}
