package rest

import "github.com/goforward/goforward/internal/meta"

// Overlays says which tables a role reads through a view in the table's place: a table whose
// security config masks or hides some of its columns for the role (internal/tablesecurity).
// The view has the table's name and the columns the role may read, masked ones in masked
// form, and is security_invoker, so the table's policies apply as they would to the table.
type Overlays interface {
	OverlaySchema(role, schema, table string) (string, bool)
}

// applyOverlays makes q go through role's views: the table of a read or a write and every
// embedded table. A write through the view is a write to the table (the view is simple, so
// PostgreSQL rewrites it, with the table's defaults, policies and the role's column
// privileges), and what it returns is read through the view: a masked column written through
// it is its masked copy, which the table's gf_mask trigger moves to the column.
//
// Upserts (PUT, POST with merge-duplicates) are the exception: they name the table itself.
// Through the view, ON CONFLICT DO UPDATE would set the copy from EXCLUDED's copy, which the
// insert trigger has already masked, and the masked value would become the column's. On the
// table, the upsert's statement reads the row back, including the raw column the role may not
// read: it is refused (permission denied), never answered with the raw value.
func (s *Service) applyOverlays(q *Query, role string) {
	if s.overlays == nil {
		return
	}
	if q.kind != kindCall && q.table != nil && !q.countsInserts() {
		q.table = s.overlay(q.table, role)
	}
	var walk func(n *node)
	walk = func(n *node) {
		for _, child := range n.children {
			if child.table != nil {
				child.table = s.overlay(child.table, role)
			}
			walk(child)
		}
	}
	if q.root != nil {
		walk(q.root)
	}
}

// overlay is t, or a copy of it naming role's view when there is one. The schema cache's
// table is shared by every request, hence the copy.
func (s *Service) overlay(t *meta.Table, role string) *meta.Table {
	schema, ok := s.overlays.OverlaySchema(role, t.QName.Schema, t.QName.Name)
	if !ok {
		return t
	}
	c := *t
	c.QName.Schema = schema
	return &c
}
