"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, setCSRF, SESSION_EXPIRED } from "@/lib/api";
import { can, Capability, loadMe, Me, MeContext } from "@/lib/session";
import { ThemeToggle } from "./ThemeToggle";

interface NavItem {
  href: string;
  label: string;
  need?: Capability;
}

// The navigation shows what the admin's capabilities allow; the server checks each call anyway.
export const NAV: NavItem[] = [
  { href: "/", label: "Home" },
  { href: "/tables", label: "Table editor", need: "can_view_dashboard" },
  { href: "/sql", label: "SQL editor", need: "can_access_sql" },
  { href: "/database", label: "Database", need: "can_view_dashboard" },
  { href: "/table-security", label: "Table security", need: "can_manage_all_tables" },
  { href: "/files", label: "Storage", need: "can_manage_storage" },
  { href: "/users", label: "Users", need: "can_manage_users" },
  { href: "/admins", label: "Admins", need: "can_create_admins" },
  { href: "/migrations", label: "Migrations", need: "can_manage_database" },
  { href: "/audit", label: "Audit log", need: "can_view_basic_logs" },
  { href: "/alerts", label: "Alerts", need: "can_view_all_logs" },
  { href: "/api-keys", label: "API keys", need: "can_manage_system" },
  { href: "/settings", label: "Settings", need: "can_manage_system" },
];

/** Where the sign-in page sends the admin back to after a session ended. */
export const RETURN_KEY = "goforward:return-to";

export function Shell({ title, need, children }: { title: string; need?: Capability; children: React.ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState("");

  const toSignIn = useCallback(
    (expired: boolean) => {
      // The page the admin was on comes back after signing in again; a path, never a token.
      sessionStorage.setItem(RETURN_KEY, window.location.pathname + window.location.search);
      router.replace(expired ? "/signin?expired=1" : "/signin");
    },
    [router],
  );

  useEffect(() => {
    let live = true;
    loadMe()
      .then((m) => live && setMe(m))
      .catch((e: ApiError) => {
        if (!live) return;
        if (e.status === 401 || e.status === 403) toSignIn(false);
        else setError(e.message);
      });
    const onExpired = () => toSignIn(true);
    window.addEventListener(SESSION_EXPIRED, onExpired);
    return () => {
      live = false;
      window.removeEventListener(SESSION_EXPIRED, onExpired);
    };
  }, [toSignIn]);

  async function signOut() {
    try {
      await api("DELETE", "/admin/v1/sessions/current");
    } catch {
      // Signed out already: the sign-in page is where the admin goes either way.
    }
    setCSRF("");
    sessionStorage.removeItem(RETURN_KEY);
    router.replace("/signin");
  }

  if (error) {
    return (
      <main className="center">
        <p role="alert" className="error">{error}</p>
      </main>
    );
  }
  if (!me) {
    return (
      <main className="center" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  return (
    <MeContext.Provider value={me}>
      <div className="shell">
        <header className="topbar">
          <span className="brand">Go Forward</span>
          <span className="who" data-testid="who">
            {me.email} · {me.level.replace("_", " ")}
          </span>
          <ThemeToggle />
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        <nav aria-label="Main" className="nav">
          <ul>
            {NAV.filter((n) => can(me, n.need)).map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={pathname === n.href ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main className="content">
          <h1>{title}</h1>
          {can(me, need) ? (
            children
          ) : (
            <p role="alert" className="error">
              Your admin level ({me.level.replace("_", " ")}) does not give access to this page. Ask a higher admin if you need it.
            </p>
          )}
        </main>
      </div>
    </MeContext.Provider>
  );
}
