"use client";

import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { PgTable } from "@/lib/pg";

/** Quotes an identifier as PostgreSQL does (for the SQL previews only; the API quotes its own). */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

// The catalog's own schemas; every other one (storage and auth included) is the admin's to see.
const SYSTEM = "information_schema,pg_catalog,pg_toast";

/** Every table outside the system schemas, for the pickers of the database pages. */
export function useAllTables() {
  return useLoad(() => api<PgTable[]>("GET", `/pg/tables?include_columns=false&excluded_schemas=${SYSTEM}`), []);
}

export function TablePicker({
  tables,
  value,
  onChange,
  label = "Table",
}: {
  tables: PgTable[] | null;
  value: string;
  onChange: (v: string) => void;
  label?: string;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)} required>
        <option value="">Choose a table…</option>
        {(tables ?? []).map((t) => (
          <option key={t.id} value={`${t.schema}.${t.name}`}>
            {t.schema}.{t.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Splits "schema.table" (a table name may hold no dot here: the pickers build these). */
export function splitTable(v: string): { schema: string; table: string } {
  const i = v.indexOf(".");
  return { schema: v.slice(0, i), table: v.slice(i + 1) };
}

export function commaList(s: string): string[] {
  return s.split(",").map((x) => x.trim()).filter(Boolean);
}
