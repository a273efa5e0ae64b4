"use client";

import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";

// The part of the effective configuration (GET /admin/v1/settings, secrets already redacted)
// that says how users sign up and sign in. Read-only: the config file and restart change it.
interface AuthConfig {
  disable_signup?: boolean;
  anonymous_users?: boolean;
  mailer_autoconfirm?: string;
  phone_autoconfirm?: string;
  password_min_length?: number;
  password_required_characters?: string[];
  site_url?: string;
  uri_allow_list?: string[];
  refresh_token_reuse_interval?: string;
  update_password_require_reauthentication?: boolean;
  mfa?: { phone_enabled?: boolean };
  lockout?: { attempts?: number; duration?: string; max_duration?: string };
  otp?: { email_expiry?: string; sms_expiry?: string; length?: number };
  smtp?: { host?: string; from?: string };
  sms?: { provider?: string };
}

const yes = (b: boolean | undefined) => (b ? "yes" : "no");

export function AuthSettings() {
  const s = useLoad(() => api<{ environment: string; config: { auth?: AuthConfig } }>("GET", "/admin/v1/settings"), []);
  const a = s.data?.config.auth;
  return (
    <section aria-labelledby="auth-settings-title">
      <h2 id="auth-settings-title">Auth settings</h2>
      {s.error && <p className="error" role="alert">{s.error}</p>}
      {a && (
        <>
          <p className="muted">How users sign up and sign in on this node ({s.data!.environment}). Change them in <code>goforward.yaml</code> (auth) and restart.</p>
          <dl className="stats" data-testid="auth-settings">
            <div><dt>New users may sign up</dt><dd>{yes(!a.disable_signup)}</dd></div>
            <div><dt>Anonymous sign-ins</dt><dd>{yes(a.anonymous_users)}</dd></div>
            <div><dt>Email confirmed automatically</dt><dd>{a.mailer_autoconfirm}</dd></div>
            <div><dt>Phone confirmed automatically</dt><dd>{a.phone_autoconfirm}</dd></div>
            <div><dt>Minimum password length</dt><dd>{a.password_min_length}</dd></div>
            <div><dt>Required characters</dt><dd>{a.password_required_characters?.length ? a.password_required_characters.join(" · ") : "none"}</dd></div>
            <div><dt>Phone second factor</dt><dd>{yes(a.mfa?.phone_enabled)}</dd></div>
            <div><dt>Lockout</dt><dd>after {a.lockout?.attempts} failed sign-ins, {a.lockout?.duration} (up to {a.lockout?.max_duration})</dd></div>
            <div><dt>One-time codes</dt><dd>{a.otp?.length} digits; email {a.otp?.email_expiry}, SMS {a.otp?.sms_expiry}</dd></div>
            <div><dt>Site URL</dt><dd>{a.site_url}</dd></div>
            <div><dt>Redirect allow-list</dt><dd>{a.uri_allow_list?.length ? a.uri_allow_list.join(", ") : "site URL only"}</dd></div>
            <div><dt>Email delivery</dt><dd>{a.smtp?.host ? `SMTP ${a.smtp.host}` : "no SMTP server configured"}</dd></div>
            <div><dt>SMS delivery</dt><dd>{a.sms?.provider}</dd></div>
            <div><dt>Password change needs recent sign-in</dt><dd>{yes(a.update_password_require_reauthentication)}</dd></div>
          </dl>
        </>
      )}
    </section>
  );
}
