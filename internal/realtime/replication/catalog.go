package replication

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgxpool"
)

// relation is a table as the stream describes it, completed from the catalog.
type relation struct {
	id      uint32
	schema  string
	table   string
	columns []Column
	// identity marks the columns the old-row key tuple carries (the replica identity).
	identity []bool
}

// catalog looks up what the stream leaves out: type names and categories, and which columns
// form the primary key (with REPLICA IDENTITY FULL the stream marks every column as key).
// Types are cached for the life of the process: an OID never changes meaning while it
// exists, and a recreated type gets a new one. Only the goroutine reading the stream uses it.
type catalog struct {
	pool  *pgxpool.Pool
	types map[uint32]typeInfo
}

func newCatalog(pool *pgxpool.Pool) *catalog {
	return &catalog{pool: pool, types: map[uint32]typeInfo{}}
}

// describe completes a relation message: type names for every column (and array element
// types), and the primary key.
func (c *catalog) describe(ctx context.Context, msg *pglogrepl.RelationMessage) (*relation, error) {
	oids := make([]uint32, 0, len(msg.Columns))
	for _, col := range msg.Columns {
		oids = append(oids, col.DataType)
	}
	if err := c.loadTypes(ctx, oids); err != nil {
		return nil, err
	}
	pk, err := c.primaryKey(ctx, msg.RelationID)
	if err != nil {
		return nil, err
	}
	rel := &relation{id: msg.RelationID, schema: msg.Namespace, table: msg.RelationName}
	for _, col := range msg.Columns {
		info := c.types[col.DataType]
		rel.columns = append(rel.columns, Column{
			Name: col.Name, Type: info.Name, TypeOID: col.DataType, Category: info.Category,
			PrimaryKey: slices.Contains(pk, col.Name),
		})
		rel.identity = append(rel.identity, col.Flags&1 != 0)
	}
	return rel, nil
}

// loadTypes caches every type in oids that is not cached yet, the element types of the arrays
// among them and the base types of the domains.
func (c *catalog) loadTypes(ctx context.Context, oids []uint32) error {
	for len(oids) > 0 {
		missing := make([]uint32, 0, len(oids))
		for _, oid := range oids {
			if _, ok := c.types[oid]; !ok && !slices.Contains(missing, oid) {
				missing = append(missing, oid)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		rows, err := c.pool.Query(ctx, `SELECT oid, typname::text, typcategory::text, typelem, typdelim::text,
			CASE WHEN typtype = 'd' THEN typbasetype ELSE 0 END
			FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`, missing)
		if err != nil {
			return fmt.Errorf("look up column types: %w", err)
		}
		loaded := map[uint32]typeInfo{}
		var elems []uint32
		for rows.Next() {
			var (
				oid, elem, base       uint32
				name, category, delim string
			)
			if err := rows.Scan(&oid, &name, &category, &elem, &delim, &base); err != nil {
				rows.Close()
				return fmt.Errorf("look up column types: %w", err)
			}
			info := typeInfo{Name: name, Category: category, Elem: elem, Delim: ',', Base: base}
			if len(delim) == 1 {
				info.Delim = delim[0]
			}
			loaded[oid] = info
			if elem != 0 {
				elems = append(elems, elem)
			}
			if base != 0 {
				elems = append(elems, base)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up column types: %w", err)
		}
		for _, oid := range missing {
			// An OID the catalog does not know (dropped meanwhile) renders as text.
			c.types[oid] = loaded[oid]
		}
		oids = elems
	}
	return nil
}

func (c *catalog) primaryKey(ctx context.Context, relid uint32) ([]string, error) {
	rows, err := c.pool.Query(ctx, `SELECT a.attname::text
		FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::oid AND i.indisprimary`, relid)
	if err != nil {
		return nil, fmt.Errorf("look up primary key: %w", err)
	}
	var pk []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("look up primary key: %w", err)
		}
		pk = append(pk, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up primary key: %w", err)
	}
	return pk, nil
}
