"use client";

import { Shell } from "@/components/Shell";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { can, useMe } from "@/lib/session";

interface ServerInfo {
  version: string;
  environment: string;
  services: string[];
  go_version: string;
  postgres_version: string;
  started_at: string;
}

interface TableInfo {
  id: number;
  schema: string;
  name: string;
  live_rows_estimate: number;
}

const SYSTEM_SCHEMAS = "auth,storage,goforward,realtime,extensions,graphql,graphql_public,pgbouncer,vault,supabase_functions,supabase_migrations";

interface Alert {
  id: number;
  rule: string;
  severity: string;
  subject: string;
  message: string;
  last_seen: string;
  count: number;
}

// The newest open alerts, for a level that may read them; the alerts page has the rest.
function RecentAlerts() {
  const alerts = useLoad(() => api<{ alerts: Alert[] }>("GET", "/admin/v1/alerts?status=open&limit=5"), []);
  const list = alerts.data?.alerts ?? [];
  return (
    <>
      <h2>Open alerts</h2>
      {alerts.error && <p className="error" role="alert">{alerts.error}</p>}
      {alerts.data && (list.length === 0 ? (
        <p className="ok" data-testid="recent-alerts">No open alerts.</p>
      ) : (
        <div className="scroll-x">
          <table className="list" data-testid="recent-alerts">
            <thead><tr><th scope="col">Last seen</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">What</th></tr></thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id}>
                  <td>{new Date(a.last_seen).toLocaleString()}</td>
                  <td>{a.severity}</td>
                  <td>{a.rule}</td>
                  <td>{a.message}{a.count > 1 ? ` (${a.count} times)` : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p><a href="/alerts">All alerts</a></p>
        </div>
      ))}
    </>
  );
}

function Home() {
  const me = useMe();
  const server = useLoad(() => api<ServerInfo>("GET", "/admin/v1/server"), []);
  const ready = useLoad(() => api<{ status: string }>("GET", "/ready"), []);
  const tables = useLoad(
    () => api<TableInfo[]>("GET", `/pg/tables?include_columns=false&excluded_schemas=${SYSTEM_SCHEMAS}`),
    [],
  );
  const s = server.data;
  return (
    <>
      <h2>Health</h2>
      <p data-testid="health" role="status">
        {ready.error ? <span className="error">Not ready: {ready.error}</span> : ready.data ? <span className="ok">Ready: the database answers.</span> : "Checking…"}
      </p>
      <h2>Server</h2>
      {server.error && <p className="error" role="alert">{server.error}</p>}
      {s && (
        <dl className="stats" data-testid="server">
          <div><dt>Go Forward</dt><dd>{s.version}</dd></div>
          <div><dt>Environment</dt><dd>{s.environment}</dd></div>
          <div><dt>PostgreSQL</dt><dd>{s.postgres_version}</dd></div>
          <div><dt>Go</dt><dd>{s.go_version}</dd></div>
          <div><dt>Started</dt><dd>{new Date(s.started_at).toLocaleString()}</dd></div>
          <div><dt>Services</dt><dd>{s.services.join(", ")}</dd></div>
        </dl>
      )}
      {can(me, "can_view_all_logs") && <RecentAlerts />}
      <h2>Tables</h2>
      {tables.error && <p className="error" role="alert">{tables.error}</p>}
      {tables.data && (
        tables.data.length === 0 ? (
          <p className="muted">No tables yet. Create one in the table editor.</p>
        ) : (
          <div className="scroll-x">
            <table className="list" data-testid="row-counts">
              <caption className="muted">Row counts are PostgreSQL&apos;s estimates.</caption>
              <thead><tr><th scope="col">Table</th><th scope="col">Rows (estimate)</th></tr></thead>
              <tbody>
                {tables.data.map((t) => (
                  <tr key={t.id}>
                    <td>{t.schema}.{t.name}</td>
                    <td>{Math.max(0, t.live_rows_estimate).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Home">
      <Home />
    </Shell>
  );
}
