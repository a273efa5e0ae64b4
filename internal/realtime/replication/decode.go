package replication

import (
	"context"
	"fmt"

	"github.com/jackc/pglogrepl"
)

// decoder turns pgoutput messages into Changes. The server sends a relation message before
// the first change of a table in a session and again after its schema changed, so the
// relations seen so far are enough to read every tuple.
type decoder struct {
	catalog   *catalog
	relations map[uint32]*relation
}

func newDecoder(c *catalog) *decoder {
	return &decoder{catalog: c, relations: map[uint32]*relation{}}
}

func (d *decoder) relation(ctx context.Context, msg *pglogrepl.RelationMessage) error {
	rel, err := d.catalog.describe(ctx, msg)
	if err != nil {
		return err
	}
	d.relations[msg.RelationID] = rel
	return nil
}

// change builds a Change of kind typ. newTuple is nil for deletes; oldTuple is nil when the
// server sent no old row, and oldKind says whether it holds the key ('K') or the whole row.
func (d *decoder) change(typ string, relID uint32, tx transaction, newTuple, oldTuple *pglogrepl.TupleData, oldKind uint8) (*Change, error) {
	rel, ok := d.relations[relID]
	if !ok {
		return nil, fmt.Errorf("change for relation %d arrived before its relation message", relID)
	}
	ch := &Change{
		RelationID: rel.id, Schema: rel.schema, Table: rel.table, Type: typ,
		XID: tx.xid, CommitTime: tx.commitTime, Columns: rel.columns,
	}
	var err error
	if oldTuple != nil {
		if ch.Old, err = d.values(rel, oldTuple, oldKind == pglogrepl.UpdateMessageTupleTypeKey); err != nil {
			return nil, err
		}
	}
	if newTuple != nil {
		if ch.New, err = d.values(rel, newTuple, false); err != nil {
			return nil, err
		}
		// An UPDATE does not resend TOASTed values it left alone; the old row has them when
		// the replica identity is FULL.
		for i, v := range ch.New {
			if v.State == Unchanged && ch.Old != nil && ch.Old[i].State != Absent && ch.Old[i].State != Unchanged {
				ch.New[i] = ch.Old[i]
			}
		}
	}
	return ch, nil
}

// values reads a tuple. keyOnly marks a key tuple, whose non-key columns are not values of
// the row (the server sends them as nulls) and become Absent.
func (d *decoder) values(rel *relation, tuple *pglogrepl.TupleData, keyOnly bool) ([]Value, error) {
	if len(tuple.Columns) != len(rel.columns) {
		return nil, fmt.Errorf("tuple of %s.%s has %d columns, its relation %d", rel.schema, rel.table, len(tuple.Columns), len(rel.columns))
	}
	out := make([]Value, len(tuple.Columns))
	for i, col := range tuple.Columns {
		switch {
		case keyOnly && !rel.identity[i]:
			out[i] = Value{State: Absent}
		case col.DataType == pglogrepl.TupleDataTypeNull:
			out[i] = Value{State: Null}
		case col.DataType == pglogrepl.TupleDataTypeToast:
			out[i] = Value{State: Unchanged}
		case col.DataType == pglogrepl.TupleDataTypeText:
			text := string(col.Data)
			out[i] = Value{Text: text, JSON: renderValue(d.catalog.types, rel.columns[i].TypeOID, text)}
		default:
			return nil, fmt.Errorf("tuple of %s.%s has a value in format %q; only text is requested", rel.schema, rel.table, col.DataType)
		}
	}
	return out, nil
}
