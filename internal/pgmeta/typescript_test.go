package pgmeta_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nodeModules is where scripts/deps.sh test installs supabase-js and TypeScript.
func nodeModules(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../tests/e2e/node/node_modules")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "typescript", "bin", "tsc")); err != nil {
		t.Fatalf("TypeScript is not installed in %s: run scripts/deps.sh test (%v)", dir, err)
	}
	return dir
}

// TestTypeScriptCompiles generates the fixture's types and compiles a supabase-js program
// against them with tsc --strict: for the public schema, and for every schema with one-to-one
// detection and a PostgREST version (which exercises auth's and storage's column types too).
func TestTypeScriptCompiles(t *testing.T) {
	t.Parallel()
	modules := nodeModules(t)
	h := newFixture(t)
	program, err := os.ReadFile("testdata/tsc/program.ts")
	require.NoError(t, err)
	for _, query := range []string{
		"included_schemas=public",
		"detect_one_to_one_relationships=true&postgrest_version=12",
	} {
		t.Run(query, func(t *testing.T) {
			res := h.get(t, "/pg/generators/typescript?"+query)
			require.Equal(t, 200, res.Status, "%s", res.Body)
			assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))

			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "database.types.ts"), res.Body, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "program.ts"), program, 0o644))
			require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", filepath.Join(modules, "typescript", "bin", "tsc"),
				"--strict", "--noEmit", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
				"--skipLibCheck", "--lib", "es2022,dom", "program.ts")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tsc --strict failed: %v\n%s\ngenerated types:\n%s", err, out, res.Body)
			}
		})
	}
}

// TestTypeScriptOutput checks pieces of the generated text against what supabase CLI writes
// for the same schema.
func TestTypeScriptOutput(t *testing.T) {
	t.Parallel()
	h := newFixture(t)
	res := h.get(t, "/pg/generators/typescript?included_schemas=public")
	require.Equal(t, 200, res.Status, "%s", res.Body)
	out := string(res.Body)
	for _, want := range []string{
		"export type Json =\n  | string\n",
		"export type Database = {\n  public: {\n    Tables: {\n      authors: {\n        Row: {\n          age: number | null\n",
		"          id?: never\n",
		"          tags: string[] | null\n",
		"          created_at?: string\n",
		"        Relationships: [\n          {\n            foreignKeyName: \"posts_author_id_fkey\"\n            columns: [\"author_id\"]\n            referencedRelation: \"authors\"\n            referencedColumns: [\"id\"]\n          },\n        ]\n",
		"      add: {\n        Args: { a: number; b?: number }\n        Returns: number\n      }\n",
		"        SetofOptions: {\n          from: \"*\"\n          to: \"posts\"\n          isOneToOne: false\n          isSetofReturn: true\n        }\n",
		"    Enums: {\n      mood: \"sad\" | \"ok\" | \"happy\"\n    }\n",
		"    CompositeTypes: {\n      point2: {\n        x: number | null\n        y: number | null\n      }\n    }\n",
		"type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, \"public\">]\n",
		"export const Constants = {\n  public: {\n    Enums: {\n      mood: [\"sad\", \"ok\", \"happy\"],\n    },\n  },\n} as const\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "isOneToOne: true", "one-to-one detection is off unless asked for")
	assert.NotContains(t, out, "touch", "trigger functions are not callable")
	assert.NotContains(t, out, "__InternalSupabase: {")

	res = h.get(t, "/pg/generators/typescript?included_schemas=public&detect_one_to_one_relationships=true&postgrest_version=12")
	out = string(res.Body)
	assert.Contains(t, out, "            isOneToOne: true\n            referencedRelation: \"authors\"\n")
	assert.Contains(t, out, "export type Database = {\n  // Allows to automatically instantiate createClient with right options\n")
	assert.Contains(t, out, "  __InternalSupabase: {\n    PostgrestVersion: \"12\"\n  }\n")

	// Without included_schemas every schema but the system ones is described.
	res = h.get(t, "/pg/generators/typescript")
	out = string(res.Body)
	for _, schema := range []string{"  app: {\n", "  auth: {\n", "  public: {\n", "  storage: {\n"} {
		assert.Contains(t, out, schema)
	}
	assert.NotContains(t, out, "  pg_catalog: {")
	assert.NotContains(t, out, "  information_schema: {")
}
