"use client";

import { useEffect, useRef, useState } from "react";
import { Confirm } from "@/components/Confirm";
import { DataGrid, Row } from "@/components/DataGrid";
import { Shell } from "@/components/Shell";
import { Feedback, useAction } from "@/components/useLoad";
import { api } from "@/lib/api";
import type { PgColumn } from "@/lib/pg";
import { useMe } from "@/lib/session";

interface Statement {
  sql: string;
  kind: string;
  classes: string[] | null;
  warnings: string[] | null;
  line: number;
}

interface Analysis {
  statements: Statement[];
  classes: string[] | null;
  warnings: string[] | null;
  requires_confirmation: boolean;
}

interface Result {
  command: string;
  rows_affected: number;
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
}

// The draft survives a reload or an ended session (sessionStorage: this tab only); the history
// is the admin's own, on this browser (localStorage, keyed by the admin's id). Neither holds a
// credential.
const DRAFT_KEY = "goforward:sql-draft";
const historyKey = (id: string) => `goforward:sql-history:${id}`;
const DANGEROUS_WORDS: Record<string, string> = {
  drop: "drops an object and its data",
  truncate: "empties tables",
  delete_without_where: "deletes every row of a table",
  update_without_where: "updates every row of a table",
};

function SQL() {
  const me = useMe();
  const [sql, setSQL] = useState("");
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [pending, setPending] = useState<{ query: string; classes: string[] } | null>(null);
  const [results, setResults] = useState<Result[] | null>(null);
  const [history, setHistory] = useState<string[]>([]);
  const [migrationName, setMigrationName] = useState("");
  const editor = useRef<HTMLTextAreaElement>(null);
  const act = useAction();

  useEffect(() => {
    setSQL(sessionStorage.getItem(DRAFT_KEY) ?? "select now();");
    setHistory(JSON.parse(localStorage.getItem(historyKey(me.user_id ?? "")) ?? "[]"));
  }, [me.user_id]);
  useEffect(() => {
    sessionStorage.setItem(DRAFT_KEY, sql);
  }, [sql]);

  function selection(): string {
    const el = editor.current;
    if (el && el.selectionStart !== el.selectionEnd) return sql.slice(el.selectionStart, el.selectionEnd);
    return sql;
  }

  async function run(all: boolean) {
    const query = all ? sql : selection();
    await act.run(async () => {
      setResults(null);
      const a = await api<Analysis>("POST", "/pg/query/analyze", { query });
      setAnalysis(a);
      if (a.requires_confirmation) {
        setPending({ query, classes: a.classes ?? [] });
        return;
      }
      await execute(query, []);
    });
  }

  async function execute(query: string, confirm: string[]) {
    const res = await api<{ results: Result[] }>("POST", "/pg/query?all_results=true", { query, confirm });
    setResults(res.results);
    const h = [query, ...history.filter((q) => q !== query)].slice(0, 30);
    setHistory(h);
    localStorage.setItem(historyKey(me.user_id ?? ""), JSON.stringify(h));
  }

  async function confirmed() {
    const p = pending!;
    setPending(null);
    await act.run(() => execute(p.query, p.classes));
  }

  async function saveMigration(e: React.FormEvent) {
    e.preventDefault();
    await act.run(async () => {
      const m = await api<{ version: string; name: string }>("POST", "/admin/v1/migrations", { name: migrationName, up: sql, mark_applied: true });
      return `Saved as migration ${m.version}_${m.name} (recorded as applied).`;
    });
  }

  const last = results?.filter((r) => r.columns.length > 0).pop();
  const columns: PgColumn[] = (last?.columns ?? []).map((c, i) => ({
    id: String(i), table_id: 0, name: c.name, data_type: c.type, format: c.type, is_nullable: true, is_identity: false,
    is_generated: false, is_updatable: false, is_unique: false, default_value: null, comment: null, ordinal_position: i,
  }));
  const rows: Row[] = (last?.rows ?? []).map((r) => Object.fromEntries(columns.map((c, i) => [c.name, r[i]])));

  return (
    <>
      <label>
        SQL (select text to run only that)
        <textarea ref={editor} className="sql-editor" rows={10} spellCheck={false} value={sql} onChange={(e) => setSQL(e.target.value)}
          onKeyDown={(e) => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); run(false); } }} />
      </label>
      <div className="toolbar">
        <button type="button" className="primary" onClick={() => run(false)} disabled={act.busy}>Run selection</button>
        <button type="button" onClick={() => run(true)} disabled={act.busy}>Run all</button>
        <span className="muted">Ctrl+Enter runs the selection (or everything).</span>
      </div>
      <Feedback error={act.error} message={act.message} />
      {analysis && (
        <div data-testid="analysis">
          <h2>What this SQL does</h2>
          <ul>
            {analysis.statements.map((s, i) => (
              <li key={i}>
                <span className="badge">{s.kind}</span> line {s.line}
                {s.classes?.length ? <> · <strong>{s.classes.join(", ")}</strong></> : null}
                {s.warnings?.map((w) => <div key={w} className="notice">{w}</div>)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {results && (
        <section aria-label="Results">
          <h2>Results</h2>
          <ul data-testid="result-summary">
            {results.map((r, i) => (
              <li key={i}>
                {r.command}: {r.columns.length ? `${r.rows.length} row${r.rows.length === 1 ? "" : "s"}` : `${r.rows_affected} row${r.rows_affected === 1 ? "" : "s"} affected`}
                {r.truncated && <strong className="notice"> truncated: only the first rows were returned (sql.max_rows)</strong>}
              </li>
            ))}
          </ul>
          {last && (
            <>
              <p className="muted">{last.columns.map((c) => `${c.name}: ${c.type}`).join(" · ")}</p>
              <DataGrid columns={columns} rows={rows} keyOf={(_, i) => String(i)} sort={null} onSort={() => {}} relationships={[]} linkTo={() => ""} />
            </>
          )}
        </section>
      )}
      <form className="toolbar" onSubmit={saveMigration} aria-label="Save as migration">
        <label>Migration name<input required pattern="[a-z0-9_]+" title="lower-case letters, digits and _" value={migrationName} onChange={(e) => setMigrationName(e.target.value)} /></label>
        <button type="submit" disabled={act.busy}>Save as migration</button>
      </form>
      {history.length > 0 && (
        <details>
          <summary>History ({history.length})</summary>
          <ul>
            {history.map((q) => (
              <li key={q}><button type="button" className="small" onClick={() => setSQL(q)}>Load</button> <code>{q.length > 120 ? q.slice(0, 120) + "…" : q}</code></li>
            ))}
          </ul>
        </details>
      )}
      <Confirm open={!!pending} title="Run dangerous SQL?" confirmLabel={`Run it: ${pending?.classes.join(", ")}`} onConfirm={confirmed} onCancel={() => setPending(null)}>
        <p>This SQL does something that cannot be undone:</p>
        <ul data-testid="dangerous">
          {pending?.classes.map((c) => <li key={c}><strong>{c}</strong>{DANGEROUS_WORDS[c] ? `: ${DANGEROUS_WORDS[c]}` : ""}</li>)}
        </ul>
        <pre>{pending?.query}</pre>
      </Confirm>
    </>
  );
}

export default function Page() {
  return (
    <Shell title="SQL editor" need="can_access_sql">
      <SQL />
    </Shell>
  );
}
