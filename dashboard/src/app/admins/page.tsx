"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { useMe } from "@/lib/session";

interface Admin {
  user_id: string;
  email: string;
  level: string;
  assigned_tables: string[];
  assigned_user_groups: string[];
  granted_via: string;
  granted_at: string;
  revoked_at?: string;
}

const LEVELS = ["system_admin", "super_admin", "regular_admin", "moderator"];
const label = (l: string) => l.replace("_", " ");

function Admins() {
  const me = useMe();
  // An admin grants only levels strictly below its own (the server decides; this only hides
  // choices it would refuse).
  const grantable = LEVELS.slice(LEVELS.indexOf(me.level) + 1).filter((l) => l !== "system_admin");
  const list = useLoad(() => api<{ admins: Admin[] }>("GET", "/admin/v1/admins?include_revoked=true").then((r) => r.admins), []);
  const act = useAction();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [level, setLevel] = useState(grantable[grantable.length - 1] ?? "moderator");
  const [tables, setTables] = useState("");
  const [groups, setGroups] = useState("");
  const [revoking, setRevoking] = useState<Admin | null>(null);
  const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const ok = await act.run(async () => {
      const body: Record<string, unknown> = { email, level, assigned_tables: split(tables), assigned_user_groups: split(groups) };
      if (password) body.password = password;
      const res = await api<Admin & { user_created: boolean }>("POST", "/admin/v1/admins", body);
      return `${res.email} is now a ${label(res.level)}${res.user_created ? " (a new user was created)" : ""}.`;
    });
    if (ok) {
      setEmail("");
      setPassword("");
      list.reload();
    }
  }

  async function changeLevel(a: Admin, to: string) {
    if (await act.run(async () => {
      await api("PATCH", `/admin/v1/admins/${a.user_id}`, { level: to });
      return `${a.email} is now a ${label(to)}; their open sessions ended.`;
    })) list.reload();
  }

  async function revoke(a: Admin) {
    setRevoking(null);
    if (await act.run(async () => {
      await api("DELETE", `/admin/v1/admins/${a.user_id}`);
      return `${a.email} is no longer an admin.`;
    })) list.reload();
  }

  return (
    <>
      <Feedback error={act.error || list.error} message={act.message} />
      <h2>Add an admin</h2>
      {grantable.length === 0 ? (
        <p className="muted">Your level grants no admin level.</p>
      ) : (
        <form onSubmit={create} className="card">
          <label>
            Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Password (only for a new user; leave empty to make an existing user an admin)
            <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label>
            Level
            <select value={level} onChange={(e) => setLevel(e.target.value)}>
              {grantable.map((l) => (
                <option key={l} value={l}>{label(l)}</option>
              ))}
            </select>
          </label>
          <label>
            Assigned tables (schema.table, comma-separated; regular admins and moderators)
            <input value={tables} onChange={(e) => setTables(e.target.value)} />
          </label>
          <label>
            Assigned user groups (comma-separated)
            <input value={groups} onChange={(e) => setGroups(e.target.value)} />
          </label>
          <button className="primary" type="submit" disabled={act.busy}>Add admin</button>
        </form>
      )}
      <h2>Admins</h2>
      {list.data && (
        <div className="scroll-x">
          <table className="list" data-testid="admins">
            <thead>
              <tr><th scope="col">Email</th><th scope="col">Level</th><th scope="col">Assigned</th><th scope="col">Granted</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {list.data.map((a) => {
                const manageable = !a.revoked_at && grantable.includes(a.level);
                return (
                  <tr key={a.user_id}>
                    <td>{a.email}</td>
                    <td>
                      {a.revoked_at ? <span className="badge">revoked</span> : manageable ? (
                        <select aria-label={`Level of ${a.email}`} value={a.level} onChange={(e) => changeLevel(a, e.target.value)} disabled={act.busy}>
                          {grantable.map((l) => <option key={l} value={l}>{label(l)}</option>)}
                        </select>
                      ) : label(a.level)}
                    </td>
                    <td>{[...a.assigned_tables, ...a.assigned_user_groups.map((g) => `group ${g}`)].join(", ") || "—"}</td>
                    <td>{new Date(a.granted_at).toLocaleDateString()} via {a.granted_via}</td>
                    <td>
                      {manageable && (
                        <button type="button" className="danger" onClick={() => setRevoking(a)}>Revoke</button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Confirm open={!!revoking} title="Revoke this admin?" confirmLabel="Revoke" onConfirm={() => revoking && revoke(revoking)} onCancel={() => setRevoking(null)}>
        <p>{revoking?.email} loses admin access at once and their sessions end. Their user account stays.</p>
      </Confirm>
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Admins" need="can_create_admins">
      <Admins />
    </Shell>
  );
}
