"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { api } from "@/lib/api";
import { COMMON_TYPES, PgColumn, PgTable } from "@/lib/pg";

type Run = (fn: () => Promise<string | void>) => Promise<boolean>;

const defaultText = (c: PgColumn) => (c.default_value === null || c.default_value === undefined ? "" : String(c.default_value));

// A column's type as the form shows it: arrays as elem[], the kinds by their domain's name.
function typeText(c: PgColumn): string {
  if (c.is_rich_text) return "goforward.rich_text";
  if (c.is_file_reference) return "goforward.file_reference";
  if (c.format.startsWith("_")) return `${c.format.slice(1)}[]`;
  return c.format;
}

/** A table's columns with alter (name, type, default, nullability, unique, comment) and drop. */
export function Columns({ table, columns, run, onChanged }: { table: PgTable; columns: PgColumn[]; run: Run; onChanged: () => void }) {
  const [editing, setEditing] = useState<PgColumn | null>(null);
  const [form, setForm] = useState({ name: "", type: "", default_value: "", nullable: true, unique: false, comment: "" });
  const [dropping, setDropping] = useState<PgColumn | null>(null);

  function edit(c: PgColumn) {
    setEditing(c);
    setForm({ name: c.name, type: typeText(c), default_value: defaultText(c), nullable: c.is_nullable, unique: c.is_unique, comment: c.comment ?? "" });
  }

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const c = editing!;
    // Only what changed is sent: each key is its own ALTER statement.
    const body: Record<string, unknown> = {};
    if (form.name.trim() !== c.name) body.name = form.name.trim();
    if (form.type.trim() !== typeText(c)) body.type = form.type.trim();
    if (form.default_value.trim() !== defaultText(c)) {
      if (form.default_value.trim() === "") body.drop_default = true;
      else Object.assign(body, { default_value: form.default_value.trim(), default_value_format: "expression" });
    }
    if (form.nullable !== c.is_nullable) body.is_nullable = form.nullable;
    if (form.unique !== c.is_unique) body.is_unique = form.unique;
    if ((form.comment || null) !== (c.comment || null)) body.comment = form.comment;
    const ok = await run(async () => {
      if (Object.keys(body).length === 0) return "Nothing changed.";
      await api("PATCH", `/pg/columns/${c.id}`, body);
      onChanged();
      return `Column ${form.name.trim()} saved.`;
    });
    if (ok) setEditing(null);
  }

  return (
    <details className="columns">
      <summary>Columns ({columns.length})</summary>
      <div className="scroll-x">
        <table className="list" data-testid="columns">
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Default</th>
              <th scope="col">Nullable</th>
              <th scope="col">Unique</th>
              <th scope="col">Comment</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {columns.map((c) => (
              <tr key={c.id}>
                <td>{c.name}{table.primary_keys.some((k) => k.name === c.name) && <span className="badge">primary key</span>}</td>
                <td><code>{typeText(c)}</code>{c.is_identity && " (identity)"}</td>
                <td><code>{defaultText(c)}</code></td>
                <td>{c.is_nullable ? "yes" : "no"}</td>
                <td>{c.is_unique ? "yes" : "no"}</td>
                <td>{c.comment}</td>
                <td className="actions">
                  <button type="button" className="small" aria-label={`Edit column ${c.name}`} onClick={() => edit(c)}>Edit</button>
                  <button type="button" className="small danger" aria-label={`Drop column ${c.name}`} onClick={() => setDropping(c)}>Drop</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing && (
        <form className="card" onSubmit={save} aria-label={`Alter column ${editing.name}`}>
          <h3>Alter column {editing.name}</h3>
          <label>Column name<input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} /></label>
          <label>
            Column type (existing values are converted; PostgreSQL refuses what it cannot convert)
            <input list="alter-types" required value={form.type} onChange={(e) => setForm({ ...form, type: e.target.value })} />
          </label>
          <datalist id="alter-types">{COMMON_TYPES.map((x) => <option key={x} value={x} />)}</datalist>
          <label>Default (SQL expression; empty: none)<input value={form.default_value} onChange={(e) => setForm({ ...form, default_value: e.target.value })} /></label>
          <label>Column comment<input value={form.comment} onChange={(e) => setForm({ ...form, comment: e.target.value })} /></label>
          <label className="inline"><input type="checkbox" checked={form.nullable} onChange={(e) => setForm({ ...form, nullable: e.target.checked })} /> Nullable</label>
          <label className="inline"><input type="checkbox" checked={form.unique} onChange={(e) => setForm({ ...form, unique: e.target.checked })} /> Unique</label>
          <div className="actions">
            <button type="submit" className="primary">Save column</button>
            <button type="button" onClick={() => setEditing(null)}>Cancel</button>
          </div>
        </form>
      )}
      <Confirm
        open={!!dropping}
        title="Drop this column?"
        confirmLabel="Drop column"
        onCancel={() => setDropping(null)}
        onConfirm={() => {
          const c = dropping!;
          setDropping(null);
          run(async () => {
            await api("DELETE", `/pg/columns/${c.id}`);
            onChanged();
            return `Column ${c.name} dropped.`;
          });
        }}
      >
        <p>Column {dropping?.name} of {table.schema}.{table.name} is dropped with every value in it. PostgreSQL refuses while a view, policy or key uses it. This cannot be undone.</p>
      </Confirm>
    </details>
  );
}
