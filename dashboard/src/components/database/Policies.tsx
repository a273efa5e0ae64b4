"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { commaList, ident, splitTable, TablePicker, useAllTables } from "./common";

interface Policy {
  id: number;
  schema: string;
  table: string;
  table_id: number;
  name: string;
  action: "PERMISSIVE" | "RESTRICTIVE";
  roles: string[];
  command: "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "ALL";
  definition: string | null;
  check: string | null;
}

type Command = Policy["command"];

interface Draft {
  id?: number;
  name: string;
  command: Command;
  action: Policy["action"];
  roles: string;
  using: string;
  check: string;
}

// The common policies of Supabase's documentation, as starting points.
const TEMPLATES: { label: string; draft: Omit<Draft, "id"> }[] = [
  { label: "Enable read access for everyone", draft: { name: "Enable read access for everyone", command: "SELECT", action: "PERMISSIVE", roles: "public", using: "true", check: "" } },
  { label: "Enable insert for authenticated users only", draft: { name: "Enable insert for authenticated users only", command: "INSERT", action: "PERMISSIVE", roles: "authenticated", using: "", check: "true" } },
  { label: "Enable read for users based on user_id", draft: { name: "Enable read for users based on user_id", command: "SELECT", action: "PERMISSIVE", roles: "authenticated", using: "(select auth.uid()) = user_id", check: "" } },
  { label: "Enable update for users based on user_id", draft: { name: "Enable update for users based on user_id", command: "UPDATE", action: "PERMISSIVE", roles: "authenticated", using: "(select auth.uid()) = user_id", check: "(select auth.uid()) = user_id" } },
  { label: "Enable delete for users based on user_id", draft: { name: "Enable delete for users based on user_id", command: "DELETE", action: "PERMISSIVE", roles: "authenticated", using: "(select auth.uid()) = user_id", check: "" } },
];

const EMPTY: Draft = { name: "", command: "SELECT", action: "PERMISSIVE", roles: "public", using: "", check: "" };

// USING applies to rows read (SELECT, UPDATE, DELETE); WITH CHECK to rows written (INSERT, UPDATE).
const takesUsing = (c: Command) => c !== "INSERT";
const takesCheck = (c: Command) => c !== "SELECT" && c !== "DELETE";

export function policySQL(table: string, d: Draft): string {
  const { schema, table: name } = splitTable(table);
  const roles = commaList(d.roles);
  let s = `CREATE POLICY ${ident(d.name)} ON ${ident(schema)}.${ident(name)}\n  AS ${d.action}\n  FOR ${d.command}\n  TO ${roles.length ? roles.map(ident).join(", ") : "public"}`;
  if (takesUsing(d.command) && d.using.trim()) s += `\n  USING (${d.using.trim()})`;
  if (takesCheck(d.command) && d.check.trim()) s += `\n  WITH CHECK (${d.check.trim()})`;
  return s + ";";
}

export function Policies({ canChange }: { canChange: boolean }) {
  const tables = useAllTables();
  const [table, setTable] = useState("");
  const { schema } = splitTable(table);
  const list = useLoad(
    () => (table ? api<Policy[]>("GET", `/pg/policies?included_schemas=${encodeURIComponent(schema)}`) : Promise.resolve([])),
    [table],
  );
  const act = useAction();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [preview, setPreview] = useState("");
  const [deleting, setDeleting] = useState<Policy | null>(null);
  const current = tables.data?.find((t) => `${t.schema}.${t.name}` === table);
  const policies = (list.data ?? []).filter((p) => `${p.schema}.${p.table}` === table);

  function edit(d: Draft | null) {
    setDraft(d);
    setPreview("");
  }

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const d = draft!;
    const body = {
      name: d.name.trim(),
      definition: takesUsing(d.command) && d.using.trim() ? d.using.trim() : null,
      check: takesCheck(d.command) && d.check.trim() ? d.check.trim() : null,
      roles: commaList(d.roles).length ? commaList(d.roles) : ["public"],
    };
    const ok = await act.run(async () => {
      if (d.id) {
        await api("PATCH", `/pg/policies/${d.id}`, body);
        return `Policy “${body.name}” saved.`;
      }
      const { schema: s, table: t } = splitTable(table);
      await api("POST", "/pg/policies", { ...body, schema: s, table: t, action: d.action, command: d.command });
      return `Policy “${body.name}” created on ${table}.`;
    });
    if (ok) {
      edit(null);
      list.reload();
    }
  }

  return (
    <section aria-labelledby="policies-title">
      <h2 id="policies-title">Policies</h2>
      <p className="muted">
        Row-level security policies decide which rows each role reads and writes through REST, realtime and storage. They apply
        only while the table has row-level security on.
      </p>
      <TablePicker tables={tables.data} value={table} onChange={(v) => { setTable(v); edit(null); }} />
      <Feedback error={act.error || list.error || tables.error} message={act.message} />
      {current && !current.rls_enabled && (
        <p className="notice" role="note">Row-level security is off for {table}: these policies do not apply until it is turned on (Table editor).</p>
      )}
      {table && (
        <>
          <p className="muted" role="status">{list.loading ? "Loading…" : `${policies.length} polic${policies.length === 1 ? "y" : "ies"} on ${table}`}</p>
          <div className="scroll-x">
            <table className="list" data-testid="policies">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Command</th>
                  <th scope="col">Roles</th>
                  <th scope="col">USING</th>
                  <th scope="col">WITH CHECK</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {policies.map((p) => (
                  <tr key={p.id}>
                    <td>{p.name}{p.action === "RESTRICTIVE" && <span className="badge">restrictive</span>}</td>
                    <td>{p.command}</td>
                    <td>{p.roles.join(", ")}</td>
                    <td><code>{p.definition ?? ""}</code></td>
                    <td><code>{p.check ?? ""}</code></td>
                    <td className="actions">
                      {canChange && (
                        <>
                          <button type="button" aria-label={`Edit ${p.name}`} onClick={() => edit({ id: p.id, name: p.name, command: p.command, action: p.action, roles: p.roles.join(", "), using: p.definition ?? "", check: p.check ?? "" })}>Edit</button>
                          <button type="button" className="danger" aria-label={`Delete ${p.name}`} onClick={() => setDeleting(p)}>Delete</button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {canChange && !draft && (
            <div className="toolbar">
              <button type="button" onClick={() => edit({ ...EMPTY })}>New policy</button>
              <label>
                New policy from a template
                <select value="" onChange={(e) => { const t = TEMPLATES.find((x) => x.label === e.target.value); if (t) edit({ ...t.draft }); }}>
                  <option value="">Choose a template…</option>
                  {TEMPLATES.map((t) => <option key={t.label} value={t.label}>{t.label}</option>)}
                </select>
              </label>
            </div>
          )}
          {draft && (
            <form className="card" onSubmit={save} aria-label={draft.id ? "Edit policy" : "New policy"}>
              <h3>{draft.id ? `Edit policy “${draft.name}”` : `New policy on ${table}`}</h3>
              <label>
                Policy name
                <input type="text" required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
              </label>
              <label>
                Command
                <select value={draft.command} disabled={!!draft.id} onChange={(e) => setDraft({ ...draft, command: e.target.value as Command })}>
                  {["SELECT", "INSERT", "UPDATE", "DELETE", "ALL"].map((c) => <option key={c}>{c}</option>)}
                </select>
              </label>
              <label>
                Kind
                <select value={draft.action} disabled={!!draft.id} onChange={(e) => setDraft({ ...draft, action: e.target.value as Policy["action"] })}>
                  <option value="PERMISSIVE">permissive (any permissive policy lets a row through)</option>
                  <option value="RESTRICTIVE">restrictive (every restrictive policy must let it through)</option>
                </select>
              </label>
              <label>
                Roles (separated by commas; public: everyone)
                <input type="text" value={draft.roles} onChange={(e) => setDraft({ ...draft, roles: e.target.value })} />
              </label>
              {takesUsing(draft.command) && (
                <label>
                  USING expression (rows it may read, update or delete)
                  <textarea rows={2} value={draft.using} onChange={(e) => setDraft({ ...draft, using: e.target.value })} />
                </label>
              )}
              {takesCheck(draft.command) && (
                <label>
                  WITH CHECK expression (rows it may write)
                  <textarea rows={2} value={draft.check} onChange={(e) => setDraft({ ...draft, check: e.target.value })} />
                </label>
              )}
              <div className="actions">
                <button type="button" onClick={() => setPreview(policySQL(table, draft))}>Preview SQL</button>
                <button type="submit" className="primary" disabled={act.busy}>{draft.id ? "Save policy" : "Create policy"}</button>
                <button type="button" onClick={() => edit(null)}>Cancel</button>
              </div>
              {preview && (
                <pre data-testid="policy-sql" aria-label="SQL preview">{draft.id ? `-- ALTER POLICY changes the name, roles and expressions of:\n${preview}` : preview}</pre>
              )}
            </form>
          )}
        </>
      )}
      <Confirm
        open={!!deleting}
        title="Delete this policy?"
        confirmLabel="Delete policy"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const p = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `/pg/policies/${p.id}`);
            return `Policy “${p.name}” deleted.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>“{deleting?.name}” on {deleting?.schema}.{deleting?.table} stops applying at once: rows it let through are refused unless another policy allows them.</p>
      </Confirm>
    </section>
  );
}
