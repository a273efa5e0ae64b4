"use client";

import { createContext, useContext } from "react";
import { api, setCSRF } from "./api";

export type Capability =
  | "can_access_sql"
  | "can_manage_database"
  | "can_manage_system"
  | "can_create_super_admin"
  | "can_create_admins"
  | "can_manage_all_tables"
  | "can_manage_auth"
  | "can_manage_storage"
  | "can_view_all_logs"
  | "can_manage_users"
  | "can_manage_content"
  | "can_view_reports"
  | "can_moderate_content"
  | "can_view_basic_logs"
  | "can_view_dashboard"
  | "can_export_data";

export interface Me {
  kind: string;
  user_id?: string;
  email?: string;
  level: string;
  capabilities: Partial<Record<Capability, boolean>> & { assigned_tables?: string[]; assigned_user_groups?: string[] };
  assigned_tables: string[];
  assigned_user_groups: string[];
  session?: { id: string; expires_at: string; mfa_verified: boolean };
  csrf_token?: string;
}

export async function loadMe(): Promise<Me> {
  const me = await api<Me>("GET", "/admin/v1/me");
  setCSRF(me.csrf_token);
  return me;
}

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside the shell");
  return me;
}

export function can(me: Me | null, cap: Capability | undefined): boolean {
  if (!cap) return true;
  return !!me?.capabilities?.[cap];
}
