package meta

import (
	"slices"
	"strings"
	"time"
)

// Relation kinds, as pg_class.relkind spells them.
const (
	KindTable            = "r"
	KindView             = "v"
	KindMaterializedView = "m"
	KindForeignTable     = "f"
	KindPartitionedTable = "p"
)

// Function volatility, as pg_proc.provolatile spells it.
const (
	Volatile  = "v"
	Stable    = "s"
	Immutable = "i"
)

// QName is a schema-qualified name.
type QName struct {
	Schema string
	Name   string
}

// String returns schema.name, unquoted (for messages, never for SQL).
func (q QName) String() string { return q.Schema + "." + q.Name }

// Schema is one consistent snapshot of the exposed schemas. It is immutable once built and
// safe for concurrent use.
type Schema struct {
	// Schemas are the exposed schemas in configuration order; the first is the default.
	Schemas []string
	// LoadedAt is when the snapshot was taken.
	LoadedAt time.Time

	tables    map[QName]*Table
	functions map[QName][]*Function
	types     map[string]QName // lower-cased type name → where it lives
	// settings are PostgREST's in-database configuration (see loadRoleSettings), by name
	// without the pgrst. prefix.
	settings map[string]string
}

// Table is a table, view, materialized view, foreign or partitioned table.
type Table struct {
	QName
	Kind        string
	Description string
	Insertable  bool
	Updatable   bool
	Deletable   bool
	Columns     []*Column
	// PrimaryKey lists the primary key's columns in key order; empty when there is none.
	PrimaryKey []string
	// UniqueKeys lists the column sets of unique constraints (the primary key included).
	UniqueKeys [][]string
	// Relationships are the ways to embed other tables from this one.
	Relationships []*Relationship
	// ComputedFields are the functions usable as virtual columns of this relation.
	ComputedFields []*ComputedField

	oid      uint32
	columns  map[string]*Column
	computed map[string]*ComputedField
}

// ComputedField is a function of an exposed schema that takes exactly one argument, a row of
// its table, and returns a single scalar value: PostgREST lets a request select, filter and
// order by it as if it were a column (select=* leaves it out).
type ComputedField struct {
	// Name is the function's name, which is how requests refer to the field.
	Name string
	// Function is where the function lives; it may be another exposed schema than the table's.
	Function QName
	// Type is format_type's spelling of the return type, e.g. "text".
	Type string
	// BaseType is the return type's pg_type name after unwrapping a domain, e.g. "tsvector".
	BaseType string
}

// Column is one column of a Table.
type Column struct {
	Name     string
	Position int
	// Type is format_type's spelling, e.g. "character varying(20)" or "integer[]".
	Type string
	// BaseType is the pg_type name after unwrapping a domain, e.g. "varchar", "_int4".
	BaseType    string
	Nullable    bool
	Default     string // the default expression; "" when none
	HasDefault  bool
	Identity    bool
	Generated   bool
	Updatable   bool
	Description string
	MaxLength   int // 0 when unbounded
	Enum        []string
}

// IsArray reports whether the column holds an array.
func (c *Column) IsArray() bool { return strings.HasPrefix(c.BaseType, "_") }

// Cardinality says how many rows of the other side an embedded resource yields.
type Cardinality string

// The kinds of relationship PostgREST distinguishes.
const (
	ManyToOne  Cardinality = "many-to-one"
	OneToMany  Cardinality = "one-to-many"
	OneToOne   Cardinality = "one-to-one"
	ManyToMany Cardinality = "many-to-many"
)

// Relationship is a way to reach Foreign rows from Table rows through a foreign key (or, for
// many-to-many, through two foreign keys of a junction table), or through a function
// (a computed relationship).
type Relationship struct {
	Table       QName
	Foreign     QName
	Cardinality Cardinality
	// Constraint is the foreign key's name (for many-to-many, the one from the junction to Table).
	Constraint string
	// Columns of Table and ForeignColumns of Foreign are equal pairwise (direct relationships).
	Columns        []string
	ForeignColumns []string
	// Junction is set for many-to-many relationships.
	Junction *Junction
	// Referencing is set when Table holds the foreign key's columns (a many-to-one, or the
	// referencing side of a one-to-one): the direction the constraint itself points.
	Referencing bool
	// Function is set for computed relationships: the function that takes a row of Table and
	// returns the Foreign rows (one-to-many, or many-to-one when it returns a single row or is
	// declared ROWS 1). Requests name it rather than Foreign; Columns are empty.
	Function *QName
}

// ToOne reports whether embedding yields at most one row (a JSON object rather than an array).
func (r *Relationship) ToOne() bool { return r.Cardinality == ManyToOne || r.Cardinality == OneToOne }

// Junction is the table in the middle of a many-to-many relationship.
type Junction struct {
	Table QName
	// Constraint1 leads from the junction to the source table, Constraint2 to the target.
	Constraint1 string
	Constraint2 string
	// SourceColumns of the junction equal the source's SourceRefColumns pairwise; likewise
	// TargetColumns and TargetRefColumns.
	SourceColumns    []string
	SourceRefColumns []string
	TargetColumns    []string
	TargetRefColumns []string
}

// Function is a function callable through RPC.
type Function struct {
	QName
	OID         int64
	Description string
	Volatility  string
	ReturnsSet  bool
	// ReturnType is format_type's spelling of the return type ("integer", "record", "void").
	ReturnType string
	// ReturnTable is set when the function returns rows of an exposed or other table or view.
	ReturnTable *QName
	// ReturnsComposite is true for functions returning a row type or OUT/TABLE columns.
	ReturnsComposite bool
	// Params are the input parameters in order.
	Params []Param
	// OutColumns are the OUT / TABLE columns, when the function declares them.
	OutColumns []Param
}

// Param is one function parameter.
type Param struct {
	Name       string
	Type       string // format_type spelling
	BaseType   string // pg_type name after unwrapping domains
	HasDefault bool
	Variadic   bool
}

// ReturnsVoid reports whether the function returns nothing.
func (f *Function) ReturnsVoid() bool { return f.ReturnType == "void" }

// ReturnsScalar reports whether each result is a single value rather than a row.
func (f *Function) ReturnsScalar() bool { return !f.ReturnsComposite }

// Table returns the relation schema.name, or nil.
func (s *Schema) Table(schema, name string) *Table { return s.tables[QName{schema, name}] }

// Tables returns every relation of schema, sorted by name.
func (s *Schema) Tables(schema string) []*Table {
	var out []*Table
	for q, t := range s.tables {
		if q.Schema == schema {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Table) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Functions returns the overloads of schema.name (nil when there is none).
func (s *Schema) Functions(schema, name string) []*Function { return s.functions[QName{schema, name}] }

// AllFunctions returns every function of schema, sorted by name and then OID.
func (s *Schema) AllFunctions(schema string) []*Function {
	var out []*Function
	for q, fs := range s.functions {
		if q.Schema == schema {
			out = append(out, fs...)
		}
	}
	slices.SortFunc(out, func(a, b *Function) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return int(a.OID - b.OID)
	})
	return out
}

// Exposes reports whether schema is one of the exposed schemas.
func (s *Schema) Exposes(schema string) bool { return slices.Contains(s.Schemas, schema) }

// Type resolves a type name a request may cast to (case-insensitive, built-in aliases such as
// "integer" and "double precision" accepted) and reports where it lives.
func (s *Schema) Type(name string) (QName, bool) {
	q, ok := s.types[canonicalTypeName(strings.ToLower(strings.TrimSpace(name)))]
	return q, ok
}

// canonicalTypeName maps SQL-standard spellings to pg_type names, which are what a quoted
// cast needs ("integer" quoted is not a type, "int4" is).
func canonicalTypeName(name string) string {
	switch name {
	case "integer", "int":
		return "int4"
	case "smallint":
		return "int2"
	case "bigint":
		return "int8"
	case "real":
		return "float4"
	case "double precision", "double", "float":
		return "float8"
	case "boolean":
		return "bool"
	case "decimal":
		return "numeric"
	case "character varying":
		return "varchar"
	case "character", "char":
		return "bpchar"
	case "timestamp with time zone":
		return "timestamptz"
	case "timestamp without time zone":
		return "timestamp"
	case "time with time zone":
		return "timetz"
	case "time without time zone":
		return "time"
	}
	return name
}

// Column returns the column name of t, or nil.
func (t *Table) Column(name string) *Column { return t.columns[name] }

// ComputedField returns the computed field name of t, or nil. A real column of the same name
// hides it: callers look columns up first.
func (t *Table) ComputedField(name string) *ComputedField { return t.computed[name] }

// IsView reports whether t is a view or materialized view.
func (t *Table) IsView() bool { return t.Kind == KindView || t.Kind == KindMaterializedView }
