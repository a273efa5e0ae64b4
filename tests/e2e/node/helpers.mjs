// Shared setup for the Node end-to-end tests: the Go test (tests/e2e/node_test.go) starts
// goforward on a fresh data directory and passes its URL and keys in the environment.
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through "go test ./tests/e2e -run TestSupabaseJS"`);
  }
  return value;
}

export const url = required('GOFORWARD_URL');
export const anonKey = required('GOFORWARD_ANON_KEY');
export const serviceRoleKey = required('GOFORWARD_SERVICE_ROLE_KEY');
export const dbURL = required('GOFORWARD_DB_URL');

// client returns a supabase-js client as an application would build it. Node has no
// localStorage and, before Node 22, no WebSocket: sessions stay in memory and realtime gets
// the ws package.
export function client(key = anonKey, options = {}) {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, ...options.auth },
    realtime: { transport: WebSocket, ...options.realtime },
    ...options.rest,
  });
}

// adminClient uses the service-role key, as a trusted server would.
export function adminClient() {
  return client(serviceRoleKey);
}

// unique returns a name that no other test run uses, for e-mails, tables and buckets.
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
