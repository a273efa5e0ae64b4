"use client";

import { useEffect, useState } from "react";
import { Extensions } from "@/components/database/Extensions";
import { Functions } from "@/components/database/Functions";
import { Indexes } from "@/components/database/Indexes";
import { Policies } from "@/components/database/Policies";
import { Publications } from "@/components/database/Publications";
import { Roles } from "@/components/database/Roles";
import { Triggers } from "@/components/database/Triggers";
import { Shell } from "@/components/Shell";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { PgSchema } from "@/lib/pg";
import { can, useMe } from "@/lib/session";

const OBJECTS = [
  ["policies", "Policies"],
  ["roles", "Roles"],
  ["functions", "Functions"],
  ["triggers", "Triggers"],
  ["indexes", "Indexes"],
  ["extensions", "Extensions"],
  ["publications", "Publications"],
] as const;
type Kind = (typeof OBJECTS)[number][0];

function Database() {
  const me = useMe();
  // Reads are every dashboard admin's; changes are can_manage_database's (the server checks).
  const canChange = can(me, "can_manage_database");
  const [kind, setKind] = useState<Kind>("policies");
  useEffect(() => {
    const k = new URLSearchParams(window.location.search).get("object");
    if (OBJECTS.some(([o]) => o === k)) setKind(k as Kind);
  }, []);
  const schemas = useLoad(() => api<PgSchema[]>("GET", "/pg/schemas"), []);
  const names = (schemas.data ?? [{ id: 0, name: "public" }]).map((s) => s.name);

  function choose(k: Kind) {
    setKind(k);
    window.history.replaceState(null, "", `/database?object=${k}`);
  }

  return (
    <>
      <nav aria-label="Database objects" className="toolbar">
        {OBJECTS.map(([k, label]) => (
          <button key={k} type="button" aria-pressed={kind === k} className={kind === k ? "primary" : undefined} onClick={() => choose(k)}>
            {label}
          </button>
        ))}
      </nav>
      {!canChange && <p className="muted">Your level reads these objects; changing them needs can_manage_database.</p>}
      {kind === "policies" && <Policies canChange={canChange} />}
      {kind === "roles" && <Roles canChange={canChange} />}
      {kind === "functions" && <Functions canChange={canChange} schemas={names} />}
      {kind === "triggers" && <Triggers canChange={canChange} />}
      {kind === "indexes" && <Indexes canChange={canChange} />}
      {kind === "extensions" && <Extensions canChange={canChange} schemas={names} />}
      {kind === "publications" && <Publications canChange={canChange} />}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Database" need="can_view_dashboard">
      <Database />
    </Shell>
  );
}
