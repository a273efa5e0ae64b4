package tablesecurity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier is what the catalog is read through: a transaction, connection or pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// table is what the compiler needs to know about a table.
type table struct {
	Schema, Name string
	OID          uint32
	Columns      []column
	PrimaryKey   []string
	RLSEnabled   bool
	// ACL is what anon and authenticated hold on the table now.
	ACL ACL
	// Policies, Triggers and Columns named gf_… that exist now, compiled or not.
	gfPolicies []string
	gfTriggers []string
	// overlayObjects counts, per overlay schema that exists, the objects in it.
	overlayObjects map[string]int
	// overlayViews are the overlay schemas that hold a view of this table's name.
	overlayViews map[string]bool
}

type column struct {
	Name    string
	Type    string // format_type
	TypName string // pg_type.typname after unwrapping a domain
}

func (t *table) qualified() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

func (t *table) column(name string) *column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// ACL is the privileges of the API roles anon and authenticated on a table: table-level ones
// per role, and column-level ones per column and role. It is kept from before the first PUT,
// to be restored by DELETE.
type ACL struct {
	Table   map[string][]string            `json:"table"`
	Columns map[string]map[string][]string `json:"columns"`
}

// The API roles a config restricts. service_role bypasses row level security and keeps its
// privileges: it is the server's own key.
var restrictedRoles = []string{"anon", "authenticated"}

// Schemas no config may touch: the server's own, and PostgreSQL's.
var reservedSchemas = []string{"goforward", "auth", "pg_catalog", "information_schema", "realtime"}

const tableSQL = `SELECT c.oid::int8, c.relrowsecurity
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`

const columnsSQL = `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
	coalesce(bt.typname, t.typname)::text
	FROM pg_catalog.pg_attribute a
	JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
	LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
	WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
	ORDER BY a.attnum`

const primaryKeySQL = `SELECT a.attname::text
	FROM pg_catalog.pg_index i
	CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
	JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
	WHERE i.indrelid = $1::oid AND i.indisprimary
	ORDER BY k.ord`

// aclSQL lists anon's and authenticated's privileges: on the table (column "") and on each
// column.
const aclSQL = `SELECT '' AS col, g.rolname::text, x.privilege_type
	FROM pg_catalog.pg_class c, aclexplode(c.relacl) x
	JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
	WHERE c.oid = $1::oid AND g.rolname IN ('anon', 'authenticated')
	UNION ALL
	SELECT a.attname::text, g.rolname::text, x.privilege_type
	FROM pg_catalog.pg_attribute a, aclexplode(a.attacl) x
	JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
	WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND g.rolname IN ('anon', 'authenticated')
	ORDER BY 1, 2, 3`

const gfObjectsSQL = `SELECT 'policy', polname::text FROM pg_catalog.pg_policy
	WHERE polrelid = $1::oid AND polname LIKE 'gf\_%'
	UNION ALL
	SELECT 'trigger', tgname::text FROM pg_catalog.pg_trigger
	WHERE tgrelid = $1::oid AND NOT tgisinternal AND tgname LIKE 'gf\_%'`

// overlaySQL counts the objects in each overlay schema of the table's schema, and says
// whether one of them is a relation of the table's name.
const overlaySQL = `SELECT n.nspname::text,
	(SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
	  + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid)
	  + (SELECT count(*) FROM pg_catalog.pg_type ty WHERE ty.typnamespace = n.oid AND ty.typrelid = 0 AND ty.typcategory <> 'A'),
	EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.relname = $2)
	FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY ($1::text[])`

// storageSchema holds the storage service's tables (storage.objects, storage.buckets).
const storageSchema = "storage"

// loadTable reads what the compiler needs about schema.name.
func loadTable(ctx context.Context, q Querier, schema, name string) (*table, error) {
	if schema == storageSchema {
		// Storage queries its tables itself as the caller, by their columns: a compiled config
		// (anon's privileges revoked, a column hidden or moved behind a masking view) would break
		// uploads and downloads for everyone, while the access it would add is what storage's
		// own policies already express.
		return nil, invalid("tables of schema storage cannot be configured: the storage service reads them directly; "+
			"restrict %s.%s with policies written on it (a policy may read a configured table, whose rules then apply)", schema, name)
	}
	if slices.Contains(reservedSchemas, schema) || strings.HasPrefix(schema, "pg_") || strings.HasPrefix(schema, "gf_") {
		return nil, invalid("tables of schema %s cannot be configured: it belongs to the server", schema)
	}
	t := &table{Schema: schema, Name: name, overlayObjects: map[string]int{}, overlayViews: map[string]bool{}}
	var oid int64
	err := q.QueryRow(ctx, tableSQL, schema, name).Scan(&oid, &t.RLSEnabled)
	if err == pgx.ErrNoRows {
		return nil, noTable("table %s.%s does not exist", schema, name)
	}
	if err != nil {
		return nil, fmt.Errorf("tablesecurity: read table %s.%s: %w", schema, name, err)
	}
	t.OID = uint32(oid)
	rows, err := q.Query(ctx, columnsSQL, t.OID)
	if err != nil {
		return nil, err
	}
	var c column
	if _, err := pgx.ForEachRow(rows, []any{&c.Name, &c.Type, &c.TypName}, func() error {
		t.Columns = append(t.Columns, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("tablesecurity: read columns: %w", err)
	}
	if t.PrimaryKey, err = strings1(ctx, q, primaryKeySQL, t.OID); err != nil {
		return nil, fmt.Errorf("tablesecurity: read primary key: %w", err)
	}
	if t.ACL, err = loadACL(ctx, q, t.OID); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, gfObjectsSQL, t.OID)
	if err != nil {
		return nil, err
	}
	var kind, objName string
	if _, err := pgx.ForEachRow(rows, []any{&kind, &objName}, func() error {
		if kind == "policy" {
			t.gfPolicies = append(t.gfPolicies, objName)
		} else {
			t.gfTriggers = append(t.gfTriggers, objName)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("tablesecurity: read compiled objects: %w", err)
	}
	var schemas []string
	for _, role := range restrictedRoles {
		schemas = append(schemas, OverlaySchema(role, schema))
	}
	rows, err = q.Query(ctx, overlaySQL, schemas, name)
	if err != nil {
		return nil, err
	}
	var (
		nsp   string
		count int64
		has   bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&nsp, &count, &has}, func() error {
		t.overlayObjects[nsp] = int(count)
		t.overlayViews[nsp] = has
		return nil
	}); err != nil {
		return nil, fmt.Errorf("tablesecurity: read overlay schemas: %w", err)
	}
	return t, nil
}

func loadACL(ctx context.Context, q Querier, oid uint32) (ACL, error) {
	acl := ACL{Table: map[string][]string{}, Columns: map[string]map[string][]string{}}
	rows, err := q.Query(ctx, aclSQL, oid)
	if err != nil {
		return acl, err
	}
	var col, role, privilege string
	_, err = pgx.ForEachRow(rows, []any{&col, &role, &privilege}, func() error {
		if col == "" {
			acl.Table[role] = append(acl.Table[role], privilege)
			return nil
		}
		if acl.Columns[col] == nil {
			acl.Columns[col] = map[string][]string{}
		}
		acl.Columns[col][role] = append(acl.Columns[col][role], privilege)
		return nil
	})
	if err != nil {
		return acl, fmt.Errorf("tablesecurity: read privileges: %w", err)
	}
	return acl, nil
}

func strings1(ctx context.Context, q Querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
