"use client";

import { useId } from "react";

/** Checks JSON text for a column: an array column takes a JSON array of its element type. */
export function checkJSON(text: string, array: boolean, elementType?: string | null): string {
  if (text.trim() === "") return "";
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `Not valid JSON: ${(e as Error).message}`;
  }
  if (!array) return "";
  if (!Array.isArray(v)) return "An array column takes a JSON array, e.g. [1, 2] or [\"a\", \"b\"].";
  const numeric = !!elementType && /^(int|float|numeric|decimal|bigint|smallint|real|double)/.test(elementType);
  const bool = elementType === "bool" || elementType === "boolean";
  const bad = v.findIndex((x) => x !== null && (numeric ? typeof x !== "number" : bool ? typeof x !== "boolean" : false));
  if (bad >= 0) return `Element ${bad + 1} is not a ${numeric ? "number" : "boolean"}: ${JSON.stringify(v[bad])}.`;
  return "";
}

/** A JSON (or array) editor that says whether its text is valid as it is typed. */
export function JsonEditor({
  label,
  value,
  onChange,
  array = false,
  elementType,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  array?: boolean;
  elementType?: string | null;
}) {
  const id = useId();
  const problem = checkJSON(value, array, elementType);
  return (
    <div className="json-editor">
      <label>
        {label}
        <textarea rows={6} spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)}
          aria-invalid={problem ? true : undefined} aria-describedby={`${id}-state`} />
      </label>
      <p id={`${id}-state`} className={problem ? "error" : "ok"} aria-live="polite">
        {problem || (value.trim() ? (array ? "Valid array." : "Valid JSON.") : "Empty: NULL, or the column's default.")}
      </p>
      <button type="button" className="small" disabled={!!problem || !value.trim()} onClick={() => onChange(JSON.stringify(JSON.parse(value), null, 2))}>
        Format JSON
      </button>
    </div>
  );
}
