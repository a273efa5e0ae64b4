package rest

import "github.com/goforward/goforward/internal/meta"

// Overlays says which tables a role reads through a view in the table's place: a table whose
// security config masks or hides some of its columns for the role (internal/tablesecurity).
// The view has the table's name and the columns the role may read, masked ones in masked
// form, and is security_invoker, so the table's policies apply as they would to the table.
type Overlays interface {
	OverlaySchema(role, schema, table string) (string, bool)
}

// applyOverlays makes the reads of q go through role's views: the table of a read and every
// embedded table. Writes still name the table itself (the role's column privileges decide
// what it may write); what they return and embed is read through the views.
func (s *Service) applyOverlays(q *Query, role string) {
	if s.overlays == nil {
		return
	}
	if q.kind == kindRead && q.table != nil {
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
