package rest

// Request is a /rest/v1 request after parsing and before planning: it says what the caller
// asked for in PostgREST's grammar, but nothing in it has been checked against the schema.
type Request struct {
	Method string
	// Resource is the table or view (or, with RPC, the function) named by the path; empty
	// for the root, which serves the OpenAPI description.
	Resource string
	RPC      bool
	// Schema is the schema chosen by Accept-Profile / Content-Profile; empty means the default.
	Schema string

	// Select is the select= tree; nil when the parameter is absent (all columns).
	Select []SelectItem
	// Nodes holds filters, order, limit and offset per embedding path: "" is the top level,
	// "author" an embedded resource, "author.posts" one embedded in it.
	Nodes map[string]*NodeParams
	// Params are the query parameters that are not reserved words, in order. For tables they
	// are already parsed into Nodes; for RPC they may be function arguments, which only the
	// planner can tell apart from filters.
	Params []Param

	Columns    []string // columns=
	OnConflict []string // on_conflict=
	Prefer     Preferences
	Accept     MediaType
	// StripNulls is Accept's nulls=stripped: keys whose value is null are left out of the
	// returned objects.
	StripNulls bool
	// Plan is set when Accept asks for the execution plan (application/vnd.pgrst.plan);
	// Accept and StripNulls are then the representation it is the plan of (its for=).
	Plan *PlanSpec
	// Range is the Range header's items range, when one was sent.
	Range *ItemRange

	// Body is the request body, for writes and POST RPC.
	Body []byte
	// BodyArray tells whether Body is a JSON array (else an object).
	BodyArray bool
	// RawBodyType is set when a POST to a function sends a body that is not JSON: "text"
	// (text/plain), "xml" (text/xml) or "bytea" (application/octet-stream). Such a body goes
	// whole to a function whose only parameter is unnamed and of that type.
	RawBodyType string
	// BodyKeys are the keys of the body's object (or the union of its objects' keys), in
	// first-seen order.
	BodyKeys []string
}

// Param is one query parameter.
type Param struct {
	Key   string
	Value string
}

// NodeParams are the horizontal filters and paging of one level of the response.
type NodeParams struct {
	Conditions []Condition
	Order      []OrderTerm
	Limit      *int64
	Offset     *int64
}

// ItemKind tells what a select item is.
type ItemKind int

// The kinds of select item.
const (
	ItemColumn ItemKind = iota
	ItemStar
	ItemEmbed
	ItemSpread
	ItemCount // count() over the whole row
)

// SelectItem is one element of select=.
type SelectItem struct {
	Kind  ItemKind
	Alias string
	// Field, Cast and Aggregate describe a column (ItemColumn).
	Field         Field
	Cast          string
	Aggregate     string
	AggregateCast string
	// Relation, Hint, Join and Children describe an embed or spread.
	Relation string
	Hint     string
	Join     string // "", "inner" or "left"
	Children []SelectItem
}

// Field is a column, optionally followed by a JSON path (data->a->>b).
type Field struct {
	Name string
	JSON []JSONStep
}

// JSONStep is one -> or ->> step of a JSON path.
type JSONStep struct {
	Key  string
	Text bool // ->> rather than ->
}

// OutputName is the key a field gets in the response when it has no alias: the last JSON
// key, or the column name.
func (f Field) OutputName() string {
	if len(f.JSON) > 0 {
		return f.JSON[len(f.JSON)-1].Key
	}
	return f.Name
}

// Condition is a filter (Op set) or a logic tree of conditions (Logic set).
type Condition struct {
	Negate bool

	Field  Field
	Op     string   // eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, is, isdistinct, in, cs, cd, ov, sl, sr, nxl, nxr, adj, fts, plfts, phfts, wfts
	Quant  string   // "", "any" or "all"
	Lang   string   // the text search configuration of fts operators
	Value  string   // the operand, as sent
	Values []string // in's list

	Logic    string // "and" or "or"
	Children []Condition
}

// OrderTerm is one element of order=.
type OrderTerm struct {
	// Relation names a to-one embedded resource whose column orders the parent (author(name)).
	Relation string
	Field    Field
	Desc     bool
	Nulls    string // "", "first" or "last"
}

// Preferences are the honoured parts of the Prefer header.
type Preferences struct {
	Return      string // "", minimal, headers-only, representation
	Count       string // "", exact, planned, estimated
	Resolution  string // "", merge-duplicates, ignore-duplicates
	Missing     string // "", default, null
	Handling    string // "", strict, lenient
	Tx          string // "", commit, rollback
	Params      string // "", single-object
	MaxAffected *int64
	// Invalid lists preferences that were not understood.
	Invalid []string
}

// MediaType is the representation a request asks for.
type MediaType int

// The supported media types.
const (
	MediaJSON MediaType = iota
	MediaObject
	MediaCSV
	// MediaGeoJSON is application/geo+json: a FeatureCollection built by PostGIS.
	MediaGeoJSON
	MediaOpenAPI
)

// ItemRange is a Range header's items range; Last < 0 means open-ended.
type ItemRange struct {
	First int64
	Last  int64
}

// PlanSpec is an Accept: application/vnd.pgrst.plan[+json|+text] request for EXPLAIN output.
type PlanSpec struct {
	// JSON is +json (EXPLAIN's FORMAT JSON); otherwise the plan is text.
	JSON bool
	// Options are EXPLAIN's options from options=, in PostgREST's order: analyze, verbose,
	// settings, buffers, wal.
	Options []string
	// For is the for= parameter as sent (application/json when absent).
	For string
}
