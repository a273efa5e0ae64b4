package realtime

import (
	"strings"

	"github.com/goforward/goforward/internal/realtime/replication"
	"github.com/goforward/goforward/internal/tablesecurity"
)

// Masked columns (internal/tablesecurity). A table whose security config masks column c for
// a role keeps c's masked form in a column of its own, gf_mask_<c>, which the trigger keeps
// current and replication carries; the role may select that copy and not c. Its subscribers
// get the copy's value under c's name, as REST shows it; roles that may read c itself (the
// service role) get c and never the copy. Filters are checked against the role's privileges
// on the real names (admits), so a filter on c stays refused to a role reading it masked: it
// would compare the raw value.

// resolveMasks works out, once the role's selectable columns are known, which copies it
// reads in place of their column.
func (a *roleAccess) resolveMasks(columns []replication.Column) {
	names := make(map[string]bool, len(columns))
	for _, c := range columns {
		names[c.Name] = true
	}
	for _, c := range columns {
		base, ok := strings.CutPrefix(c.Name, tablesecurity.MaskColumnPrefix)
		if !ok || !names[base] || !a.columns[c.Name] || a.columns[base] {
			continue
		}
		if a.maskedAs == nil {
			a.maskedAs = map[string]string{}
		}
		a.maskedAs[c.Name] = base
	}
}

// output is the change's columns as the role is shown them: a copy read in place of its
// column carries the column's name, and the column itself, any copy the role does not read
// that way, is left out (named "", which keep refuses).
func (a *roleAccess) output(columns []replication.Column) ([]replication.Column, func(replication.Column) bool) {
	keep := func(c replication.Column) bool { return c.Name != "" && a.columns[c.Name] }
	hasCopies := false
	for _, c := range columns {
		if strings.HasPrefix(c.Name, tablesecurity.MaskColumnPrefix) {
			hasCopies = true
			break
		}
	}
	if !hasCopies {
		return columns, keep
	}
	shown := map[string]bool{}
	out := make([]replication.Column, len(columns))
	for i, c := range columns {
		out[i] = c
		if base, ok := a.maskedAs[c.Name]; ok {
			out[i].Name = base
			shown[base] = true
		}
	}
	for i, c := range columns {
		_, masked := a.maskedAs[c.Name]
		switch {
		case masked:
		case shown[c.Name], strings.HasPrefix(c.Name, tablesecurity.MaskColumnPrefix):
			out[i].Name = ""
		}
	}
	return out, func(c replication.Column) bool { return c.Name != "" && (a.columns[c.Name] || shown[c.Name]) }
}
