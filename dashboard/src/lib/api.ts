// The dashboard's only way to the APIs. The admin session is the HttpOnly cookie the browser
// sends by itself (same origin); what the page's script holds is the CSRF token, in memory
// only, which every request that changes something echoes in X-CSRF-Token. No token is ever
// written to localStorage or sessionStorage.

let csrfToken = "";

export function setCSRF(token: string | undefined) {
  csrfToken = token ?? "";
}

export function csrf(): string {
  return csrfToken;
}

/** An error the API answered, with its words and what to do. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** The event the shell listens to: the session ended (expired, revoked, signed out elsewhere). */
export const SESSION_EXPIRED = "goforward:session-expired";

const SESSION_CODES = new Set(["session_expired", "no_authorization", "not_admin"]);

type Body = Record<string, unknown> | unknown[] | undefined;

export interface CallOptions {
  /** Do not treat a 401 as the session's end (the sign-in forms). */
  anonymous?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Calls an API path on this origin and answers its JSON (undefined for 204). */
export async function api<T>(method: string, path: string, body?: Body, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError("The server could not be reached. Check that goforward is running, then try again.", 0, "network", null);
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const err = toError(res.status, data);
    if (res.status === 401 && !opts.anonymous && SESSION_CODES.has(err.code)) {
      window.dispatchEvent(new CustomEvent(SESSION_EXPIRED));
    }
    throw err;
  }
  return data as T;
}

/** Reads the error shapes of the APIs (GoTrue's, postgres-meta's, PostgREST's) into words. */
export function toError(status: number, data: unknown): ApiError {
  let message = "";
  let code = "";
  if (data && typeof data === "object") {
    const d = data as Record<string, unknown>;
    message = str(d.msg) || str(d.message) || str(d.error_description) || str(d.error);
    code = str(d.error_code) || str(d.code);
    if (str(d.hint)) message += ` (${str(d.hint)})`;
  } else if (typeof data === "string") {
    message = data;
  }
  if (!message) message = `The server answered ${status}.`;
  return new ApiError(message + advice(status, code), status, code, data);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

// advice adds what to do where the API's words do not say it already.
function advice(status: number, code: string): string {
  if (code === "insufficient_capability") return " Your admin level does not allow this; ask a higher admin.";
  if (code === "csrf_failed") return " Reload the page and try again.";
  if (status === 401) return " Sign in again.";
  if (status === 429) return " Wait a moment and try again.";
  if (status >= 500) return " The server logged the details; try again, or check its log.";
  return "";
}
