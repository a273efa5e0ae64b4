package pgmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

// columnRef is what the changes of a column read of it.
type columnRef struct {
	TableID         int64  `json:"table_id"`
	Schema          string `json:"schema"`
	Table           string `json:"table"`
	Name            string `json:"name"`
	OrdinalPosition int16  `json:"ordinal_position"`
	IsIdentity      bool   `json:"is_identity"`
	IsUnique        bool   `json:"is_unique"`
}

// columnID reads "table_id.ordinal_position".
func columnID(raw string) (int64, int16, error) {
	missing := notFound("Cannot find a column with ID %s", raw)
	t, n, ok := strings.Cut(raw, ".")
	if !ok {
		return 0, 0, missing
	}
	table, err1 := strconv.ParseInt(t, 10, 64)
	pos, err2 := strconv.ParseInt(n, 10, 16)
	if err1 != nil || err2 != nil || table <= 0 || pos <= 0 {
		return 0, 0, missing
	}
	return table, int16(pos), nil
}

func readColumn(ctx context.Context, tx pgx.Tx, table int64, pos int16) ([]byte, columnRef, error) {
	var c columnRef
	body, err := oldItem(ctx, tx, "columns", pgx.NamedArgs{"ids": []int64{table}, "attnum": pos},
		notFound("Cannot find a column with ID %d.%d", table, pos), &c)
	return body, c, err
}

// columnNamed answers with the column of table that has this name after the change.
func columnNamed(table int64, name *string) func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		var pos int16
		if err := tx.QueryRow(ctx, `SELECT attnum FROM pg_attribute WHERE attrelid = $1 AND attname = $2 AND NOT attisdropped`,
			table, *name).Scan(&pos); err != nil {
			return nil, fmt.Errorf("pgmeta: find the changed column: %w", err)
		}
		body, _, err := readColumn(ctx, tx, table, pos)
		return body, err
	}
}

type columnCreate struct {
	TableID            int64           `json:"table_id"`
	Name               string          `json:"name"`
	Type               string          `json:"type"`
	DefaultValue       json.RawMessage `json:"default_value"`
	DefaultValueFormat *string         `json:"default_value_format"`
	IsIdentity         bool            `json:"is_identity"`
	IdentityGeneration *string         `json:"identity_generation"`
	IsNullable         *bool           `json:"is_nullable"`
	IsPrimaryKey       bool            `json:"is_primary_key"`
	IsUnique           bool            `json:"is_unique"`
	Comment            *string         `json:"comment"`
	Check              *string         `json:"check"`
}

// defaultClause writes a default: an expression as given, or a value as a constant.
func defaultClause(raw json.RawMessage, format *string) (string, error) {
	f := deref(format, "literal")
	if err := oneOf("default_value_format", f, "literal", "expression"); err != nil {
		return "", err
	}
	if f == "literal" {
		return valueLiteral(raw)
	}
	var expr string
	if err := json.Unmarshal(raw, &expr); err != nil {
		return "", badRequest("default_value must be a string when default_value_format is expression")
	}
	return expr, nil
}

func identityGeneration(g *string) (string, error) {
	v := deref(g, "BY DEFAULT")
	return v, oneOf("identity_generation", v, "BY DEFAULT", "ALWAYS")
}

// createColumn serves POST /columns.
func (s *Service) createColumn(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b columnCreate
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if err := required("name", b.Name); err != nil {
		return err
	}
	typ, err := typeName(b.Type)
	if err != nil {
		return err
	}
	clauses := []string{ident(b.Name), typ}
	if b.IsIdentity {
		if b.DefaultValue != nil {
			return badRequest("Columns cannot both be identity and have a default value")
		}
		gen, err := identityGeneration(b.IdentityGeneration)
		if err != nil {
			return err
		}
		clauses = append(clauses, "GENERATED "+gen+" AS IDENTITY")
	} else if b.DefaultValue != nil {
		def, err := defaultClause(b.DefaultValue, b.DefaultValueFormat)
		if err != nil {
			return err
		}
		clauses = append(clauses, "DEFAULT "+def)
	}
	if b.IsNullable != nil {
		clauses = append(clauses, pick(*b.IsNullable, "NULL", "NOT NULL"))
	}
	if b.IsPrimaryKey {
		clauses = append(clauses, "PRIMARY KEY")
	}
	if b.IsUnique {
		clauses = append(clauses, "UNIQUE")
	}
	if b.Check != nil {
		clauses = append(clauses, "CHECK ("+*b.Check+")")
	}
	return s.apply(w, r, p, change{action: "meta.column.create", resourceType: "column",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, t, err := readTable(ctx, tx, b.TableID)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: t.Schema + "." + t.Name + "." + b.Name, result: columnNamed(b.TableID, &b.Name)}
			pl.stmts = append(pl.stmts, sqlf("ALTER TABLE %s ADD COLUMN %s", ident(t.Schema, t.Name), strings.Join(clauses, " ")))
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON COLUMN %s IS %s", ident(t.Schema, t.Name, b.Name), c))
			}
			return pl, nil
		}})
}

type columnUpdate struct {
	Name               *string         `json:"name"`
	Type               *string         `json:"type"`
	DropDefault        bool            `json:"drop_default"`
	DefaultValue       json.RawMessage `json:"default_value"`
	DefaultValueFormat *string         `json:"default_value_format"`
	IsIdentity         *bool           `json:"is_identity"`
	IdentityGeneration *string         `json:"identity_generation"`
	IsNullable         *bool           `json:"is_nullable"`
	IsUnique           *bool           `json:"is_unique"`
	Comment            *string         `json:"comment"`
	// Check replaces the column's CHECK; JSON null removes it.
	Check json.RawMessage `json:"check"`
}

// updateColumn serves PATCH /columns/{table_id}.{ordinal_position}, in postgres-meta's order:
// nullability, type (converting the values with USING), default, identity, uniqueness,
// comment, check, and the name last.
func (s *Service) updateColumn(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	table, pos, err := columnID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var b columnUpdate
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	var typ string
	if b.Type != nil {
		if typ, err = typeName(*b.Type); err != nil {
			return err
		}
	}
	var check *string
	if b.Check != nil && string(b.Check) != "null" {
		var c string
		if err := json.Unmarshal(b.Check, &c); err != nil {
			return badRequest("check must be a string or null")
		}
		check = &c
	}
	return s.apply(w, r, p, change{action: "meta.column.update", resourceType: "column",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readColumn(ctx, tx, table, pos)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: fmt.Sprintf("%d.%d", table, pos), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readColumn(ctx, tx, table, pos)
				return body, err
			}}
			alter := "ALTER TABLE " + ident(old.Schema, old.Table)
			col := alter + " ALTER COLUMN " + ident(old.Name)
			if b.IsNullable != nil {
				pl.stmts = append(pl.stmts, sqlf("%s %s NOT NULL", col, pick(*b.IsNullable, "DROP", "SET")))
			}
			if b.Type != nil {
				pl.stmts = append(pl.stmts, sqlf("%s SET DATA TYPE %s USING %s::%s", col, typ, ident(old.Name), typ))
			}
			switch {
			case b.DropDefault:
				pl.stmts = append(pl.stmts, sqlf("%s DROP DEFAULT", col))
			case b.DefaultValue != nil:
				def, err := defaultClause(b.DefaultValue, b.DefaultValueFormat)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("%s SET DEFAULT %s", col, def))
			}
			gen, err := identityGeneration(b.IdentityGeneration)
			if err != nil {
				return pl, err
			}
			switch {
			case b.IsIdentity != nil && !*b.IsIdentity:
				pl.stmts = append(pl.stmts, sqlf("%s DROP IDENTITY IF EXISTS", col))
			case old.IsIdentity && b.IdentityGeneration != nil:
				pl.stmts = append(pl.stmts, sqlf("%s SET GENERATED %s", col, gen))
			case !old.IsIdentity && b.IsIdentity != nil && *b.IsIdentity:
				pl.stmts = append(pl.stmts, sqlf("%s ADD GENERATED %s AS IDENTITY", col, gen))
			}
			if b.IsUnique != nil && old.IsUnique && !*b.IsUnique {
				names, err := columnConstraints(ctx, tx, table, pos, "u")
				if err != nil {
					return pl, err
				}
				for _, n := range names {
					pl.stmts = append(pl.stmts, sqlf("%s DROP CONSTRAINT %s", alter, ident(n)))
				}
			} else if b.IsUnique != nil && !old.IsUnique && *b.IsUnique {
				pl.stmts = append(pl.stmts, sqlf("%s ADD UNIQUE (%s)", alter, ident(old.Name)))
			}
			if b.Comment != nil {
				c, err := literal(*b.Comment)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, sqlf("COMMENT ON COLUMN %s IS %s", ident(old.Schema, old.Table, old.Name), c))
			}
			if b.Check != nil {
				names, err := columnConstraints(ctx, tx, table, pos, "c")
				if err != nil {
					return pl, err
				}
				if len(names) > 0 {
					pl.stmts = append(pl.stmts, sqlf("%s DROP CONSTRAINT %s", alter, ident(names[0])))
				}
				if check != nil {
					name := old.Table + "_" + old.Name + "_check"
					pl.stmts = append(pl.stmts, sqlf("%s ADD CONSTRAINT %s CHECK (%s)", alter, ident(name), *check))
					pl.after = checkOnColumn(table, pos, name)
				}
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("%s RENAME COLUMN %s TO %s", alter, ident(old.Name), ident(*b.Name)))
			}
			return pl, nil
		}})
}

// columnConstraints names the single-column constraints of one kind (u, c) on a column,
// oldest first.
func columnConstraints(ctx context.Context, tx pgx.Tx, table int64, pos int16, kind string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT conname FROM pg_constraint
WHERE contype = $3 AND cardinality(conkey) = 1 AND conrelid = $1 AND conkey[1] = $2 ORDER BY oid`, table, pos, kind)
	if err != nil {
		return nil, fmt.Errorf("pgmeta: read constraints: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// checkOnColumn refuses a column's CHECK that is about other columns: postgres-meta
// reports a column's check only when it names that column alone.
func checkOnColumn(table int64, pos int16, name string) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		var key []int16
		if err := tx.QueryRow(ctx, `SELECT conkey FROM pg_constraint WHERE conrelid = $1 AND conname = $2`, table, name).Scan(&key); err != nil {
			return fmt.Errorf("pgmeta: read the new check: %w", err)
		}
		if len(key) != 1 || key[0] != pos {
			return badRequest("error creating column constraint: check condition must refer to this column only")
		}
		return nil
	}
}

// deleteColumn serves DELETE /columns/{table_id}.{ordinal_position}?cascade=.
func (s *Service) deleteColumn(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	table, pos, err := columnID(r.PathValue("id"))
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.column.delete", resourceType: "column",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readColumn(ctx, tx, table, pos)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Schema + "." + old.Table + "." + old.Name, before: body,
				stmts: []stmt{sqlf("ALTER TABLE %s DROP COLUMN %s %s", ident(old.Schema, old.Table), ident(old.Name), mode)}}, nil
		}})
}
