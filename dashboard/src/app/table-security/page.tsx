"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { PgTable, PLATFORM_SCHEMAS } from "@/lib/pg";

// The form edits the main options of docs/tablesecurity.md; every other key of a loaded
// config (allow-list, rate limit, custom filters, audit, …) is sent back unchanged.
interface ApiConfig {
  require_auth?: boolean;
  require_verified?: boolean;
  require_mfa?: boolean;
  require_ownership?: boolean;
  ownership_column?: string;
  public_read?: boolean;
  public_write?: boolean;
  hidden_fields?: string[];
  allowed_roles?: string[];
  ip_whitelist?: string[];
  rate_limit?: { requests_per_minute?: number; burst?: number } | null;
  [k: string]: unknown;
}
interface AuditConfig {
  enabled?: boolean;
  actions?: string[];
}
interface FieldPermission {
  is_masked?: boolean;
  mask?: string;
  [k: string]: unknown;
}
interface Config {
  api_config?: ApiConfig;
  field_permissions?: Record<string, FieldPermission>;
  audit_config?: AuditConfig;
  is_active?: boolean;
  [k: string]: unknown;
}
interface Compiled {
  config: Config | null;
  dry_run: boolean;
  sql: string | string[];
  warnings?: string[] | null;
}

const MASKS = ["email", "last4", "fixed"];
const AUDIT_ACTIONS = ["select", "insert", "update", "delete"];
const listOf = (text: string) => text.split(",").map((x) => x.trim()).filter(Boolean);

const META = ["id", "table_name", "schema_name", "is_active", "created_by", "created_at", "updated_by", "updated_at"];
const FLAGS: [keyof ApiConfig, string][] = [
  ["require_auth", "Require a signed-in user (no access for anon)"],
  ["require_verified", "Require a verified email address"],
  ["require_mfa", "Require a second factor (aal2)"],
  ["public_read", "Anyone may read every row (anon too)"],
  ["public_write", "Anyone may insert, update and delete every row (anon too)"],
];

function Form({ table }: { table: PgTable }) {
  const path = `/admin/v1/tables/${encodeURIComponent(table.schema)}.${encodeURIComponent(table.name)}/security`;
  const loaded = useLoad(() => api<Config>("GET", path), [path]);
  if (!loaded.data) {
    return loaded.error ? <Feedback error={loaded.error} /> : <p className="muted">Loading…</p>;
  }
  // The editor starts from what the server holds.
  return <Editor table={table} path={path} initial={loaded.data} />;
}

function Editor({ table, path, initial }: { table: PgTable; path: string; initial: Config }) {
  const ref = `${table.schema}.${table.name}`;
  const [cfg, setCfg] = useState<Config>(initial);
  const [preview, setPreview] = useState<Compiled | null>(null);
  const act = useAction();
  const [active, setActive] = useState(!!initial.is_active);
  const [removing, setRemoving] = useState(false);

  // Removal is previewed like a change (DELETE ?dry_run=true), then confirmed.
  async function previewRemoval() {
    if (await act.run(async () => {
      setPreview(await api<Compiled>("DELETE", `${path}?dry_run=true`));
    })) setRemoving(true);
  }

  async function remove() {
    setRemoving(false);
    await act.run(async () => {
      setPreview(await api<Compiled>("DELETE", path));
      setActive(false);
      setCfg({});
      return `The security configuration of ${ref} is removed: its grants and policies are PostgreSQL's alone again.`;
    });
  }

  const a = cfg.api_config ?? {};
  const fp = cfg.field_permissions ?? {};
  const columns = table.columns ?? [];
  const setApi = (patch: Partial<ApiConfig>) => {
    setCfg({ ...cfg, api_config: { ...a, ...patch } });
    setPreview(null);
  };
  const setMask = (col: string, mask: string) => {
    const next = { ...fp };
    if (mask) next[col] = { ...next[col], is_masked: true, mask };
    else if (next[col]) {
      const { is_masked: _m, mask: _k, ...rest } = next[col];
      void _m;
      void _k;
      if (Object.keys(rest).length) next[col] = rest;
      else delete next[col];
    }
    setCfg({ ...cfg, field_permissions: next });
    setPreview(null);
  };
  const hidden = new Set(a.hidden_fields ?? []);

  function body(): Config {
    // Metadata the GET answers is not part of the config the PUT takes.
    const rest: Config = { ...cfg };
    for (const k of META) delete rest[k];
    return rest;
  }

  async function send(dry: boolean) {
    await act.run(async () => {
      const r = await api<Compiled>("PUT", `${path}${dry ? "?dry_run=true" : ""}`, body());
      setPreview(r);
      if (!dry) {
        setActive(true);
        return `The security of ${ref} is applied: REST, realtime and SQL as an API role follow it now.`;
      }
    });
  }

  return (
    <>
      <Feedback error={act.error} message={act.message} />
      <p className="muted" data-testid="active">
        {active ? `${ref} has a security configuration.` : `${ref} has no security configuration yet.`}
      </p>
      <form
        className="card"
        aria-label={`Security of ${ref}`}
        onSubmit={(e) => {
          e.preventDefault();
          send(true);
        }}
      >
        <fieldset>
          <legend>Who may reach the rows</legend>
          {FLAGS.map(([k, label]) => (
            <label key={k} className="inline">
              <input type="checkbox" checked={!!a[k]} onChange={(e) => setApi({ [k]: e.target.checked })} />
              {label}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Ownership</legend>
          <label className="inline">
            <input type="checkbox" checked={!!a.require_ownership} onChange={(e) => setApi({ require_ownership: e.target.checked })} />
            Users reach only their own rows
          </label>
          <label>
            Ownership column (holds the user&apos;s id, auth.uid())
            <select value={a.ownership_column ?? ""} onChange={(e) => setApi({ ownership_column: e.target.value || undefined })}>
              <option value="">none</option>
              {columns.map((c) => (
                <option key={c.name} value={c.name}>{c.name} ({c.format})</option>
              ))}
            </select>
          </label>
        </fieldset>
        <fieldset>
          <legend>Roles, addresses and rate</legend>
          <label>
            Allowed roles (separated by commas: database roles such as authenticated, or application roles from app_metadata.role)
            <input type="text" value={(a.allowed_roles ?? []).join(", ")} onChange={(e) => setApi({ allowed_roles: listOf(e.target.value) })} />
          </label>
          <label>
            IP allow-list (address ranges separated by commas, e.g. 10.0.0.0/8; empty: any address)
            <input type="text" value={(a.ip_whitelist ?? []).join(", ")} onChange={(e) => setApi({ ip_whitelist: listOf(e.target.value) })} />
          </label>
          <label>
            Rate limit, requests per minute per user on /rest/v1 (empty: none)
            <input type="number" min="1" value={a.rate_limit?.requests_per_minute ?? ""}
              onChange={(e) => setApi({ rate_limit: e.target.value ? { ...a.rate_limit, requests_per_minute: Number(e.target.value) } : undefined })} />
          </label>
          <label>
            Burst (requests allowed at once above the rate)
            <input type="number" min="0" value={a.rate_limit?.burst ?? ""} disabled={!a.rate_limit}
              onChange={(e) => setApi({ rate_limit: { ...a.rate_limit, burst: e.target.value ? Number(e.target.value) : undefined } })} />
          </label>
        </fieldset>
        <fieldset>
          <legend>Audit</legend>
          {AUDIT_ACTIONS.map((x) => (
            <label key={x} className="inline">
              <input type="checkbox" checked={!!cfg.audit_config?.enabled && (cfg.audit_config.actions ?? []).includes(x)}
                onChange={(e) => {
                  const now = new Set(cfg.audit_config?.enabled ? (cfg.audit_config.actions ?? []) : []);
                  if (e.target.checked) now.add(x);
                  else now.delete(x);
                  setCfg({ ...cfg, audit_config: { enabled: now.size > 0, actions: AUDIT_ACTIONS.filter((y) => now.has(y)) } });
                  setPreview(null);
                }} />
              Audit {x}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Fields</legend>
          <table className="list">
            <thead>
              <tr><th scope="col">Column</th><th scope="col">Hidden from the API roles</th><th scope="col">Masked as</th></tr>
            </thead>
            <tbody>
              {columns.map((c) => (
                <tr key={c.name}>
                  <td><code>{c.name}</code> <span className="muted">{c.format}</span></td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Hide ${c.name}`}
                      checked={hidden.has(c.name)}
                      onChange={(e) => setApi({ hidden_fields: e.target.checked ? [...hidden, c.name] : [...hidden].filter((x) => x !== c.name) })}
                    />
                  </td>
                  <td>
                    <select aria-label={`Mask of ${c.name}`} value={fp[c.name]?.is_masked ? (fp[c.name]?.mask ?? "fixed") : ""} onChange={(e) => setMask(c.name, e.target.value)}>
                      <option value="">not masked</option>
                      {MASKS.map((m) => (
                        <option key={m} value={m}>{m}</option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
        <div className="actions">
          <button type="submit" disabled={act.busy}>Preview SQL</button>
          <button type="button" className="primary" disabled={act.busy || !preview?.dry_run || removing} onClick={() => send(false)}>
            Apply
          </button>
          {active && (
            <button type="button" className="danger" disabled={act.busy} onClick={previewRemoval}>
              Remove configuration…
            </button>
          )}
        </div>
        {!preview && <p className="muted">Preview the SQL first; Apply runs it.</p>}
      </form>
      {preview && (
        <section aria-labelledby="sql-title">
          <h2 id="sql-title">{preview.dry_run ? (removing ? "SQL that the removal will run" : "SQL that Apply will run") : "SQL that ran"}</h2>
          {!!preview.warnings?.length && (
            <ul className="warnings" data-testid="warnings">
              {preview.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          <pre data-testid="sql" tabIndex={0} aria-label="Compiled SQL">{Array.isArray(preview.sql) ? preview.sql.map((q) => `${q};`).join("\n") : preview.sql}</pre>
        </section>
      )}
      <Confirm open={removing} title="Remove this table's security configuration?" confirmLabel="Remove configuration" onConfirm={remove} onCancel={() => { setRemoving(false); setPreview(null); }}>
        <p>The SQL shown runs: what the configuration compiled (its grants, policies and masks) is undone for {ref}, and REST, realtime and SQL as an API role follow PostgreSQL&apos;s own grants and policies again.</p>
      </Confirm>
    </>
  );
}

function TableSecurity() {
  const tables = useLoad(() => api<PgTable[]>("GET", "/pg/tables?include_columns=true"), []);
  const [picked, setPicked] = useState("");
  const list = (tables.data ?? []).filter((t) => !PLATFORM_SCHEMAS.has(t.schema) && !t.schema.startsWith("gf_")).sort((x, y) => `${x.schema}.${x.name}`.localeCompare(`${y.schema}.${y.name}`));
  const table = list.find((t) => `${t.schema}.${t.name}` === picked);
  return (
    <>
      <Feedback error={tables.error} />
      <div className="toolbar">
        <label>
          Table
          <select value={picked} onChange={(e) => setPicked(e.target.value)}>
            <option value="">choose a table</option>
            {list.map((t) => (
              <option key={t.id} value={`${t.schema}.${t.name}`}>{t.schema}.{t.name}</option>
            ))}
          </select>
        </label>
      </div>
      {table && <Form key={picked} table={table} />}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Table security" need="can_manage_all_tables">
      <TableSecurity />
    </Shell>
  );
}
