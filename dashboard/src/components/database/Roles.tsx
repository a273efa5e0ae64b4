"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

interface Role {
  id: number;
  name: string;
  is_superuser: boolean;
  can_login: boolean;
  can_bypass_rls: boolean;
  can_create_role: boolean;
  can_create_db: boolean;
  inherit_role: boolean;
  connection_limit: number;
  active_connections: number;
  valid_until: string | null;
}

const yes = (b: boolean) => (b ? "yes" : "no");

export function Roles({ canChange }: { canChange: boolean }) {
  const list = useLoad(() => api<Role[]>("GET", "/pg/roles"), []);
  const act = useAction();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [canLogin, setCanLogin] = useState(false);
  const [inherit, setInherit] = useState(true);
  const [memberOf, setMemberOf] = useState("");
  const [deleting, setDeleting] = useState<Role | null>(null);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const body: Record<string, unknown> = { name: name.trim(), can_login: canLogin, inherit_role: inherit };
    if (password) body.password = password;
    const m = memberOf.split(",").map((x) => x.trim()).filter(Boolean);
    if (m.length) body.member_of = m;
    if (await act.run(async () => {
      await api("POST", "/pg/roles", body);
      return `Role ${body.name} created.`;
    })) {
      setName("");
      setPassword("");
      setMemberOf("");
      list.reload();
    }
  }

  const roles = list.data ?? [];
  return (
    <section aria-labelledby="roles-title">
      <h2 id="roles-title">Roles</h2>
      <Feedback error={act.error || list.error} message={act.message} />
      {canChange && (
        <details>
          <summary>Create a role</summary>
          <form className="card" onSubmit={create}>
            <label>
              Role name
              <input type="text" required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              Password (empty: none; needed to sign in with it)
              <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <label>
              Member of (roles separated by commas)
              <input type="text" value={memberOf} onChange={(e) => setMemberOf(e.target.value)} placeholder="authenticated" />
            </label>
            <label className="inline">
              <input type="checkbox" checked={canLogin} onChange={(e) => setCanLogin(e.target.checked)} />
              Can log in
            </label>
            <label className="inline">
              <input type="checkbox" checked={inherit} onChange={(e) => setInherit(e.target.checked)} />
              Inherits its roles&apos; privileges
            </label>
            <div className="actions">
              <button type="submit" className="primary" disabled={act.busy}>Create role</button>
            </div>
          </form>
        </details>
      )}
      <p className="muted" role="status">{list.loading ? "Loading…" : `${roles.length} roles`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="roles">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Log in</th>
              <th scope="col">Superuser</th>
              <th scope="col">Bypasses RLS</th>
              <th scope="col">Creates roles</th>
              <th scope="col">Connections</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <tr key={r.id}>
                <td>{r.name}</td>
                <td>{yes(r.can_login)}</td>
                <td>{yes(r.is_superuser)}</td>
                <td>{yes(r.can_bypass_rls)}</td>
                <td>{yes(r.can_create_role)}</td>
                <td>{r.active_connections}{r.connection_limit >= 0 ? ` of ${r.connection_limit}` : ""}</td>
                <td className="actions">
                  {canChange && (
                    <button type="button" className="danger" aria-label={`Delete role ${r.name}`} onClick={() => setDeleting(r)}>Delete</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Confirm
        open={!!deleting}
        title="Delete this role?"
        confirmLabel="Delete role"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const r = deleting!;
          setDeleting(null);
          act.run(async () => {
            await api("DELETE", `/pg/roles/${r.id}`);
            return `Role ${r.name} deleted.`;
          }).then((ok) => ok && list.reload());
        }}
      >
        <p>Role {deleting?.name} is dropped. PostgreSQL refuses while it owns objects or holds privileges; the error says which.</p>
      </Confirm>
    </section>
  );
}
