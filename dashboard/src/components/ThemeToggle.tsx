"use client";

import { useEffect, useState } from "react";

// The theme is a display preference (not a credential), kept in localStorage; without one the
// system's light or dark setting applies (CSS prefers-color-scheme).
const KEY = "goforward:theme";

export function ThemeToggle() {
  const [theme, setTheme] = useState<string>("");
  useEffect(() => {
    const saved = localStorage.getItem(KEY) ?? "";
    setTheme(saved);
    apply(saved);
  }, []);
  function change(e: React.ChangeEvent<HTMLSelectElement>) {
    const t = e.target.value;
    setTheme(t);
    apply(t);
    if (t) localStorage.setItem(KEY, t);
    else localStorage.removeItem(KEY);
  }
  return (
    <label className="theme">
      Theme{" "}
      <select value={theme} onChange={change} data-testid="theme">
        <option value="">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

export function apply(theme: string) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
