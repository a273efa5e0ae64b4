"use client";

import { EditorContent, useEditor } from "@tiptap/react";
import StarterKit from "@tiptap/starter-kit";

export interface RichText {
  html: string;
  text: string;
  metadata?: Record<string, unknown> | null;
}

/**
 * The rich text kind's editor (tiptap). Loaded only when a rich text value is edited
 * (next/dynamic), so the editor's code stays out of every first load. injectCSS is off:
 * the CSP refuses inline style elements; globals.css styles the editor instead.
 */
export default function RichTextEditor({ label, value, onChange }: { label: string; value: RichText | null; onChange: (v: RichText) => void }) {
  const editor = useEditor({
    extensions: [StarterKit],
    content: value?.html ?? "",
    injectCSS: false,
    immediatelyRender: false,
    editorProps: { attributes: { "aria-label": label, role: "textbox", "aria-multiline": "true", class: "rich-text" } },
    onUpdate: ({ editor: e }) => onChange({ html: e.getHTML(), text: e.getText(), metadata: value?.metadata ?? null }),
  });
  const mark = (name: string, run: () => void, active: boolean) => (
    <button type="button" className="small" aria-pressed={active} onClick={run}>{name}</button>
  );
  return (
    <div className="rich-editor">
      <div role="toolbar" aria-label={`${label} formatting`} className="actions">
        {editor && (
          <>
            {mark("Bold", () => editor.chain().focus().toggleBold().run(), editor.isActive("bold"))}
            {mark("Italic", () => editor.chain().focus().toggleItalic().run(), editor.isActive("italic"))}
            {mark("Heading", () => editor.chain().focus().toggleHeading({ level: 2 }).run(), editor.isActive("heading"))}
            {mark("Bullet list", () => editor.chain().focus().toggleBulletList().run(), editor.isActive("bulletList"))}
            {mark("Numbered list", () => editor.chain().focus().toggleOrderedList().run(), editor.isActive("orderedList"))}
          </>
        )}
      </div>
      <EditorContent editor={editor} />
    </div>
  );
}
