"use client";

import { useState } from "react";
import { Confirm } from "@/components/Confirm";
import { Shell } from "@/components/Shell";
import { Feedback, useAction, useLoad } from "@/components/useLoad";
import { AuthSettings } from "@/components/AuthSettings";
import { api } from "@/lib/api";
import { can, useMe } from "@/lib/session";

interface User {
  id: string;
  email?: string;
  phone?: string;
  created_at: string;
  last_sign_in_at?: string;
  banned_until?: string;
  email_confirmed_at?: string;
}

const PER_PAGE = 50;

function Users() {
  const me = useMe();
  const [filter, setFilter] = useState("");
  const [query, setQuery] = useState("");
  const [page, setPage] = useState(1);
  const list = useLoad(
    () => api<{ users: User[]; total: number }>("GET", `/admin/v1/users?page=${page}&per_page=${PER_PAGE}&filter=${encodeURIComponent(query)}`),
    [page, query],
  );
  const act = useAction();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [deleting, setDeleting] = useState<User | null>(null);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    if (await act.run(async () => {
      const u = await api<User>("POST", "/admin/v1/users", { email, password: password || undefined, email_confirm: true });
      return `User ${u.email} created.`;
    })) {
      setEmail("");
      setPassword("");
      list.reload();
    }
  }

  async function action(u: User, what: string, fn: () => Promise<unknown>) {
    if (await act.run(async () => {
      await fn();
      return `${u.email ?? u.id}: ${what}.`;
    })) list.reload();
  }

  const users = list.data?.users ?? [];
  const total = list.data?.total ?? 0;
  const banned = (u: User) => !!u.banned_until && new Date(u.banned_until) > new Date();
  return (
    <>
      <Feedback error={act.error || list.error} message={act.message} />
      <form
        className="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setQuery(filter);
        }}
      >
        <label>
          Search users by email
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <details>
        <summary>Create a user</summary>
        <form onSubmit={create} className="card">
          <label>
            Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Password
            <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <button className="primary" type="submit" disabled={act.busy}>Create user</button>
        </form>
      </details>
      <p className="muted" role="status">{list.loading ? "Loading…" : `${total} user${total === 1 ? "" : "s"}`}</p>
      <div className="scroll-x">
        <table className="list" data-testid="users">
          <thead>
            <tr><th scope="col">Email</th><th scope="col">Created</th><th scope="col">Last sign-in</th><th scope="col">Status</th><th scope="col">Actions</th></tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>{u.email || u.phone || u.id}</td>
                <td>{new Date(u.created_at).toLocaleDateString()}</td>
                <td>{u.last_sign_in_at ? new Date(u.last_sign_in_at).toLocaleString() : "never"}</td>
                <td>{banned(u) ? <span className="badge">banned</span> : "active"}</td>
                <td className="actions">
                  {banned(u) ? (
                    <button type="button" onClick={() => action(u, "unbanned", () => api("POST", `/admin/v1/users/${u.id}/unban`))}>Unban</button>
                  ) : (
                    <button type="button" onClick={() => action(u, "banned", () => api("POST", `/admin/v1/users/${u.id}/ban`, { duration: "forever" }))}>Ban</button>
                  )}
                  <button type="button" onClick={() => action(u, "signed out everywhere", () => api("POST", `/admin/v1/users/${u.id}/logout`))}>Sign out everywhere</button>
                  <button type="button" onClick={() => action(u, "sign-in lockout cleared", () => api("POST", `/admin/v1/users/${u.id}/unlock`))}>Unlock</button>
                  <button type="button" onClick={() => action(u, "second factors removed", () => api("POST", `/admin/v1/users/${u.id}/reset_mfa`))}>Reset MFA</button>
                  <button type="button" className="danger" onClick={() => setDeleting(u)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="toolbar">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous page</button>
        <span>Page {page} of {Math.max(1, Math.ceil(total / PER_PAGE))}</span>
        <button type="button" disabled={page * PER_PAGE >= total} onClick={() => setPage(page + 1)}>Next page</button>
      </div>
      <Confirm
        open={!!deleting}
        title="Delete this user?"
        confirmLabel="Delete user"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const u = deleting!;
          setDeleting(null);
          action(u, "deleted", () => api("DELETE", `/admin/v1/users/${u.id}`));
        }}
      >
        <p>{deleting?.email} and their sessions are deleted. This cannot be undone.</p>
      </Confirm>
      {can(me, "can_manage_system") && <AuthSettings />}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Users" need="can_manage_users">
      <Users />
    </Shell>
  );
}
