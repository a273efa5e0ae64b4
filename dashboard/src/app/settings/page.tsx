"use client";

import { Shell } from "@/components/Shell";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

function Settings() {
  const s = useLoad(() => api<{ environment: string; config: unknown }>("GET", "/admin/v1/settings"), []);
  return (
    <>
      {s.error && <p className="error" role="alert">{s.error}</p>}
      {s.data && (
        <>
          <p>
            The effective configuration of this node ({s.data.environment}), secrets redacted. Change it in <code>goforward.yaml</code> or the
            environment and restart.
          </p>
          <pre data-testid="settings">{JSON.stringify(s.data.config, null, 2)}</pre>
        </>
      )}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Settings" need="can_manage_system">
      <Settings />
    </Shell>
  );
}
