"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { commaList } from "./common";

export interface PgFunction {
  id: number;
  schema: string;
  name: string;
  language: string;
  definition: string;
  argument_types: string;
  return_type: string;
  behavior: string;
  security_definer: boolean;
}

export function Functions({ canChange, schemas }: { canChange: boolean; schemas: string[] }) {
  const [schema, setSchema] = useState("public");
  const list = useLoad(() => api<PgFunction[]>("GET", `/pg/functions?included_schemas=${encodeURIComponent(schema)}`), [schema]);
  const act = useAction();
  const [form, setForm] = useState({ name: "", args: "", returns: "trigger", language: "plpgsql", behavior: "VOLATILE", definer: false, body: "begin\n  new.updated_at = now();\n  return new;\nend;" });
  const [deleting, setDeleting] = useState<PgFunction | null>(null);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    if (await act.run(async () => {
      await api("POST", "/pg/functions", {
        schema, name: form.name.trim(), args: commaList(form.args), return_type: form.returns.trim(), language: form.language,
        behavior: form.behavior, security_definer: form.definer, definition: form.body,
      });
      return `Function ${schema}.${form.name.trim()} created.`;
    })) {
      setForm({ ...form, name: "" });
      list.reload();
    }
  }

  const fns = list.data ?? [];
  return (
    <section aria-labelledby="functions-title">
      <h2 id="functions-title">Functions</h2>
      <label>
        Schema
        <select value={schema} onChange={(e) => setSchema(e.target.value)}>
          {schemas.map((s) => <option key={s}>{s}</option>)}
        </select>
      </label>
      <Feedback error={act.error || list.error} message={act.message} />
      {canChange && (
        <details>
          <summary>Create a function</summary>
          <form className="card" onSubmit={create}>
            <label>
              Function name
              <input type="text" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </label>
            <label>
              Arguments (separated by commas, e.g. a int, b text)
              <input type="text" value={form.args} onChange={(e) => setForm({ ...form, args: e.target.value })} />
            </label>
            <label>
              Returns
              <input type="text" required value={form.returns} onChange={(e) => setForm({ ...form, returns: e.target.value })} />
            </label>
            <label>
              Language
              <select value={form.language} onChange={(e) => setForm({ ...form, language: e.target.value })}>
                <option>plpgsql</option>
                <option>sql</option>
              </select>
            </label>
            <label>
              Behaviour
              <select value={form.behavior} onChange={(e) => setForm({ ...form, behavior: e.target.value })}>
                <option>VOLATILE</option>
                <option>STABLE</option>
                <option>IMMUTABLE</option>
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" checked={form.definer} onChange={(e) => setForm({ ...form, definer: e.target.checked })} />
              Security definer (runs with its owner&apos;s rights)
            </label>
            <label>
              Body
              <textarea rows={6} value={form.body} onChange={(e) => setForm({ ...form, body: e.target.value })} />
            </label>
            <button type="submit" className="primary" disabled={act.busy}>Create function</button>
          </form>
        </details>
      )}
      <p className="muted" role="status">{list.loading ? "Loading…" : `${fns.length} functions in ${schema}`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="functions">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Arguments</th>
              <th scope="col">Returns</th>
              <th scope="col">Language</th>
              <th scope="col">Security</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {fns.map((f) => (
              <tr key={f.id}>
                <td>
                  <details>
                    <summary>{f.name}</summary>
                    <pre className="details">{f.definition}</pre>
                  </details>
                </td>
                <td><code>{f.argument_types}</code></td>
                <td><code>{f.return_type}</code></td>
                <td>{f.language}</td>
                <td>{f.security_definer ? "definer" : "invoker"}</td>
                <td className="actions">
                  {canChange && <button type="button" className="danger" aria-label={`Delete function ${f.name}`} onClick={() => setDeleting(f)}>Delete</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!deleting}
        title="Delete this function?"
        confirmLabel="Delete function"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const f = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `/pg/functions/${f.id}`);
            return `Function ${f.schema}.${f.name} deleted.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>{deleting?.schema}.{deleting?.name}({deleting?.argument_types}) is dropped; PostgreSQL refuses while a trigger or view uses it.</p>
      </Confirm>
    </section>
  );
}
