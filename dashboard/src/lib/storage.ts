// Storage through /admin/v1/storage/v1: /storage/v1's API for admin sessions (the cookie,
// with the CSRF token on changes), so the page never holds a service-role key or token.
import { api, csrf, SESSION_EXPIRED, toError } from "./api";

export const STORAGE = "/admin/v1/storage/v1";

export interface Bucket {
  id: string;
  name: string;
  public: boolean;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
  created_at: string;
}

export interface StoredObject {
  name: string;
  id: string | null; // null for a folder (a prefix)
  updated_at: string | null;
  metadata: { size?: number; mimetype?: string } | null;
}

/** An object's path in the URL: each segment escaped, the slashes kept. */
export const objectPath = (bucket: string, name: string) => [bucket, ...name.split("/")].map(encodeURIComponent).join("/");

export const objectURL = (bucket: string, name: string) => `${STORAGE}/object/${objectPath(bucket, name)}`;

export function listObjects(bucket: string, prefix: string) {
  return api<StoredObject[]>("POST", `${STORAGE}/object/list/${encodeURIComponent(bucket)}`, {
    prefix, limit: 1000, offset: 0, sortBy: { column: "name", order: "asc" },
  });
}

/** Uploads a file with progress (fetch reports none for uploads; XMLHttpRequest does). */
export function upload(bucket: string, name: string, file: Blob, onProgress: (fraction: number) => void, upsert = false): Promise<{ Id: string; Key: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", objectURL(bucket, name));
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (upsert) xhr.setRequestHeader("x-upsert", "true");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(toError(0, "The upload did not reach the server. Check the connection and try again."));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(JSON.parse(xhr.responseText || "{}"));
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: the text is the message.
      }
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent(SESSION_EXPIRED));
      reject(toError(xhr.status, body));
    };
    xhr.send(file);
  });
}

export function formatSize(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}
