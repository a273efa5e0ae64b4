"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

interface Extension {
  name: string;
  schema: string | null;
  default_version: string;
  installed_version: string | null;
  comment: string | null;
}

export function Extensions({ canChange, schemas }: { canChange: boolean; schemas: string[] }) {
  const list = useLoad(() => api<Extension[]>("GET", "/pg/extensions"), []);
  const act = useAction();
  const [search, setSearch] = useState("");
  const [chosen, setTarget] = useState("");
  const target = chosen || (schemas.includes("extensions") ? "extensions" : "public");
  const [disabling, setDisabling] = useState<Extension | null>(null);

  function enable(x: Extension) {
    act.run(async () => {
      await api("POST", "/pg/extensions", { name: x.name, schema: target, cascade: true });
      return `Extension ${x.name} enabled in ${target}.`;
    }).then((ok) => ok && list.reload());
  }

  const shown = (list.data ?? []).filter((x) => !search || x.name.includes(search.toLowerCase()));
  return (
    <section aria-labelledby="extensions-title">
      <h2 id="extensions-title">Extensions</h2>
      <div className="toolbar">
        <label>
          Search extensions
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label>
          Schema for new extensions
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            {schemas.map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>
      </div>
      <Feedback error={act.error || list.error} message={act.message} />
      <p className="muted" role="status">{list.loading ? "Loading…" : `${shown.length} extensions, ${shown.filter((x) => x.installed_version).length} enabled`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="extensions">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Version</th>
              <th scope="col">Description</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((x) => (
              <tr key={x.name}>
                <td>{x.name}</td>
                <td>{x.installed_version ? `enabled in ${x.schema}` : "disabled"}</td>
                <td>{x.installed_version ?? x.default_version}</td>
                <td>{x.comment}</td>
                <td className="actions">
                  {canChange && (x.installed_version ? (
                    <button type="button" className="danger" aria-label={`Disable ${x.name}`} onClick={() => setDisabling(x)}>Disable</button>
                  ) : (
                    <button type="button" aria-label={`Enable ${x.name}`} onClick={() => enable(x)} disabled={act.busy}>Enable</button>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!disabling}
        title="Disable this extension?"
        confirmLabel="Disable extension"
        onCancel={() => setDisabling(null)}
        onConfirm={() => {
          const x = disabling!;
          setDisabling(null);
          act.run(async () => {
            await api("DELETE", `/pg/extensions/${encodeURIComponent(x.name)}`);
            return `Extension ${x.name} disabled.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>{disabling?.name} is dropped with its functions and types; PostgreSQL refuses while a table or function of yours uses them.</p>
      </Confirm>
    </section>
  );
}
