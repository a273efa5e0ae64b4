"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { api, ApiError, setCSRF } from "@/lib/api";
import { RETURN_KEY } from "@/components/Shell";
import { ThemeToggle } from "@/components/ThemeToggle";

interface SetupState {
  environment: string;
  first_admin_needed: boolean;
  first_admin_allowed: boolean;
  command: string;
}

interface Factor {
  id: string;
  type: string;
  friendly_name?: string;
}

interface SignInAnswer {
  csrf_token?: string;
  mfa_required?: boolean;
  challenge_token?: string;
  factors?: Factor[];
}

export default function SignIn() {
  const router = useRouter();
  const [setup, setSetup] = useState<SetupState | null>(null);
  const [expired, setExpired] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [challenge, setChallenge] = useState<{ token: string; factors: Factor[] } | null>(null);
  const [factor, setFactor] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setExpired(new URLSearchParams(window.location.search).has("expired"));
    api<SetupState>("GET", "/admin/v1/setup", undefined, { anonymous: true })
      .then(setSetup)
      .catch((e: ApiError) => setError(e.message));
  }, []);

  function done(answer: SignInAnswer) {
    setCSRF(answer.csrf_token);
    const back = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    router.replace(back && back.startsWith("/") && !back.startsWith("//") && !back.startsWith("/signin") ? back : "/");
  }

  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError("");
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function signIn(e: React.FormEvent) {
    e.preventDefault();
    await run(async () => {
      const answer = await api<SignInAnswer>("POST", "/admin/v1/sessions", { email, password, cookie: true }, { anonymous: true });
      if (answer.mfa_required && answer.challenge_token) {
        const factors = answer.factors ?? [];
        setChallenge({ token: answer.challenge_token, factors });
        setFactor(factors[0]?.id ?? "");
        return;
      }
      done(answer);
    });
  }

  async function verify(e: React.FormEvent) {
    e.preventDefault();
    if (!challenge) return;
    await run(async () => {
      try {
        const answer = await api<SignInAnswer>(
          "POST",
          "/admin/v1/sessions/mfa",
          { challenge_token: challenge.token, factor_id: factor, code: code.trim(), cookie: true },
          { anonymous: true },
        );
        done(answer);
      } catch (err) {
        if ((err as ApiError).code === "mfa_challenge_expired") {
          setChallenge(null);
          setCode("");
        }
        throw err;
      }
    });
  }

  async function createFirstAdmin(e: React.FormEvent) {
    e.preventDefault();
    if (password !== confirm) {
      setError("The two passwords differ: type the same password twice.");
      return;
    }
    await run(async () => {
      await api("POST", "/admin/v1/setup", { email, password }, { anonymous: true });
      const answer = await api<SignInAnswer>("POST", "/admin/v1/sessions", { email, password, cookie: true }, { anonymous: true });
      done(answer);
    });
  }

  const firstAdmin = setup?.first_admin_needed && setup.first_admin_allowed;
  return (
    <main className="center">
      <div className="card">
        <div className="toolbar">
          <ThemeToggle />
        </div>
        {expired && !challenge && (
          <p className="notice" role="status">
            Your session ended. Sign in again to go back to where you were.
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {setup?.first_admin_needed && !setup.first_admin_allowed && (
          <div className="notice" role="status">
            <p>
              This project has no admin yet. In {setup.environment} the first admin is made on the server, from the command line:
            </p>
            <pre>{setup.command}</pre>
            <p>Then sign in here.</p>
          </div>
        )}
        {firstAdmin ? (
          <form onSubmit={createFirstAdmin} aria-labelledby="setup-title">
            <h1 id="setup-title">Create the first admin</h1>
            <p className="muted">
              No admin exists yet. In development you can make the first one here: a new user and system admin, as{" "}
              <code>goforward admin create</code> would make it.
            </p>
            <label>
              Email
              <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              Password
              <input type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <label>
              Password again
              <input type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
            </label>
            <button className="primary" type="submit" disabled={busy}>
              Create admin and sign in
            </button>
          </form>
        ) : challenge ? (
          <form onSubmit={verify} aria-labelledby="mfa-title">
            <h1 id="mfa-title">Second factor</h1>
            <p className="muted">Enter the code from your authenticator app, or one of your backup codes.</p>
            {challenge.factors.length > 1 && (
              <label>
                Factor
                <select value={factor} onChange={(e) => setFactor(e.target.value)}>
                  {challenge.factors.map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.friendly_name || f.type}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              Code
              <input inputMode="numeric" autoComplete="one-time-code" required autoFocus value={code} onChange={(e) => setCode(e.target.value)} />
            </label>
            <div className="actions">
              <button className="primary" type="submit" disabled={busy}>
                Verify
              </button>
              <button type="button" onClick={() => setChallenge(null)}>
                Back
              </button>
            </div>
          </form>
        ) : (
          <form onSubmit={signIn} aria-labelledby="signin-title">
            <h1 id="signin-title">Sign in to Go Forward</h1>
            <label>
              Email
              <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              Password
              <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <button className="primary" type="submit" disabled={busy}>
              Sign in
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
