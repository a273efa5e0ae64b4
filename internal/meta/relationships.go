package meta

import (
	"cmp"
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// linker derives keys and relationships, for tables from their constraints and for views from
// the constraints of the tables their columns pass through, as PostgREST does: a view that
// shows every column of a foreign key can be embedded along it, and one that shows every
// column of a primary key has that key.
type linker struct {
	s *Schema
	// byOID are the relations of the snapshot.
	byOID map[uint32]*Table
	// viewOrigins maps each view of the snapshot to the table column each of its columns
	// passes through (by attnum), followed through views over views.
	viewOrigins map[uint32]map[int16]columnOrigin
	// shownBy lists, for each base column, the view columns passing it through, ordered by
	// view (schema, name) and then column position.
	shownBy map[columnOrigin][]viewColumn
}

// viewColumn is a column of a view of the snapshot.
type viewColumn struct {
	view *Table
	name string
}

// constraint is a primary key (p), unique constraint (u) or foreign key (f), by attnums.
type constraint struct {
	name    string
	kind    string
	rel     uint32
	cols    []int16
	ref     uint32
	refCols []int16
}

// exposure is a relation of the snapshot that shows a set of base columns, with the names
// they have there.
type exposure struct {
	table *Table
	cols  []string
}

func (l *linker) loadViews(ctx context.Context, q Querier, s *Schema) error {
	rows, err := q.Query(ctx, viewsSQL, s.Schemas)
	if err != nil {
		return err
	}
	direct := map[uint32]map[int16]columnOrigin{}
	var (
		oid        int64
		definition string
	)
	_, err = pgx.ForEachRow(rows, []any{&oid, &definition}, func() error {
		origins, err := viewColumnOrigins(definition)
		if err != nil {
			// A definition this parser cannot read costs that view its relationships, not
			// the whole schema cache.
			origins = map[int16]columnOrigin{}
		}
		direct[uint32(oid)] = origins
		return nil
	})
	if err != nil {
		return err
	}
	l.viewOrigins = map[uint32]map[int16]columnOrigin{}
	for oid, t := range l.byOID {
		if _, isView := direct[oid]; !isView || !t.IsView() {
			continue
		}
		resolved := map[int16]columnOrigin{}
		for att, origin := range direct[oid] {
			if base, ok := resolveOrigin(direct, origin); ok {
				resolved[att] = base
			}
		}
		l.viewOrigins[oid] = resolved
	}
	l.indexViewColumns()
	return nil
}

// indexViewColumns builds shownBy from viewOrigins.
func (l *linker) indexViewColumns() {
	var views []*Table
	for oid := range l.viewOrigins {
		views = append(views, l.byOID[oid])
	}
	slices.SortFunc(views, compareTables)
	l.shownBy = map[columnOrigin][]viewColumn{}
	for _, v := range views {
		origins := l.viewOrigins[v.oid]
		for _, c := range v.Columns {
			if o, ok := origins[int16(c.Position)]; ok {
				l.shownBy[o] = append(l.shownBy[o], viewColumn{view: v, name: c.Name})
			}
		}
	}
}

func compareTables(a, b *Table) int {
	return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name))
}

// resolveOrigin follows a column through views until it reaches one of a relation that is
// not a view. A column computed by a view on the way has no origin.
func resolveOrigin(views map[uint32]map[int16]columnOrigin, c columnOrigin) (columnOrigin, bool) {
	for range len(views) + 1 { // longer than any chain without a cycle
		next, isView := views[c.rel]
		if !isView {
			return c, true
		}
		if c, isView = next[c.att]; !isView {
			return columnOrigin{}, false
		}
	}
	return columnOrigin{}, false
}

func (l *linker) loadKeys(ctx context.Context, q Querier, s *Schema) error {
	relevant := map[int64]bool{}
	for oid, t := range l.byOID {
		if !t.IsView() {
			relevant[int64(oid)] = true
		}
	}
	for _, origins := range l.viewOrigins {
		for _, o := range origins {
			relevant[int64(o.rel)] = true
		}
	}
	oids := make([]int64, 0, len(relevant))
	for oid := range relevant {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	rows, err := q.Query(ctx, keysSQL, oids)
	if err != nil {
		return err
	}
	var (
		keys       []constraint
		c          constraint
		rel, ref   int64
		cols, refs []int16
	)
	_, err = pgx.ForEachRow(rows, []any{&c.name, &c.kind, &rel, &cols, &ref, &refs}, func() error {
		k := c
		k.rel, k.ref = uint32(rel), uint32(ref)
		k.cols, k.refCols = slices.Clone(cols), slices.Clone(refs)
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return err
	}
	l.link(keys)
	return nil
}

// link sets the keys of every relation of the snapshot and derives its relationships.
func (l *linker) link(keys []constraint) {
	unique := map[uint32][][]int16{} // unique column sets of each base relation
	for _, k := range keys {
		if k.kind == "p" || k.kind == "u" {
			unique[k.rel] = append(unique[k.rel], k.cols)
		}
	}
	for _, k := range keys {
		if k.kind != "p" && k.kind != "u" {
			continue
		}
		if t := l.byOID[k.rel]; t != nil && !t.IsView() {
			names, ok := l.tableColumns(t, k.cols)
			if !ok {
				continue
			}
			if k.kind == "p" {
				t.PrimaryKey = names
			}
			t.UniqueKeys = append(t.UniqueKeys, names)
		}
		// A view showing a whole primary key has it too (the first view column of each key
		// column, as PostgREST takes it); it is what makes the view a possible junction.
		if k.kind == "p" {
			for _, e := range l.exposures(k.rel, k.cols, true) {
				if e.table.IsView() {
					e.table.PrimaryKey = append(e.table.PrimaryKey, e.cols...)
				}
			}
		}
	}
	for _, t := range l.byOID {
		if t.IsView() && len(t.PrimaryKey) > 0 {
			t.UniqueKeys = [][]string{t.PrimaryKey}
		}
	}

	forward := map[*Table][]*Relationship{}
	for _, k := range keys {
		if k.kind != "f" {
			continue
		}
		oneToOne := slices.ContainsFunc(unique[k.rel], func(u []int16) bool { return sameSet(u, k.cols) })
		forwardCard, backwardCard := ManyToOne, OneToMany
		if oneToOne {
			forwardCard, backwardCard = OneToOne, OneToOne
		}
		for _, from := range l.exposures(k.rel, k.cols, false) {
			for _, to := range l.exposures(k.ref, k.refCols, false) {
				rel := &Relationship{Table: from.table.QName, Foreign: to.table.QName, Cardinality: forwardCard,
					Constraint: k.name, Columns: from.cols, ForeignColumns: to.cols, Referencing: true}
				from.table.Relationships = append(from.table.Relationships, rel)
				to.table.Relationships = append(to.table.Relationships, &Relationship{
					Table: to.table.QName, Foreign: from.table.QName, Cardinality: backwardCard,
					Constraint: k.name, Columns: to.cols, ForeignColumns: from.cols,
				})
				forward[from.table] = append(forward[from.table], rel)
			}
		}
	}
	l.linkJunctions(forward)
}

// linkJunctions adds many-to-many relationships: a relation whose primary key or a unique
// key covers the columns of two of its foreign keys joins the relations those keys reach.
func (l *linker) linkJunctions(forward map[*Table][]*Relationship) {
	junctions := make([]*Table, 0, len(forward))
	for t := range forward {
		junctions = append(junctions, t)
	}
	slices.SortFunc(junctions, compareTables)
	for _, jt := range junctions {
		rels := forward[jt]
		for _, a := range rels {
			for _, b := range rels {
				if a.Constraint == b.Constraint || !isJunctionPair(jt, a.Columns, b.Columns) {
					continue
				}
				source := l.s.tables[a.Foreign]
				source.Relationships = append(source.Relationships, &Relationship{
					Table: a.Foreign, Foreign: b.Foreign, Cardinality: ManyToMany, Constraint: a.Constraint,
					Junction: &Junction{
						Table: jt.QName, Constraint1: a.Constraint, Constraint2: b.Constraint,
						SourceColumns: a.Columns, SourceRefColumns: a.ForeignColumns,
						TargetColumns: b.Columns, TargetRefColumns: b.ForeignColumns,
					},
				})
			}
		}
	}
}

// exposures returns the relations of the snapshot that show every column cols of base
// relation rel: rel itself when it is in the snapshot, and the views passing those columns
// through. A view showing a column twice yields each combination, unless firstOnly.
func (l *linker) exposures(rel uint32, cols []int16, firstOnly bool) []exposure {
	var out []exposure
	if t := l.byOID[rel]; t != nil && !t.IsView() {
		if names, ok := l.tableColumns(t, cols); ok {
			out = append(out, exposure{table: t, cols: names})
		}
	}
	if len(cols) == 0 {
		return out
	}
	var views []*Table // those showing the first column, in shownBy's order
	for _, vc := range l.shownBy[columnOrigin{rel: rel, att: cols[0]}] {
		if !slices.Contains(views, vc.view) {
			views = append(views, vc.view)
		}
	}
	for _, v := range views {
		choices := make([][]string, len(cols))
		for i, att := range cols {
			for _, vc := range l.shownBy[columnOrigin{rel: rel, att: att}] {
				if vc.view == v && (!firstOnly || len(choices[i]) == 0) {
					choices[i] = append(choices[i], vc.name)
				}
			}
			if len(choices[i]) == 0 {
				choices = nil
				break
			}
		}
		if choices == nil {
			continue
		}
		for _, combo := range combinations(choices) {
			out = append(out, exposure{table: v, cols: combo})
		}
	}
	return out
}

// tableColumns names the columns atts of t; false when one is not there (a dropped column).
func (l *linker) tableColumns(t *Table, atts []int16) ([]string, bool) {
	names := make([]string, len(atts))
	for i, att := range atts {
		idx := slices.IndexFunc(t.Columns, func(c *Column) bool { return c.Position == int(att) })
		if idx < 0 {
			return nil, false
		}
		names[i] = t.Columns[idx].Name
	}
	return names, true
}

// combinations returns every way of picking one element of each choice, in order.
func combinations(choices [][]string) [][]string {
	out := [][]string{{}}
	for _, options := range choices {
		next := make([][]string, 0, len(out)*len(options))
		for _, prefix := range out {
			for _, o := range options {
				next = append(next, append(slices.Clip(prefix), o))
			}
		}
		out = next
	}
	return out
}

// isJunctionPair reports whether the junction's primary key, or one of its unique keys,
// contains the columns of both foreign keys, as PostgREST requires of a join table.
func isJunctionPair(jt *Table, a, b []string) bool {
	for _, key := range jt.UniqueKeys {
		if containsAll(key, a) && containsAll(key, b) {
			return true
		}
	}
	return false
}

func sameSet(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func containsAll(set, items []string) bool {
	for _, it := range items {
		if !slices.Contains(set, it) {
			return false
		}
	}
	return true
}
