"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { commaList, splitTable, TablePicker, useAllTables } from "./common";

interface Index {
  id: number;
  table_id: number;
  schema: string;
  is_unique: boolean;
  is_primary: boolean;
  index_definition: string;
  access_method: string;
}

// postgres-meta's index has no name field: it is in the definition.
const indexName = (i: Index) => /INDEX (\S+) ON/.exec(i.index_definition)?.[1]?.replaceAll('"', "") ?? String(i.id);

export function Indexes({ canChange }: { canChange: boolean }) {
  const tables = useAllTables();
  const [table, setTable] = useState("");
  const { schema } = splitTable(table);
  const list = useLoad(
    () => (table ? api<Index[]>("GET", `/pg/indexes?included_schemas=${encodeURIComponent(schema)}`) : Promise.resolve([])),
    [table],
  );
  const act = useAction();
  const [form, setForm] = useState({ name: "", columns: "", unique: false, method: "btree" });
  const [deleting, setDeleting] = useState<Index | null>(null);
  const current = tables.data?.find((t) => `${t.schema}.${t.name}` === table);
  const indexes = (list.data ?? []).filter((i) => current && i.table_id === current.id);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const { schema: s, table: t } = splitTable(table);
    if (await act.run(async () => {
      await api("POST", "/pg/indexes", { schema: s, table: t, name: form.name.trim(), columns: commaList(form.columns), is_unique: form.unique, access_method: form.method });
      return `Index ${form.name.trim()} created on ${table}.`;
    })) {
      setForm({ ...form, name: "", columns: "" });
      list.reload();
    }
  }

  return (
    <section aria-labelledby="indexes-title">
      <h2 id="indexes-title">Indexes</h2>
      <TablePicker tables={tables.data} value={table} onChange={setTable} />
      <Feedback error={act.error || list.error || tables.error} message={act.message} />
      {table && (
        <>
          <p className="muted" role="status">{list.loading ? "Loading…" : `${indexes.length} indexes on ${table}`}</p>
          <div className="scroll-x">
            <table className="list" data-testid="indexes">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Definition</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {indexes.map((i) => (
                  <tr key={i.id}>
                    <td>{indexName(i)}</td>
                    <td><code>{i.index_definition}</code></td>
                    <td>{i.is_primary ? "primary key" : i.is_unique ? "unique" : i.access_method}</td>
                    <td className="actions">
                      {canChange && !i.is_primary && (
                        <button type="button" className="danger" aria-label={`Delete index ${indexName(i)}`} onClick={() => setDeleting(i)}>Delete</button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {canChange && (
            <form className="card" onSubmit={create} aria-label="New index">
              <h3>New index on {table}</h3>
              <label>
                Index name
                <input type="text" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              </label>
              <label>
                Columns (separated by commas, in order)
                <input type="text" required value={form.columns} onChange={(e) => setForm({ ...form, columns: e.target.value })} />
              </label>
              <label>
                Method
                <select value={form.method} onChange={(e) => setForm({ ...form, method: e.target.value })}>
                  {["btree", "hash", "gin", "gist", "brin"].map((m) => <option key={m}>{m}</option>)}
                </select>
              </label>
              <label className="inline">
                <input type="checkbox" checked={form.unique} onChange={(e) => setForm({ ...form, unique: e.target.checked })} />
                Unique
              </label>
              <div className="actions">
                <button type="submit" className="primary" disabled={act.busy}>Create index</button>
              </div>
            </form>
          )}
        </>
      )}
      <Confirm
        open={!!deleting}
        title="Delete this index?"
        confirmLabel="Delete index"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const i = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `/pg/indexes/${i.id}`);
            return `Index ${indexName(i)} deleted.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>Index {deleting && indexName(deleting)} is dropped: queries it served read the whole table until another index exists.</p>
      </Confirm>
    </section>
  );
}
