// Shapes of postgres-meta's catalog answers (/pg) the dashboard reads.

export interface PgColumn {
  id: string;
  table_id: number;
  name: string;
  data_type: string;
  format: string;
  is_nullable: boolean;
  is_identity: boolean;
  is_generated: boolean;
  is_updatable: boolean;
  is_unique: boolean;
  default_value: unknown;
  comment: string | null;
  ordinal_position: number;
  // Go Forward's column kinds (docs/pgmeta.md).
  is_json?: boolean;
  is_array?: boolean;
  array_element_type?: string | null;
  is_rich_text?: boolean;
  is_file_reference?: boolean;
}

/** Which editor a column's values get. */
export function kindOf(c: PgColumn): "rich_text" | "file_reference" | "json" | "array" | "plain" {
  if (c.is_rich_text || c.format === "rich_text") return "rich_text";
  if (c.is_file_reference || c.format === "file_reference") return "file_reference";
  if (c.is_json || c.format === "json" || c.format === "jsonb") return "json";
  if (c.is_array || c.data_type === "ARRAY" || c.format.startsWith("_")) return "array";
  return "plain";
}

export interface PgRelationship {
  constraint_name: string;
  source_schema: string;
  source_table_name: string;
  source_column_name: string;
  target_table_schema: string;
  target_table_name: string;
  target_column_name: string;
}

export interface PgTable {
  id: number;
  schema: string;
  name: string;
  rls_enabled: boolean;
  live_rows_estimate: number;
  comment: string | null;
  columns?: PgColumn[];
  primary_keys: { name: string }[];
  relationships: PgRelationship[];
}

export interface PgSchema {
  id: number;
  name: string;
}

/** Schemas the platform owns; the table editor starts on the others. */
export const PLATFORM_SCHEMAS = new Set([
  "auth", "storage", "goforward", "realtime", "extensions", "graphql", "graphql_public", "pgbouncer", "vault",
  "supabase_functions", "supabase_migrations", "information_schema", "pg_catalog", "pg_toast",
]);

/** Column types the create form offers (any PostgreSQL type can be typed in too). */
export const COMMON_TYPES = ["int8", "int4", "text", "varchar", "bool", "numeric", "float8", "uuid", "timestamptz", "date", "jsonb", "text[]", "int8[]", "goforward.rich_text", "goforward.file_reference"];
