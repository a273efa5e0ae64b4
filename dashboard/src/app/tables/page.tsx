"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Confirm } from "@/components/Confirm";
import { DataGrid, Row, toText } from "@/components/DataGrid";
import { CellEditor, hasOwnEditor, useCellValue } from "@/components/editors/CellEditor";
import { Columns } from "@/components/tables/Columns";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { COMMON_TYPES, PgColumn, PgRelationship, PgSchema, PgTable, PLATFORM_SCHEMAS } from "@/lib/pg";
import { restClient, restError } from "@/lib/rest";
import { can, useMe } from "@/lib/session";

const OPERATORS = [
  ["eq", "equals"], ["neq", "does not equal"], ["gt", "greater than"], ["lt", "less than"],
  ["gte", "at least"], ["lte", "at most"], ["ilike", "matches (ilike, % wildcard)"], ["is", "is (null, true, false)"],
] as const;
const PAGE_SIZES = [100, 1000, 10000];
const CHUNK = 1000;

function readLocation() {
  const q = new URLSearchParams(window.location.search);
  return { schema: q.get("schema") ?? "public", table: q.get("table") ?? "", filter: q.get("filter") ?? "" };
}

function Tables() {
  const me = useMe();
  const canChange = can(me, "can_manage_database");
  const [loc, setLoc] = useState<{ schema: string; table: string; filter: string } | null>(null);
  useEffect(() => {
    setLoc(readLocation());
    const onPop = () => setLoc(readLocation());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const go = useCallback((schema: string, table: string, filter = "") => {
    const q = new URLSearchParams({ schema, ...(table ? { table } : {}), ...(filter ? { filter } : {}) });
    window.history.pushState(null, "", `/tables?${q}`);
    setLoc({ schema, table, filter });
  }, []);

  const schemas = useLoad(() => api<PgSchema[]>("GET", "/pg/schemas"), []);
  const schema = loc?.schema ?? "public";
  const tables = useLoad(
    () => (loc ? api<PgTable[]>("GET", `/pg/tables?include_columns=false&included_schemas=${encodeURIComponent(schema)}`) : Promise.resolve([])),
    [schema, !!loc],
  );
  const current = tables.data?.find((t) => t.name === loc?.table);

  return (
    <div className="split">
      <aside aria-label="Tables">
        <label>
          Schema
          <select value={schema} onChange={(e) => go(e.target.value, "")}>
            {(schemas.data ?? [{ id: 0, name: "public" }])
              .filter((s) => !PLATFORM_SCHEMAS.has(s.name) || s.name === schema)
              .map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
          </select>
        </label>
        {tables.error && <p className="error" role="alert">{tables.error}</p>}
        <ul data-testid="table-list">
          {tables.data?.map((t) => (
            <li key={t.id}>
              <a href={`/tables?schema=${t.schema}&table=${t.name}`} aria-current={t.name === loc?.table ? "true" : undefined}
                onClick={(e) => { e.preventDefault(); go(t.schema, t.name); }}>{t.name}</a>
            </li>
          ))}
        </ul>
        {tables.data?.length === 0 && <p className="muted">No tables in {schema}.</p>}
        {canChange && <button type="button" onClick={() => go(schema, "")}>New table</button>}
      </aside>
      <section aria-label="Table">
        {loc && current ? (
          <TableView key={`${current.id}:${loc.filter}`} tableId={current.id} initialFilter={loc.filter} />
        ) : loc && canChange ? (
          <CreateTable schema={schema} onCreated={(name) => { tables.reload(); go(schema, name); }} />
        ) : (
          <p className="muted">Choose a table.</p>
        )}
      </section>
    </div>
  );
}

interface ColumnDraft {
  name: string;
  type: string;
  nullable: boolean;
  primary: boolean;
  unique: boolean;
  identity: boolean;
  default_value: string;
  references: string;
}

/** "schema.table.column" (or "table.column" in public). */
function target(ref: string): { table: string; column: string } {
  const parts = ref.split(".").map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) {
    throw new Error(`"${ref}" is not a column to reference: write schema.table.column, e.g. public.authors.id.`);
  }
  const [schema, table, column] = parts.length === 3 ? parts : ["public", ...parts];
  return { table: `${schema}.${table}`, column: column! };
}

function CreateTable({ schema, onCreated }: { schema: string; onCreated: (name: string) => void }) {
  const [name, setName] = useState("");
  const [comment, setComment] = useState("");
  const [rls, setRls] = useState(true);
  const [cols, setCols] = useState<ColumnDraft[]>([
    { name: "id", type: "int8", nullable: false, primary: true, unique: false, identity: true, default_value: "", references: "" },
  ]);
  const act = useAction();
  const set = (i: number, patch: Partial<ColumnDraft>) => setCols(cols.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  async function create(e: React.FormEvent) {
    e.preventDefault();
    await act.run(async () => {
      const t = await api<PgTable>("POST", "/pg/tables", { name, schema, comment: comment || undefined });
      for (const c of cols) {
        await api("POST", "/pg/columns", {
          table_id: t.id, name: c.name, type: c.type, is_nullable: c.nullable, is_primary_key: c.primary, is_unique: c.unique,
          is_identity: c.identity, identity_generation: c.identity ? "BY DEFAULT" : undefined,
          default_value: c.default_value || undefined, default_value_format: c.default_value ? "expression" : undefined,
        });
      }
      // Foreign keys through Go Forward's POST /pg/relationships (postgres-meta's column API
      // has none): one-to-many, or one-to-one when the column is unique.
      for (const c of cols.filter((c) => c.references.trim())) {
        const to = target(c.references);
        await api("POST", "/pg/relationships", {
          relationship_type: c.unique ? "one_to_one" : "one_to_many",
          source_table: `${schema}.${name}`, source_column: c.name, target_table: to.table, target_column: to.column,
        });
      }
      if (rls) await api("PATCH", `/pg/tables/${t.id}`, { rls_enabled: true });
      onCreated(name);
    });
  }

  return (
    <form onSubmit={create} aria-labelledby="new-table">
      <h2 id="new-table">New table in {schema}</h2>
      <Feedback error={act.error} />
      <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
      <label>Comment<input value={comment} onChange={(e) => setComment(e.target.value)} /></label>
      <label className="inline"><input type="checkbox" checked={rls} onChange={(e) => setRls(e.target.checked)} /> Row-level security on</label>
      <datalist id="types">{COMMON_TYPES.map((t) => <option key={t} value={t} />)}</datalist>
      <div className="scroll-x">
        <table className="list coltable">
          <caption className="muted">Columns</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Default (SQL)</th><th scope="col">Nullable</th><th scope="col">Primary key</th><th scope="col">Unique</th><th scope="col">Identity</th><th scope="col">References (schema.table.column; unique makes it one-to-one)</th><th scope="col"><span className="muted">Remove</span></th></tr></thead>
          <tbody>
            {cols.map((c, i) => (
              <tr key={i}>
                <td><input aria-label={`Column ${i + 1} name`} required value={c.name} onChange={(e) => set(i, { name: e.target.value })} /></td>
                <td><input aria-label={`Column ${i + 1} type`} list="types" required value={c.type} onChange={(e) => set(i, { type: e.target.value })} /></td>
                <td><input aria-label={`Column ${i + 1} default`} value={c.default_value} onChange={(e) => set(i, { default_value: e.target.value })} /></td>
                <td><input type="checkbox" aria-label={`Column ${i + 1} nullable`} checked={c.nullable} onChange={(e) => set(i, { nullable: e.target.checked })} /></td>
                <td><input type="checkbox" aria-label={`Column ${i + 1} primary key`} checked={c.primary} onChange={(e) => set(i, { primary: e.target.checked })} /></td>
                <td><input type="checkbox" aria-label={`Column ${i + 1} unique`} checked={c.unique} onChange={(e) => set(i, { unique: e.target.checked })} /></td>
                <td><input type="checkbox" aria-label={`Column ${i + 1} identity`} checked={c.identity} onChange={(e) => set(i, { identity: e.target.checked })} /></td>
                <td><input aria-label={`Column ${i + 1} references`} placeholder="public.authors.id" value={c.references} onChange={(e) => set(i, { references: e.target.value })} /></td>
                <td><button type="button" className="small" aria-label={`Remove column ${i + 1}`} onClick={() => setCols(cols.filter((_, j) => j !== i))}>×</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="actions">
        <button type="button" onClick={() => setCols([...cols, { name: "", type: "text", nullable: true, primary: false, unique: false, identity: false, default_value: "", references: "" }])}>Add column</button>
        <button type="submit" className="primary" disabled={act.busy}>Create table</button>
      </div>
    </form>
  );
}

function AddColumn({ tableId, onAdded, run }: { tableId: number; onAdded: (name: string) => string; run: (fn: () => Promise<string | void>) => Promise<boolean> }) {
  const [open, setOpen] = useState(false);
  const [c, setC] = useState({ name: "", type: "text", nullable: true, unique: false, default_value: "", comment: "" });
  if (!open) return <button type="button" onClick={() => setOpen(true)}>Add column</button>;
  return (
    <form className="card" aria-label="Add column" onSubmit={async (e) => {
      e.preventDefault();
      const ok = await run(async () => {
        await api("POST", "/pg/columns", {
          table_id: tableId, name: c.name, type: c.type, is_nullable: c.nullable, is_unique: c.unique, comment: c.comment || undefined,
          default_value: c.default_value || undefined, default_value_format: c.default_value ? "expression" : undefined,
        });
        return onAdded(c.name);
      });
      if (ok) setOpen(false);
    }}>
      <label>Column name<input required value={c.name} onChange={(e) => setC({ ...c, name: e.target.value })} /></label>
      <label>Column type<input list="types" required value={c.type} onChange={(e) => setC({ ...c, type: e.target.value })} /></label>
      <datalist id="types">{COMMON_TYPES.map((x) => <option key={x} value={x} />)}</datalist>
      <label>Default (SQL expression)<input value={c.default_value} onChange={(e) => setC({ ...c, default_value: e.target.value })} /></label>
      <label>Column comment<input value={c.comment} onChange={(e) => setC({ ...c, comment: e.target.value })} /></label>
      <label className="inline"><input type="checkbox" checked={c.nullable} onChange={(e) => setC({ ...c, nullable: e.target.checked })} /> Nullable</label>
      <label className="inline"><input type="checkbox" checked={c.unique} onChange={(e) => setC({ ...c, unique: e.target.checked })} /> Unique</label>
      <div className="actions">
        <button type="submit" className="primary">Save column</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

// ManyToMany links this table to another through a new junction table (POST /pg/relationships
// makes it: a foreign key to each side's primary key, both together its primary key).
function ManyToMany({ table, run }: { table: PgTable; run: (fn: () => Promise<string | void>) => Promise<boolean> }) {
  const [open, setOpen] = useState(false);
  const [other, setOther] = useState("");
  const [junction, setJunction] = useState("");
  const tables = useLoad(() => (open ? api<PgTable[]>("GET", "/pg/tables?include_columns=false") : Promise.resolve([])), [open]);
  if (!open) return <button type="button" onClick={() => setOpen(true)}>Link many-to-many…</button>;
  const candidates = (tables.data ?? []).filter((x) => !PLATFORM_SCHEMAS.has(x.schema) && x.id !== table.id && x.primary_keys.length === 1);
  return (
    <form className="card" aria-label="Many-to-many relationship" onSubmit={async (e) => {
      e.preventDefault();
      const o = candidates.find((x) => `${x.schema}.${x.name}` === other);
      if (!o) return;
      const name = junction || `${table.name}_${o.name}`;
      const ok = await run(async () => {
        await api("POST", "/pg/relationships", {
          relationship_type: "many_to_many", source_table: `${table.schema}.${table.name}`, target_table: `${o.schema}.${o.name}`,
          junction_table: name,
        });
        return `Junction table ${table.schema}.${name} created: ${table.name} ↔ ${o.name}.`;
      });
      if (ok) setOpen(false);
    }}>
      <label>Other table
        <select required value={other} onChange={(e) => setOther(e.target.value)}>
          <option value="">(choose)</option>
          {candidates.map((x) => <option key={x.id} value={`${x.schema}.${x.name}`}>{x.schema}.{x.name}</option>)}
        </select>
      </label>
      <label>Junction table name (default: {table.name}_other)<input value={junction} onChange={(e) => setJunction(e.target.value)} /></label>
      <div className="actions">
        <button type="submit" className="primary">Create junction table</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

interface Publication {
  id: number;
  name: string;
  tables: { schema: string; name: string }[] | null;
}

// Realtime streams a table's changes once it is in the supabase_realtime publication; the
// toggle sends the publication's new list of tables, as Studio does.
function RealtimeToggle({ table, run }: { table: PgTable; run: (fn: () => Promise<string | void>) => Promise<boolean> }) {
  const pubs = useLoad(() => api<Publication[]>("GET", "/pg/publications"), []);
  if (!pubs.data) return null;
  const pub = pubs.data.find((p) => p.name === "supabase_realtime");
  const on = !!pub && (pub.tables === null || pub.tables.some((x) => x.schema === table.schema && x.name === table.name));
  const key = `${table.schema}.${table.name}`;
  async function toggle() {
    await run(async () => {
      if (pub?.tables === null) throw new Error("supabase_realtime publishes every table (FOR ALL TABLES): change that with SQL to choose tables.");
      const list = (pub?.tables ?? []).map((x) => `${x.schema}.${x.name}`).filter((x) => x !== key);
      if (!on) list.push(key);
      if (pub) await api("PATCH", `/pg/publications/${pub.id}`, { tables: list });
      else await api("POST", "/pg/publications", { name: "supabase_realtime", publish_insert: true, publish_update: true, publish_delete: true, publish_truncate: true, tables: list });
      pubs.reload();
      return `Realtime ${on ? "off" : "on"} for ${table.name}.`;
    });
  }
  return <button type="button" onClick={toggle}>{on ? "Turn realtime off" : "Turn realtime on"}</button>;
}

function parseValue(c: PgColumn, text: string): unknown {
  if (text === "NULL" || (text === "" && c.is_nullable && c.format !== "text" && c.format !== "varchar")) return null;
  if (/^(int|float|numeric)/.test(c.format) && c.format !== "numeric") {
    const n = Number(text);
    if (Number.isNaN(n)) throw new Error(`${c.name} takes a number; "${text}" is not one.`);
    return n;
  }
  if (c.format === "bool") {
    if (text !== "true" && text !== "false") throw new Error(`${c.name} takes true or false.`);
    return text === "true";
  }
  if (c.format === "json" || c.format === "jsonb" || c.data_type === "ARRAY" || c.format.startsWith("_")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${c.name} takes JSON (arrays as [1, 2]); "${text}" is not valid JSON.`);
    }
  }
  return text;
}

// One field of the insert form with its kind's editor; the form reads it through getters.
function KindField({ column, getters }: { column: PgColumn; getters: React.RefObject<Record<string, () => unknown>> }) {
  const cell = useCellValue(column, null);
  getters.current[column.name] = () => (cell.touched ? cell.value() : undefined);
  return <div className="kind-field">{cell.editor}</div>;
}

function TableView({ tableId, initialFilter }: { tableId: number; initialFilter: string }) {
  const me = useMe();
  const meta = useLoad(() => api<PgTable>("GET", `/pg/tables/${tableId}`), [tableId]);
  const t = meta.data;
  const columns = useMemo(() => (t?.columns ?? []).slice().sort((a, b) => a.ordinal_position - b.ordinal_position), [t]);
  const pk = t?.primary_keys.map((k) => k.name) ?? [];
  const [filter, setFilter] = useState(() => {
    const [column = "", op = "eq", ...rest] = initialFilter.split(".");
    return { column, op, value: rest.join(".") };
  });
  const [applied, setApplied] = useState(filter);
  const [sort, setSort] = useState<{ column: string; ascending: boolean } | null>(null);
  const [pageSize, setPageSize] = useState(100);
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<Row[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [deleting, setDeleting] = useState<Row | null>(null);
  const [inserting, setInserting] = useState<Record<string, string> | null>(null);
  const [cellEdit, setCellEdit] = useState<{ row: Row; column: PgColumn } | null>(null);
  const getters = useRef<Record<string, () => unknown>>({});
  const act = useAction();

  const load = useCallback(async () => {
    if (!t) return;
    setLoading(true);
    try {
      // The server answers at most rest.max_rows (1,000 by default) rows a request, so a larger
      // page is read in ranges of that size, one after the other.
      const from = page * pageSize;
      const all: Row[] = [];
      let total: number | null = null;
      for (;;) {
        let q = restClient(t.schema).from(t.name).select("*", { count: all.length === 0 ? "exact" : undefined });
        if (applied.column && applied.value !== "") {
          const v = applied.op === "is" ? (applied.value === "null" ? null : applied.value === "true") : applied.value;
          q = q.filter(applied.column, applied.op, v);
        }
        if (sort) q = q.order(sort.column, { ascending: sort.ascending });
        else if (pk.length) for (const k of pk) q = q.order(k, { ascending: true });
        const start = from + all.length;
        const want = Math.min(CHUNK, pageSize - all.length);
        const { data, error, count: c, status } = await q.range(start, start + want - 1);
        if (error) throw restError(error, status);
        if (all.length === 0) {
          total = c;
          setCount(c);
        }
        all.push(...(data ?? []));
        if (!data || data.length === 0 || all.length >= pageSize || (total !== null && from + all.length >= total)) break;
        setRows(all.slice());
      }
      setRows(all);
      setCount(total);
      act.setError("");
    } catch (e) {
      act.setError((e as Error).message);
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [t, applied, sort, page, pageSize]);
  useEffect(() => { load(); }, [load]);

  if (meta.error) return <p className="error" role="alert">{meta.error}</p>;
  if (!t) return <p aria-busy="true">Loading…</p>;

  const writable = can(me, "can_manage_all_tables") || (me.assigned_tables ?? []).includes(`${t.schema}.${t.name}`);
  const byKey = <Q extends { eq: (c: string, v: unknown) => Q }>(q: Q, row: Row) => pk.reduce((acc, k) => acc.eq(k, row[k]), q);

  async function edit(row: Row, c: PgColumn, text: string) {
    return act.run(async () => {
      const value = parseValue(c, text);
      const { error, status } = await byKey(restClient(t!.schema).from(t!.name).update({ [c.name]: value }), row).select();
      if (error) throw restError(error, status);
      await load();
      return `Saved ${c.name}.`;
    });
  }

  async function saveCell(value: unknown) {
    const { row, column } = cellEdit!;
    const ok = await act.run(async () => {
      const { error, status } = await byKey(restClient(t!.schema).from(t!.name).update({ [column.name]: value }), row).select();
      if (error) throw restError(error, status);
      await load();
      return `Saved ${column.name}.`;
    });
    if (ok) setCellEdit(null);
  }

  async function remove(row: Row) {
    setDeleting(null);
    await act.run(async () => {
      const { error, status } = await byKey(restClient(t!.schema).from(t!.name).delete(), row);
      if (error) throw restError(error, status);
      await load();
      return "Row deleted.";
    });
  }

  async function insert(e: React.FormEvent) {
    e.preventDefault();
    const draft = inserting!;
    await act.run(async () => {
      const row: Row = {};
      for (const c of columns) {
        if (hasOwnEditor(c)) {
          const v = getters.current[c.name]?.();
          if (v !== undefined) row[c.name] = v;
          continue;
        }
        const v = draft[c.name] ?? "";
        if (v === "") continue; // the column's default (or NULL)
        row[c.name] = parseValue(c, v);
      }
      const { error, status } = await restClient(t!.schema).from(t!.name).insert(row).select();
      if (error) throw restError(error, status);
      setInserting(null);
      await load();
      return "Row inserted.";
    });
  }

  const linkTo = (rel: PgRelationship, v: unknown) =>
    `/tables?schema=${rel.target_table_schema}&table=${rel.target_table_name}&filter=${encodeURIComponent(`${rel.target_column_name}.eq.${toText(v)}`)}`;
  const pages = count === null ? 1 : Math.max(1, Math.ceil(count / pageSize));

  return (
    <>
      <h2>{t.schema}.{t.name}</h2>
      <p className="muted">
        {t.comment ? `${t.comment} · ` : ""}Row-level security {t.rls_enabled ? "on" : "off"}
        {pk.length ? ` · primary key ${pk.join(", ")}` : " · no primary key: rows cannot be edited or deleted here"}
      </p>
      <Feedback error={act.error} message={act.message} />
      {can(me, "can_manage_database") && (
        <div className="toolbar">
          <button type="button" onClick={() => act.run(async () => {
            await api("PATCH", `/pg/tables/${t.id}`, { rls_enabled: !t.rls_enabled });
            meta.reload();
            return `Row-level security ${t.rls_enabled ? "off" : "on"} for ${t.name}.`;
          })}>{t.rls_enabled ? "Turn row-level security off" : "Turn row-level security on"}</button>
          <AddColumn tableId={t.id} onAdded={(n) => { meta.reload(); return `Column ${n} added.`; }} run={act.run} />
          {pk.length === 1 && <ManyToMany table={t} run={act.run} />}
          <RealtimeToggle table={t} run={act.run} />
        </div>
      )}
      {can(me, "can_manage_database") && <Columns table={t} columns={columns} run={act.run} onChanged={() => { meta.reload(); }} />}
      <form className="toolbar" role="search" aria-label="Filter rows" onSubmit={(e) => { e.preventDefault(); setPage(0); setApplied(filter); }}>
        <label>Column
          <select value={filter.column} onChange={(e) => setFilter({ ...filter, column: e.target.value })}>
            <option value="">(no filter)</option>
            {columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
          </select>
        </label>
        <label>Operator
          <select value={filter.op} onChange={(e) => setFilter({ ...filter, op: e.target.value })}>
            {OPERATORS.map(([op, text]) => <option key={op} value={op}>{text}</option>)}
          </select>
        </label>
        <label>Value<input value={filter.value} onChange={(e) => setFilter({ ...filter, value: e.target.value })} /></label>
        <button type="submit">Apply filter</button>
        {applied.column && <button type="button" onClick={() => { const f = { column: "", op: "eq", value: "" }; setFilter(f); setApplied(f); }}>Clear filter</button>}
        {writable && <button type="button" className="primary" onClick={() => setInserting({})}>Insert row</button>}
      </form>
      {inserting && (
        <form onSubmit={insert} className="card" aria-labelledby="insert-title">
          <h3 id="insert-title">New row</h3>
          <p className="muted">Leave a field empty for the column&apos;s default; JSON and arrays as JSON.</p>
          {columns.filter((c) => !c.is_generated).map((c) => hasOwnEditor(c) ? (
            <KindField key={c.name} column={c} getters={getters} />
          ) : (
            <label key={c.name}>{c.name} <span className="muted">({c.format}{c.is_nullable ? "" : ", required"}{c.is_identity || c.default_value != null ? ", has a default" : ""})</span>
              {c.format === "json" || c.format === "jsonb" ? (
                <textarea rows={3} value={inserting[c.name] ?? ""} onChange={(e) => setInserting({ ...inserting, [c.name]: e.target.value })} />
              ) : (
                <input value={inserting[c.name] ?? ""} onChange={(e) => setInserting({ ...inserting, [c.name]: e.target.value })} />
              )}
            </label>
          ))}
          <div className="actions">
            <button type="submit" className="primary" disabled={act.busy}>Save row</button>
            <button type="button" onClick={() => setInserting(null)}>Cancel</button>
          </div>
        </form>
      )}
      <p className="muted" role="status" data-testid="row-count">
        {loading ? `Loading… ${rows.length} of ${count ?? "?"} rows` : `${count ?? rows.length} row${count === 1 ? "" : "s"}${applied.column ? " match the filter" : ""}`}
        {writable && pk.length > 0 ? " · double-click a cell to edit it, Enter saves" : ""}
      </p>
      {cellEdit && (
        <CellEditor key={`${toText(pk.map((k) => cellEdit.row[k]))}:${cellEdit.column.name}`} column={cellEdit.column} initial={cellEdit.row[cellEdit.column.name]}
          onSave={saveCell} onCancel={() => setCellEdit(null)} busy={act.busy} />
      )}
      <DataGrid
        columns={columns}
        rows={rows}
        keyOf={(r, i) => (pk.length ? pk.map((k) => toText(r[k])).join("|") : String(i))}
        sort={sort}
        onSort={(c) => setSort(sort?.column === c ? { column: c, ascending: !sort.ascending } : { column: c, ascending: true })}
        onEdit={writable && pk.length ? edit : undefined}
        onDelete={writable && pk.length ? setDeleting : undefined}
        onOpen={(row, c) => {
          if (!hasOwnEditor(c)) return false;
          setCellEdit({ row, column: c });
          return true;
        }}
        relationships={t.relationships.filter((r) => r.source_schema === t.schema && r.source_table_name === t.name)}
        linkTo={linkTo}
      />
      <div className="toolbar">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>Previous page</button>
        <span>Page {page + 1} of {pages}</span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Next page</button>
        <label>Rows per page
          <select value={pageSize} onChange={(e) => { setPage(0); setPageSize(Number(e.target.value)); }}>
            {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
      </div>
      <Confirm open={!!deleting} title="Delete this row?" confirmLabel="Delete row" onConfirm={() => deleting && remove(deleting)} onCancel={() => setDeleting(null)}>
        <p>The row where {pk.map((k) => `${k} = ${toText(deleting?.[k])}`).join(" and ")} is deleted from {t.schema}.{t.name}. This cannot be undone.</p>
      </Confirm>
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Table editor" need="can_view_dashboard">
      <Tables />
    </Shell>
  );
}
