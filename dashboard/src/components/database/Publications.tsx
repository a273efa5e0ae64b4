"use client";

import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { PLATFORM_SCHEMAS } from "@/lib/pg";
import { useAllTables } from "./common";

interface Publication {
  id: number;
  name: string;
  owner: string;
  publish_insert: boolean;
  publish_update: boolean;
  publish_delete: boolean;
  publish_truncate: boolean;
  tables: { id: number; schema: string; name: string }[] | null;
}

const REALTIME = "supabase_realtime";

export function Publications({ canChange }: { canChange: boolean }) {
  const list = useLoad(() => api<Publication[]>("GET", "/pg/publications"), []);
  const tables = useAllTables();
  const act = useAction();
  const pub = list.data?.find((p) => p.name === REALTIME);

  // Realtime on or off is membership in supabase_realtime: the new list of tables, as Studio sends.
  function toggle(key: string, on: boolean) {
    act.run(async () => {
      if (pub?.tables === null) throw new Error(`${REALTIME} publishes every table (FOR ALL TABLES): change that with SQL to choose tables.`);
      const list2 = (pub?.tables ?? []).map((x) => `${x.schema}.${x.name}`).filter((x) => x !== key);
      if (!on) list2.push(key);
      if (pub) await api("PATCH", `/pg/publications/${pub.id}`, { tables: list2 });
      else await api("POST", "/pg/publications", { name: REALTIME, publish_insert: true, publish_update: true, publish_delete: true, publish_truncate: true, tables: list2 });
      return `Realtime ${on ? "off" : "on"} for ${key}.`;
    }).then((ok) => ok && list.reload());
  }

  const events = (p: Publication) =>
    [p.publish_insert && "insert", p.publish_update && "update", p.publish_delete && "delete", p.publish_truncate && "truncate"].filter(Boolean).join(", ");
  const userTables = (tables.data ?? []).filter((t) => !PLATFORM_SCHEMAS.has(t.schema));

  return (
    <section aria-labelledby="publications-title">
      <h2 id="publications-title">Publications</h2>
      <Feedback error={act.error || list.error || tables.error} message={act.message} />
      <div className="scroll-x">
        <table className="list" data-testid="publications">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Events</th>
              <th scope="col">Tables</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td>{events(p)}</td>
                <td>{p.tables === null ? "all tables" : p.tables.map((t) => `${t.schema}.${t.name}`).join(", ") || "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Realtime per table</h3>
      <p className="muted">A table streams its changes to realtime subscribers while it is in the {REALTIME} publication (row-level security still decides who receives them).</p>
      <div className="scroll-x">
        <table className="list" data-testid="realtime-tables">
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col">Realtime</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {userTables.map((t) => {
              const key = `${t.schema}.${t.name}`;
              const on = !!pub && (pub.tables === null || pub.tables.some((x) => x.schema === t.schema && x.name === t.name));
              return (
                <tr key={t.id}>
                  <td>{key}</td>
                  <td>{on ? "on" : "off"}</td>
                  <td>
                    {canChange && (
                      <button type="button" aria-label={`Turn ${on ? "off" : "on"} realtime for ${key}`} onClick={() => toggle(key, on)} disabled={act.busy}>
                        {on ? "Turn off" : "Turn on"}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
