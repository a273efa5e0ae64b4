package rest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/goforward/goforward/internal/meta"
)

// embed resolves an embedded resource (or spread) of parent and plans it as a child node.
func (p *planner) embed(parent *node, item SelectItem) (*node, error) {
	if parent.table == nil {
		return nil, p.noRelationship(parent.label, item)
	}
	rel, err := p.relationship(parent.table, item)
	if err != nil {
		return nil, err
	}
	target := p.s.Table(rel.Foreign.Schema, rel.Foreign.Name)
	if target == nil {
		return nil, p.noRelationship(parent.label, item)
	}
	child := tableNode(target)
	child.alias = p.nextAlias()
	child.lateral = p.nextLateral()
	child.rel = rel
	child.depth = parent.depth + 1
	child.rowTyped = true
	child.inner = item.Join == "inner"
	child.spread = item.Kind == ItemSpread
	child.name = item.Alias
	if child.name == "" {
		child.name = item.Relation
	}
	child.path = child.name
	if parent.path != "" {
		child.path = parent.path + "." + child.name
	}
	items := item.Children
	if items == nil {
		items = []SelectItem{}
	}
	if err := p.fillNode(child, items); err != nil {
		return nil, err
	}
	return child, nil
}

// relationship finds the one relationship of table that item names, by PostgREST's rules: a
// computed relationship by its function's name; a foreign key relationship by the target's
// name or, unless the target is a view, by the constraint's name or its one column on table's
// side. A hint (a constraint, a column of either side, or the junction of a many-to-many)
// narrows a search by the target's name. A table referencing itself has two relationships
// through one key: its name alone is the one-to-many (the rows pointing at this one, also
// with the hint naming the referencing column), the column alone the many-to-one.
func (p *planner) relationship(table *meta.Table, item SelectItem) (*meta.Relationship, error) {
	var buf [2]*meta.Relationship // the usual one match, without a heap allocation
	found := buf[:0]
	for _, rel := range table.Relationships {
		if rel.Function != nil {
			// A computed relationship is named by its function, and takes no hint.
			if rel.Function.Name == item.Relation {
				found = append(found, rel)
			}
			continue
		}
		if p.relationshipMatches(rel, item) {
			found = append(found, rel)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, p.noRelationship(table.Name, item)
	}
	details := make([]map[string]string, len(found))
	var hints []string
	for i, rel := range found {
		details[i] = describeRelationship(rel)
		via := rel.Constraint
		if rel.Function != nil {
			via = rel.Function.Name
		}
		if rel.Junction != nil {
			via = rel.Junction.Table.Name
		}
		// Two relationships can share a hint (a view and its table through one key): the
		// hint names each way once.
		if hint := fmt.Sprintf("'%s!%s'", rel.Foreign.Name, via); !slices.Contains(hints, hint) {
			hints = append(hints, hint)
		}
	}
	return nil, apiError(http.StatusMultipleChoices, CodeAmbiguousEmbed,
		fmt.Sprintf("Could not embed because more than one relationship was found for '%s' and '%s'", table.Name, item.Relation),
		details,
		fmt.Sprintf("Try changing '%s' to one of the following: %s. Find the desired relationship in the 'details' key.",
			item.Relation, strings.Join(hints, ", ")))
}

func (p *planner) relationshipMatches(rel *meta.Relationship, item SelectItem) bool {
	byName := rel.Foreign.Name == item.Relation
	direct := rel.Junction == nil
	ownColumn := func(c string) bool { return direct && len(rel.Columns) == 1 && rel.Columns[0] == c }
	foreignColumn := func(c string) bool { return direct && len(rel.ForeignColumns) == 1 && rel.ForeignColumns[0] == c }
	if rel.Table == rel.Foreign {
		if item.Hint != "" {
			return byName && rel.Cardinality == meta.OneToMany && foreignColumn(item.Hint)
		}
		return (byName && rel.Cardinality == meta.OneToMany) || (rel.Cardinality == meta.ManyToOne && ownColumn(item.Relation))
	}
	if item.Hint == "" {
		if byName {
			return true
		}
		// A view's relationships come from its base tables' keys, whose names and columns
		// are not the view's to offer.
		if target := p.s.Table(rel.Foreign.Schema, rel.Foreign.Name); target == nil || target.IsView() {
			return false
		}
		return (direct && rel.Constraint == item.Relation) || ownColumn(item.Relation)
	}
	if !byName {
		return false
	}
	if j := rel.Junction; j != nil {
		return j.Table.Name == item.Hint || j.Constraint1 == item.Hint || j.Constraint2 == item.Hint
	}
	return rel.Constraint == item.Hint || ownColumn(item.Hint) || foreignColumn(item.Hint)
}

func describeRelationship(rel *meta.Relationship) map[string]string {
	cols := func(t meta.QName, c []string) string { return t.Name + "(" + strings.Join(c, ", ") + ")" }
	d := map[string]string{
		"cardinality": string(rel.Cardinality),
		"embedding":   rel.Table.Name + " with " + rel.Foreign.Name,
	}
	if rel.Function != nil {
		d["relationship"] = "computed by " + rel.Function.String()
		return d
	}
	if j := rel.Junction; j != nil {
		d["relationship"] = fmt.Sprintf("%s using %s(%s) and %s(%s)", j.Table.Name,
			j.Constraint1, strings.Join(j.SourceColumns, ", "), j.Constraint2, strings.Join(j.TargetColumns, ", "))
		return d
	}
	d["relationship"] = fmt.Sprintf("%s using %s and %s", rel.Constraint,
		cols(rel.Table, rel.Columns), cols(rel.Foreign, rel.ForeignColumns))
	return d
}

func (p *planner) noRelationship(parent string, item SelectItem) error {
	using := ""
	if item.Hint != "" {
		using = "' using the hint '" + item.Hint
	}
	return apiError(http.StatusBadRequest, CodeNoRelationship,
		fmt.Sprintf("Could not find a relationship between '%s' and '%s' in the schema cache", parent, item.Relation),
		fmt.Sprintf("Searched for a foreign key relationship between '%s' and '%s%s' in the schema '%s', but no matches were found.",
			parent, item.Relation, using, p.schema), nil)
}
