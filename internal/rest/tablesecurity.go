package rest

import (
	"fmt"
	"strings"

	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/security"
)

// Overlays says which tables a role reads through a view in the table's place: a table whose
// security config masks or hides some of its columns for the role (internal/tablesecurity).
// The view has the table's name and the columns the role may read, masked ones in masked
// form, and is security_invoker, so the table's policies apply as they would to the table.
type Overlays interface {
	OverlaySchema(role, schema, table string) (string, bool)
	// MaskedColumns are the columns of schema.table role reads masked, if any.
	MaskedColumns(role, schema, table string) []string
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
// table, PostgreSQL refuses it: SET c = EXCLUDED.c needs SELECT on c, which the role lacks.
// checkMaskedUpsert refuses such an upsert before it runs, naming the masked columns.
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

// checkMaskedUpsert refuses an upsert (PUT, POST with merge-duplicates) of a table the caller
// reads some column of masked (see applyOverlays for why it cannot run). The refusal is
// PostgreSQL's for a missing privilege (42501: 401 for anon, 403 otherwise), with the columns
// and the writes that do work in the hint.
func (s *Service) checkMaskedUpsert(p security.Principal, q *Query, role string) error {
	if s.overlays == nil || !q.countsInserts() || q.table == nil {
		return nil
	}
	masked := s.overlays.MaskedColumns(role, q.table.QName.Schema, q.table.QName.Name)
	if len(masked) == 0 {
		return nil
	}
	return apiError(keyScopeStatus(p), codeInsufficientPrivilege,
		fmt.Sprintf("permission denied for table %s: upserts are not available to role %s, which reads %s masked",
			q.table.QName.Name, role, strings.Join(masked, ", ")),
		nil, "Insert with POST (without resolution=merge-duplicates) or update with PATCH; both return the masked values")
}
