package meta

import "slices"

// buildRelationships derives every embedding path from the foreign keys: each key gives a
// many-to-one (or one-to-one) relationship from the referencing table and the reverse
// one-to-many (or one-to-one) from the referenced table, and every table whose primary key or
// a unique key covers the columns of two foreign keys is a junction giving many-to-many
// relationships between the tables those keys reference.
func buildRelationships(s *Schema, fks []foreignKey) {
	for _, fk := range fks {
		from, to := s.tables[fk.table], s.tables[fk.ref]
		unique := coversUniqueKey(from, fk.columns)
		forward, backward := ManyToOne, OneToMany
		if unique {
			forward, backward = OneToOne, OneToOne
		}
		from.Relationships = append(from.Relationships, &Relationship{
			Table: fk.table, Foreign: fk.ref, Cardinality: forward, Constraint: fk.name,
			Columns: fk.columns, ForeignColumns: fk.refColums,
		})
		to.Relationships = append(to.Relationships, &Relationship{
			Table: fk.ref, Foreign: fk.table, Cardinality: backward, Constraint: fk.name,
			Columns: fk.refColums, ForeignColumns: fk.columns,
		})
	}
	byTable := map[QName][]foreignKey{}
	for _, fk := range fks {
		byTable[fk.table] = append(byTable[fk.table], fk)
	}
	for junction, keys := range byTable {
		jt := s.tables[junction]
		for i, a := range keys {
			for j, b := range keys {
				if i == j || !isJunctionPair(jt, a, b) {
					continue
				}
				source := s.tables[a.ref]
				source.Relationships = append(source.Relationships, &Relationship{
					Table: a.ref, Foreign: b.ref, Cardinality: ManyToMany, Constraint: a.name,
					Junction: &Junction{
						Table: junction, Constraint1: a.name, Constraint2: b.name,
						SourceColumns: a.columns, SourceRefColumns: a.refColums,
						TargetColumns: b.columns, TargetRefColumns: b.refColums,
					},
				})
			}
		}
	}
}

// isJunctionPair reports whether the junction's primary key, or one of its unique keys,
// contains the columns of both foreign keys, as PostgREST requires of a join table.
func isJunctionPair(jt *Table, a, b foreignKey) bool {
	for _, key := range jt.UniqueKeys {
		if containsAll(key, a.columns) && containsAll(key, b.columns) {
			return true
		}
	}
	return false
}

// coversUniqueKey reports whether cols are exactly the columns of one of t's unique keys.
func coversUniqueKey(t *Table, cols []string) bool {
	for _, key := range t.UniqueKeys {
		if len(key) == len(cols) && containsAll(key, cols) {
			return true
		}
	}
	return false
}

func containsAll(set, items []string) bool {
	for _, it := range items {
		if !slices.Contains(set, it) {
			return false
		}
	}
	return true
}
