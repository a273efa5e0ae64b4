package pgmeta

import (
	"fmt"
	"strings"
)

// render writes the whole file.
func (g *tsGenerator) render() string {
	var b strings.Builder
	b.WriteString(`export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
`)
	if g.opt.postgrestVersion != "" {
		b.WriteString("  // Allows to automatically instantiate createClient with right options\n")
		b.WriteString("  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)\n")
		b.WriteString("  __InternalSupabase: {\n    PostgrestVersion: " + tsString(g.opt.postgrestVersion) + "\n  }\n")
	}
	for _, s := range g.in.schemas {
		b.WriteString("  " + tsKey(s.Name) + ": " + indent(g.schemaType(s.Name), 1) + "\n")
	}
	b.WriteString("}\n\n")
	b.WriteString(strings.ReplaceAll(tsHelpers, "{{DEFAULT_SCHEMA}}", g.opt.defaultSchema))
	b.WriteString("\nexport const Constants = {\n")
	for _, s := range g.in.schemas {
		var enums []string
		for _, e := range g.bySchema[s.Name].enums {
			enums = append(enums, tsKey(e.Name)+": "+tsStrings(e.Enums)+",")
		}
		b.WriteString("  " + tsKey(s.Name) + ": {\n")
		if len(enums) == 0 {
			b.WriteString("    Enums: {},\n")
		} else {
			b.WriteString("    Enums: {\n      " + strings.Join(enums, "\n      ") + "\n    },\n")
		}
		b.WriteString("  },\n")
	}
	b.WriteString("} as const\n")
	return b.String()
}

// never is the body of an empty group: no key can be used.
var never = []string{"[_ in never]: never"}

func orNever(members []string) []string {
	if len(members) == 0 {
		return never
	}
	return members
}

func (g *tsGenerator) schemaType(schema string) string {
	so := g.bySchema[schema]
	var tables, views, functions, enums, composites []string
	for _, e := range so.tables {
		tables = append(tables, tsKey(e.rel.Name)+": "+g.tableType(schema, e))
	}
	for _, e := range so.views {
		views = append(views, tsKey(e.rel.Name)+": "+g.viewType(schema, e))
	}
	functions = g.functionMembers(schema, so.functions)
	for _, e := range so.enums {
		union := enumUnion(e.Enums)
		if len(tsKey(e.Name))+len(union)+10 > 80 {
			union = "\n  | " + strings.Join(strings.Split(union, " | "), "\n  | ")
		}
		enums = append(enums, tsKey(e.Name)+":"+leadingSpace(union))
	}
	for _, c := range so.composites {
		var attrs []string
		for _, a := range c.Attributes {
			t := "unknown"
			if _, ok := g.typesByID[a.TypeID]; ok {
				t = nullable(g.typeOf(schema, a.TypeID), true)
			}
			attrs = append(attrs, tsKey(a.Name)+": "+t)
		}
		composites = append(composites, tsKey(c.Name)+": "+objectType(attrs))
	}
	return objectType([]string{
		"Tables: " + objectType(orNever(tables)),
		"Views: " + objectType(orNever(views)),
		"Functions: " + objectType(orNever(functions)),
		"Enums: " + objectType(orNever(enums)),
		"CompositeTypes: " + objectType(orNever(composites)),
	})
}

func leadingSpace(s string) string {
	if strings.HasPrefix(s, "\n") {
		return s
	}
	return " " + s
}

// computedFields are the Row members of functions taking one row of the relation, which
// PostgREST serves as columns.
func (g *tsGenerator) computedFields(schema, relation string) []string {
	var out []string
	for _, f := range g.bySchema[schema].functions {
		if f.fn.ArgumentTypes == relation {
			out = append(out, tsKey(f.fn.Name)+": "+nullable(g.returnType(schema, f.fn), true))
		}
	}
	return out
}

func (g *tsGenerator) tableType(schema string, e tsEntry) string {
	cols := g.colsByTable[e.rel.ID]
	var row, insert, update []string
	for _, c := range cols {
		row = append(row, g.column(schema, c, false, c.IsNullable))
		always := c.IdentityGeneration != nil && *c.IdentityGeneration == "ALWAYS"
		if always {
			insert = append(insert, tsKey(c.Name)+"?: never")
			update = append(update, tsKey(c.Name)+"?: never")
			continue
		}
		hasDefault := len(c.DefaultValue) > 0 && string(c.DefaultValue) != "null"
		insert = append(insert, g.column(schema, c, c.IsNullable || c.IsIdentity || hasDefault, c.IsNullable))
		update = append(update, g.column(schema, c, true, c.IsNullable))
	}
	row = append(row, g.computedFields(schema, e.rel.Name)...)
	return objectType([]string{
		"Row: " + objectType(row),
		"Insert: " + objectType(insert),
		"Update: " + objectType(update),
		"Relationships: " + g.relationshipsType(e.relationships),
	})
}

func (g *tsGenerator) viewType(schema string, e tsEntry) string {
	cols := g.colsByTable[e.rel.ID]
	var row, insert, update []string
	for _, c := range cols {
		row = append(row, g.column(schema, c, false, c.IsNullable))
		if !c.IsUpdatable {
			insert = append(insert, tsKey(c.Name)+"?: never")
			update = append(update, tsKey(c.Name)+"?: never")
			continue
		}
		insert = append(insert, g.column(schema, c, true, true))
		update = append(update, g.column(schema, c, true, true))
	}
	row = append(row, g.computedFields(schema, e.rel.Name)...)
	members := []string{"Row: " + objectType(row)}
	if e.rel.IsUpdatable {
		members = append(members, "Insert: "+objectType(insert), "Update: "+objectType(update))
	}
	members = append(members, "Relationships: "+g.relationshipsType(e.relationships))
	return objectType(members)
}

func (g *tsGenerator) relationshipsType(rels []relationship) string {
	if len(rels) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, r := range rels {
		members := []string{
			"foreignKeyName: " + tsString(r.ForeignKeyName),
			"columns: " + tsStrings(r.Columns),
		}
		if g.opt.detectOneToOne {
			members = append(members, fmt.Sprintf("isOneToOne: %t", r.IsOneToOne))
		}
		members = append(members,
			"referencedRelation: "+tsString(r.ReferencedRelation),
			"referencedColumns: "+tsStrings(r.ReferencedColumns))
		b.WriteString("  " + indent(objectType(members), 1) + ",\n")
	}
	b.WriteString("]")
	return b.String()
}
