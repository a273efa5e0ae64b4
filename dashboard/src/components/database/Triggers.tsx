"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { PgFunction } from "./Functions";
import { splitTable, TablePicker, useAllTables } from "./common";

interface Trigger {
  id: number;
  table_id: number;
  enabled_mode: string;
  name: string;
  table: string;
  schema: string;
  condition: string | null;
  orientation: string;
  activation: string;
  events: string[];
  function_schema: string;
  function_name: string;
}

const EVENTS = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

export function Triggers({ canChange }: { canChange: boolean }) {
  const tables = useAllTables();
  const list = useLoad(() => api<Trigger[]>("GET", "/pg/triggers?excluded_schemas=information_schema,pg_catalog,pg_toast,auth,storage,realtime,goforward"), []);
  const fns = useLoad(() => api<PgFunction[]>("GET", "/pg/functions?excluded_schemas=information_schema,pg_catalog,pg_toast"), []);
  const act = useAction();
  const [form, setForm] = useState({ table: "", name: "", fn: "", activation: "BEFORE", events: ["UPDATE"], orientation: "ROW" });
  const [deleting, setDeleting] = useState<Trigger | null>(null);
  const triggerFns = (fns.data ?? []).filter((f) => f.return_type === "trigger");

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const { schema, table } = splitTable(form.table);
    const { schema: fs, table: fn } = splitTable(form.fn);
    if (await act.run(async () => {
      if (!form.events.length) throw new Error("Choose at least one event.");
      await api("POST", "/pg/triggers", {
        schema, table, name: form.name.trim(), function_schema: fs, function_name: fn,
        activation: form.activation, events: form.events, orientation: form.orientation,
      });
      return `Trigger ${form.name.trim()} created on ${form.table}.`;
    })) {
      setForm({ ...form, name: "" });
      list.reload();
    }
  }

  function toggle(t: Trigger) {
    const off = t.enabled_mode === "DISABLED";
    act.run(async () => {
      await api("PATCH", `/pg/triggers/${t.id}`, { enabled_mode: off ? "ORIGIN" : "DISABLED" });
      return `Trigger ${t.name} ${off ? "enabled" : "disabled"}.`;
    }).then((ok) => ok && list.reload());
  }

  const triggers = list.data ?? [];
  return (
    <section aria-labelledby="triggers-title">
      <h2 id="triggers-title">Triggers</h2>
      <Feedback error={act.error || list.error || fns.error} message={act.message} />
      {canChange && (
        <details>
          <summary>Create a trigger</summary>
          <form className="card" onSubmit={create}>
            <TablePicker tables={tables.data} value={form.table} onChange={(v) => setForm({ ...form, table: v })} />
            <label>
              Trigger name
              <input type="text" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </label>
            <label>
              Function (returning trigger)
              <select required value={form.fn} onChange={(e) => setForm({ ...form, fn: e.target.value })}>
                <option value="">Choose a function…</option>
                {triggerFns.map((f) => <option key={f.id} value={`${f.schema}.${f.name}`}>{f.schema}.{f.name}</option>)}
              </select>
            </label>
            <label>
              When
              <select value={form.activation} onChange={(e) => setForm({ ...form, activation: e.target.value })}>
                <option>BEFORE</option>
                <option>AFTER</option>
              </select>
            </label>
            <fieldset>
              <legend>Events</legend>
              {EVENTS.map((ev) => (
                <label key={ev} className="inline">
                  <input type="checkbox" checked={form.events.includes(ev)}
                    onChange={(e) => setForm({ ...form, events: e.target.checked ? [...form.events, ev] : form.events.filter((x) => x !== ev) })} />
                  {ev}
                </label>
              ))}
            </fieldset>
            <label>
              For each
              <select value={form.orientation} onChange={(e) => setForm({ ...form, orientation: e.target.value })}>
                <option>ROW</option>
                <option>STATEMENT</option>
              </select>
            </label>
            <button type="submit" className="primary" disabled={act.busy}>Create trigger</button>
          </form>
        </details>
      )}
      <p className="muted" role="status">{list.loading ? "Loading…" : `${triggers.length} triggers`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="triggers">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Table</th>
              <th scope="col">Fires</th>
              <th scope="col">Function</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {triggers.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.schema}.{t.table}</td>
                <td>{t.activation} {t.events.join(" OR ")} FOR EACH {t.orientation}</td>
                <td>{t.function_schema}.{t.function_name}</td>
                <td>{t.enabled_mode === "DISABLED" ? "disabled" : "enabled"}</td>
                <td className="actions">
                  {canChange && (
                    <>
                      <button type="button" aria-label={`${t.enabled_mode === "DISABLED" ? "Enable" : "Disable"} trigger ${t.name}`} onClick={() => toggle(t)}>
                        {t.enabled_mode === "DISABLED" ? "Enable" : "Disable"}
                      </button>
                      <button type="button" className="danger" aria-label={`Delete trigger ${t.name}`} onClick={() => setDeleting(t)}>Delete</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!deleting}
        title="Delete this trigger?"
        confirmLabel="Delete trigger"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const t = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `/pg/triggers/${t.id}`);
            return `Trigger ${t.name} deleted.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>Trigger {deleting?.name} on {deleting?.schema}.{deleting?.table} is dropped; its function stays.</p>
      </Confirm>
    </section>
  );
}
