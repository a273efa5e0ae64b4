"use client";

import dynamic from "next/dynamic";
import { useState } from "react";
import { kindOf, PgColumn } from "@/lib/pg";
import { FileReference, FileReferencePicker } from "./FileReferencePicker";
import { checkJSON, JsonEditor } from "./JsonEditor";
import type { RichText } from "./RichTextEditor";

// tiptap is large: it loads only when a rich text value is edited.
const RichTextEditor = dynamic(() => import("./RichTextEditor"), { ssr: false, loading: () => <p aria-busy="true">Loading the editor…</p> });

/** Whether a column gets this editor rather than a one-line input. */
export const hasOwnEditor = (c: PgColumn) => kindOf(c) !== "plain";

/** A value's editor by its column's kind; answers the value to send, or throws in words. */
export function useCellValue(c: PgColumn, initial: unknown) {
  const kind = kindOf(c);
  const [json, setJson] = useState(() => (initial === null || initial === undefined ? "" : JSON.stringify(initial, null, 2)));
  const [obj, setObj] = useState<unknown>(initial ?? null);
  function value(): unknown {
    if (kind === "json" || kind === "array") {
      const problem = checkJSON(json, kind === "array", c.array_element_type ?? c.format.replace(/^_/, ""));
      if (problem) throw new Error(`${c.name} takes JSON (arrays as [1, 2]): ${problem}`);
      return json.trim() === "" ? null : JSON.parse(json);
    }
    return obj;
  }
  const editor =
    kind === "rich_text" ? (
      <RichTextEditor label={`${c.name} (rich text)`} value={obj as RichText | null} onChange={setObj} />
    ) : kind === "file_reference" ? (
      <FileReferencePicker label={`${c.name} (file)`} value={obj as FileReference | null} onChange={setObj} />
    ) : (
      <JsonEditor label={`${c.name} (${kind === "array" ? `array of ${c.array_element_type ?? c.format.replace(/^_/, "")}` : c.format})`} value={json} onChange={setJson}
        array={kind === "array"} elementType={c.array_element_type ?? c.format.replace(/^_/, "")} />
    );
  return { editor, value, touched: kind === "json" || kind === "array" ? json.trim() !== "" : obj !== null };
}

/** The panel editing one cell of a kind with its own editor. */
export function CellEditor({ column, initial, onSave, onCancel, busy }: { column: PgColumn; initial: unknown; onSave: (v: unknown) => void; onCancel: () => void; busy: boolean }) {
  const cell = useCellValue(column, initial);
  const [error, setError] = useState("");
  return (
    <form className="card" aria-label={`Edit ${column.name}`} onSubmit={(e) => {
      e.preventDefault();
      try {
        setError("");
        onSave(cell.value());
      } catch (err) {
        setError((err as Error).message);
      }
    }}>
      <h3>Edit {column.name}</h3>
      {cell.editor}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>Save value</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
