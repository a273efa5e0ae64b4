"use client";

import { useEffect, useRef, useState } from "react";
import type { PgColumn, PgRelationship } from "@/lib/pg";

const ROW_HEIGHT = 34;
const OVERSCAN = 8;

export type Row = Record<string, unknown>;

/**
 * A virtualised grid: only the rows in view (and a few around) are in the DOM, so ten thousand
 * rows scroll as smoothly as ten. Rows and columns are sized through the CSSOM (element.style),
 * which the Content-Security-Policy allows, unlike style attributes in markup.
 */
export function DataGrid({
  columns,
  rows,
  keyOf,
  sort,
  onSort,
  onEdit,
  onDelete,
  onOpen,
  relationships,
  linkTo,
}: {
  columns: PgColumn[];
  rows: Row[];
  keyOf: (r: Row, i: number) => string;
  sort: { column: string; ascending: boolean } | null;
  onSort: (column: string) => void;
  onEdit?: (row: Row, column: PgColumn, value: string) => Promise<boolean>;
  onDelete?: (row: Row) => void;
  /** Opens a column's own editor (JSON, arrays, rich text, files) instead of the inline input; answers whether it did. */
  onOpen?: (row: Row, column: PgColumn) => boolean;
  relationships: PgRelationship[];
  linkTo: (rel: PgRelationship, value: unknown) => string;
}) {
  const body = useRef<HTMLDivElement>(null);
  const head = useRef<HTMLDivElement>(null);
  const spacer = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const [widths, setWidths] = useState<number[]>([]);
  const [editing, setEditing] = useState<{ key: string; column: string; value: string } | null>(null);

  useEffect(() => {
    setWidths(columns.map((c) => (c.format === "bool" || c.format.startsWith("int") ? 110 : 200)));
  }, [columns]);

  const template = [...widths.map((w) => `${w}px`), onDelete ? "90px" : ""].join(" ");
  const total = widths.reduce((a, b) => a + b, 0) + (onDelete ? 90 : 0);

  useEffect(() => {
    const el = body.current;
    if (!el) return;
    const measure = () => setHeight(el.clientHeight);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (spacer.current) {
      spacer.current.style.height = `${rows.length * ROW_HEIGHT}px`;
      spacer.current.style.width = `${total}px`;
    }
    if (head.current) {
      head.current.style.gridTemplateColumns = template;
      head.current.style.width = `${total}px`;
    }
  });

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const visible = rows.slice(first, last);
  const fk = new Map(relationships.map((r) => [r.source_column_name, r]));

  function resize(i: number, e: React.PointerEvent) {
    e.preventDefault();
    const start = e.clientX;
    const from = widths[i] ?? 200;
    const move = (ev: PointerEvent) => setWidths((w) => w.map((x, j) => (j === i ? Math.max(60, from + ev.clientX - start) : x)));
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function resizeKey(i: number, e: React.KeyboardEvent) {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      setWidths((w) => w.map((x, j) => (j === i ? Math.max(60, x + (e.key === "ArrowRight" ? 20 : -20)) : x)));
    }
  }

  async function save(row: Row, column: PgColumn) {
    if (!editing || !onEdit) return;
    const ok = await onEdit(row, column, editing.value);
    if (ok) setEditing(null);
  }

  return (
    <div className="grid-wrap" role="table" aria-label="Rows" aria-rowcount={rows.length + 1}>
      <div className="grid-scroll-head">
        <div className="grid-head" ref={head} role="row" aria-rowindex={1}>
          {columns.map((c, i) => (
            <div className="grid-cell grid-hcell" role="columnheader" key={c.name}
              aria-sort={sort?.column === c.name ? (sort.ascending ? "ascending" : "descending") : "none"}>
              <button type="button" className="link" onClick={() => onSort(c.name)} title={`${c.format}${c.is_nullable ? "" : ", not null"}`}>
                {c.name} <span className="muted">{c.format}</span>
                {sort?.column === c.name ? (sort.ascending ? " ▲" : " ▼") : ""}
              </button>
              <span role="separator" aria-orientation="vertical" aria-label={`Resize column ${c.name}`} aria-valuenow={widths[i] ?? 0}
                tabIndex={0} className="resizer" onPointerDown={(e) => resize(i, e)} onKeyDown={(e) => resizeKey(i, e)} />
            </div>
          ))}
          {onDelete && <div className="grid-cell" role="columnheader">Actions</div>}
        </div>
      </div>
      <div className="grid-body" ref={body} role="rowgroup" tabIndex={0} aria-label="Table rows, scrollable"
        onScroll={(e) => {
          setScrollTop(e.currentTarget.scrollTop);
          if (head.current?.parentElement) head.current.parentElement.scrollLeft = e.currentTarget.scrollLeft;
        }}>
        <div ref={spacer} className="grid-spacer">
          {visible.map((row, n) => {
            const i = first + n;
            const key = keyOf(row, i);
            return (
              <GridRow key={key} top={i * ROW_HEIGHT} template={template} width={total} index={i + 2}>
                {columns.map((c) => {
                  const v = row[c.name];
                  const isEditing = editing?.key === key && editing.column === c.name;
                  const rel = fk.get(c.name);
                  return (
                    <div className="grid-cell" role="cell" key={c.name}
                      onDoubleClick={() => {
                        if (!onEdit || c.is_updatable === false || c.is_generated) return;
                        if (!onOpen?.(row, c)) setEditing({ key, column: c.name, value: toText(v) });
                      }}>
                      {isEditing ? (
                        <input aria-label={`New value of ${c.name}`} autoFocus value={editing.value}
                          onChange={(e) => setEditing({ ...editing, value: e.target.value })}
                          onKeyDown={(e) => {
                            if (e.key === "Enter") save(row, c);
                            if (e.key === "Escape") setEditing(null);
                          }} />
                      ) : rel && v !== null && v !== undefined ? (
                        <a href={linkTo(rel, v)} title={`${rel.target_table_schema}.${rel.target_table_name} where ${rel.target_column_name} = ${toText(v)}`}>{toText(v)}</a>
                      ) : (
                        <span className={v === null ? "muted" : undefined}>{v === null ? "NULL" : toText(v)}</span>
                      )}
                    </div>
                  );
                })}
                {onDelete && (
                  <div className="grid-cell" role="cell">
                    <button type="button" className="danger small" aria-label={`Delete row ${i + 1}`} onClick={() => onDelete(row)}>Delete</button>
                  </div>
                )}
              </GridRow>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function GridRow({ top, template, width, index, children }: { top: number; template: string; width: number; index: number; children: React.ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.transform = `translateY(${top}px)`;
    el.style.gridTemplateColumns = template;
    el.style.width = `${width}px`;
  }, [top, template, width]);
  return <div ref={ref} className="grid-row" role="row" aria-rowindex={index}>{children}</div>;
}

export function toText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
