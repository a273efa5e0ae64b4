import { PostgrestClient } from "@supabase/postgrest-js";
import { csrf, toError, SESSION_EXPIRED } from "./api";

/**
 * Table data through @supabase/postgrest-js against /admin/v1/rest/v1: the same engine as
 * /rest/v1, mounted for admins. The session is the cookie; writes carry the CSRF token.
 */
export function restClient(schema: string) {
  return new PostgrestClient(window.location.origin + "/admin/v1/rest/v1", {
    schema,
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      if (init?.method && init.method !== "GET" && init.method !== "HEAD") headers.set("X-CSRF-Token", csrf());
      const res = await fetch(input, { ...init, headers, credentials: "same-origin" });
      if (res.status === 401) window.dispatchEvent(new CustomEvent(SESSION_EXPIRED));
      return res;
    },
  });
}

/** postgrest-js's error in words. */
export function restError(e: { message?: string; details?: string | null; hint?: string | null; code?: string } | null, status = 400): Error {
  return toError(status, e ?? {});
}
