package rest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/meta"
)

type queryKind int

const (
	kindRead queryKind = iota
	kindInsert
	kindUpdate
	kindDelete
	kindPut
	kindCall
)

// Query is a planned request: every name in it was found in the schema cache. Build turns
// it into one SQL statement.
type Query struct {
	kind     queryKind
	schema   string
	table    *meta.Table
	function *meta.Function
	// root is the response tree: for reads the table itself, for writes the rows the
	// mutation returned, for calls the function's result.
	root  *node
	media MediaType
	// stripNulls leaves null-valued keys out of the body's objects.
	stripNulls bool
	head       bool
	count      string
	// offset is the first row's position, for Content-Range.
	offset int64

	// Writes.
	target     *node // the mutated table with the filters of the request (alias t0)
	columns    []string
	body       []byte
	onConflict []string
	resolution string
	missing    bool // Prefer: missing=default
	returning  string
	prefer     Preferences

	// Calls.
	args       []meta.Param
	argsJSON   []byte
	singleBody bool
	readOnly   bool
}

// node is one level of the response: a table (or function result) with the fields to output,
// the conditions to apply, and the embedded resources below it.
type node struct {
	alias   string // SQL alias of the table, t0, t1, ...
	lateral string // SQL alias of the lateral join that embeds it, e1, e2, ...
	name    string // key in the parent's JSON
	path    string // embedding path of its query parameters
	label   string // table name for messages
	depth   int    // embedding depth: 0 for the top level
	table   *meta.Table
	columns map[string]*meta.Column
	// outColumns lists, in order, the columns of a function's OUT parameters (a node without
	// a table); see columnNames.
	outColumns []string
	// grouped is set when the node aggregates (an aggregate in its select list, or one
	// hoisted from a spread below it): its other output columns are its GROUP BY.
	grouped bool
	rel     *meta.Relationship
	inner   bool
	spread  bool
	// rowTyped is set when alias ranges over the relation itself, so that a computed field
	// (a function of the relation's row type) can be applied to it.
	rowTyped bool

	fields   []outField
	children []*node
	where    []cond
	order    []orderBy
	limit    *int64
	offset   *int64
}

type outField struct {
	star     bool
	column   string
	computed *meta.ComputedField
	// agg is set for an aggregate (with rest.aggregates_enabled); a pointer keeps the common
	// field small.
	agg *aggregate
	// countRows is "count" where the relation has no such column: PostgreSQL reads t.count
	// as count(t), which PostgREST's statement relies on, so select=count or embed(count)
	// counts the rows (aggregates enabled or not).
	countRows bool
	json      []JSONStep
	cast      string // SQL type, quoted
	alias     string
	embed     *node
}

type cond struct {
	negate   bool
	logic    string
	children []cond

	column   *meta.Column
	computed *meta.ComputedField
	name     string
	json     []JSONStep
	op       string
	quant    string
	lang     string
	value    string
	values   []string
	// embed is set for "embed=is.null" / "embed=not.is.null" checks.
	embed *node
}

type orderBy struct {
	embed    *node
	computed *meta.ComputedField
	name     string
	json     []JSONStep
	desc     bool
	nulls    string
}

// PlanOptions are the service settings planning depends on.
type PlanOptions struct {
	// MaxRows caps the rows of any read; 0 means no cap.
	MaxRows int64
	// AggregatesEnabled allows count(), sum(), avg(), max() and min() in select=
	// (PostgREST's db-aggregates-enabled); without it they are refused with PGRST123.
	AggregatesEnabled bool
}

type planner struct {
	s        *meta.Schema
	req      *Request
	opts     PlanOptions
	schema   string
	aliases  int
	laterals int
	used     map[string]bool
}

// Plan checks req against the schema cache and resolves every name in it: the schema, the
// table or function, the columns, the relationships of embedded resources and the type of
// every cast.
func Plan(req *Request, s *meta.Schema, opts PlanOptions) (*Query, error) {
	p := &planner{s: s, req: req, opts: opts, used: map[string]bool{}}
	if err := p.resolveSchema(); err != nil {
		return nil, err
	}
	if req.RPC {
		return p.planCall()
	}
	table := s.Table(p.schema, req.Resource)
	if table == nil {
		return nil, p.tableNotFound(req.Resource)
	}
	var (
		q   *Query
		err error
	)
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		q, err = p.planRead(table)
	case http.MethodPost:
		q, err = p.planInsert(table)
	case http.MethodPatch:
		q, err = p.planUpdate(table)
	case http.MethodDelete:
		q, err = p.planDelete(table)
	case http.MethodPut:
		q, err = p.planPut(table)
	default:
		return nil, apiError(http.StatusMethodNotAllowed, CodeUnsupportedMethod, "Unsupported HTTP method: "+req.Method, nil, nil)
	}
	if err != nil {
		return nil, err
	}
	return q, p.checkAllParamsUsed()
}

func (p *planner) resolveSchema() error {
	p.schema = p.req.Schema
	if p.schema == "" {
		p.schema = p.s.Schemas[0]
		return nil
	}
	if !p.s.Exposes(p.schema) {
		return apiError(http.StatusNotAcceptable, CodeBadSchema, "Invalid schema: "+p.schema, nil,
			"Only the following schemas are exposed: "+strings.Join(p.s.Schemas, ", "))
	}
	return nil
}

func (p *planner) tableNotFound(name string) *httpx.AppError {
	var hint any
	var names []string
	for _, t := range p.s.Tables(p.schema) {
		names = append(names, t.Name)
	}
	if best := closest(name, names); best != "" {
		hint = fmt.Sprintf("Perhaps you meant the table '%s.%s'", p.schema, best)
	}
	return apiError(http.StatusNotFound, CodeTableNotFound,
		fmt.Sprintf("Could not find the table '%s.%s' in the schema cache", p.schema, name), nil, hint)
}

func (p *planner) nextAlias() string {
	a := fmt.Sprintf("t%d", p.aliases)
	p.aliases++
	return a
}

func (p *planner) nextLateral() string {
	p.laterals++
	return fmt.Sprintf("e%d", p.laterals)
}

func tableNode(t *meta.Table) *node {
	cols := make(map[string]*meta.Column, len(t.Columns))
	for _, c := range t.Columns {
		cols[c.Name] = c
	}
	return &node{table: t, columns: cols, label: t.Name}
}

// checkEmbedName refuses a second embed of the same name at one level, which would give the
// object two keys of that name. PostgREST's statement names each embed's subquery
// <table>_<name>_<depth>, so there PostgreSQL refuses the repeated alias (42712); the same
// error is given here.
func (n *node) checkEmbedName(child *node) error {
	for _, sibling := range n.children {
		if sibling.name == child.name {
			table := n.label
			if n.table != nil {
				table = n.table.Name
			}
			return apiError(http.StatusBadRequest, "42712",
				fmt.Sprintf("table name \"%s_%s_%d\" specified more than once", table, child.name, child.depth), nil, nil)
		}
	}
	return nil
}

// undefinedColumn is the error for a column n does not have, worded as PostgreSQL words it for
// PostgREST's statement, which names an embedded table <table>_<depth>.
func (n *node) undefinedColumn(column string) *httpx.AppError {
	if n.depth > 0 && n.table != nil {
		return columnNotFound(fmt.Sprintf("%s_%d", n.table.Name, n.depth), column)
	}
	return columnNotFound(n.label, column)
}

// aggregate is an aggregate function applied to a field of select=.
type aggregate struct {
	fn string // sum, avg, max, min or count
	// cast casts the result (quoted SQL type); empty for none.
	cast string
	// all is count(): the rows, not a column's values.
	all bool
	// hoisted marks an aggregate of a to-one spread: the spread's subquery hands the raw value
	// up and the parent aggregates it over its own rows, as PostgREST does.
	hoisted bool
}

// computedField returns the computed field name of n's relation when n reads that relation
// directly and no real column of the same name hides it; nil otherwise.
func (n *node) computedField(name string) *meta.ComputedField {
	if !n.rowTyped || n.table == nil || n.columns[name] != nil {
		return nil
	}
	return n.table.ComputedField(name)
}

func (p *planner) planRead(table *meta.Table) (*Query, error) {
	root := tableNode(table)
	root.alias = p.nextAlias()
	root.rowTyped = true
	if err := p.fillNode(root, p.req.Select); err != nil {
		return nil, err
	}
	q := &Query{kind: kindRead, schema: p.schema, table: table, root: root, media: p.req.Accept, stripNulls: p.req.StripNulls,
		head: p.req.Method == http.MethodHead, count: p.req.Prefer.Count, prefer: p.req.Prefer}
	if err := p.applyRange(q, root); err != nil {
		return nil, err
	}
	return q, nil
}

// applyRange combines limit/offset with the Range header and the max-rows cap on the root.
func (p *planner) applyRange(q *Query, root *node) error {
	var offset int64
	if root.offset != nil {
		offset = *root.offset
	}
	limit := root.limit
	if r := p.req.Range; r != nil && (p.req.Method == http.MethodGet || p.req.Method == http.MethodHead) {
		offset += r.First
		if r.Last >= 0 {
			n := r.Last - r.First + 1
			if limit == nil || n < *limit {
				limit = &n
			}
		}
	}
	if p.opts.MaxRows > 0 && (limit == nil || *limit > p.opts.MaxRows) {
		n := p.opts.MaxRows
		limit = &n
	}
	root.limit = limit
	if offset > 0 {
		root.offset = &offset
	} else {
		root.offset = nil
	}
	q.offset = offset
	return nil
}

// fillNode resolves n's select items, then the filters, order and paging addressed to its path.
func (p *planner) fillNode(n *node, items []SelectItem) error {
	if items == nil {
		items = []SelectItem{{Kind: ItemStar}}
	}
	for _, item := range items {
		switch item.Kind {
		case ItemStar:
			n.fields = append(n.fields, outField{star: true})
		case ItemCount:
			if !p.opts.AggregatesEnabled {
				return aggregatesDisabled()
			}
			f := outField{agg: &aggregate{fn: "count", all: true}, alias: item.Alias}
			if err := p.aggregate(n, &f, item); err != nil {
				return err
			}
			n.fields = append(n.fields, f)
		case ItemColumn:
			if item.Aggregate != "" && !p.opts.AggregatesEnabled {
				return aggregatesDisabled()
			}
			f, err := p.columnField(n, item)
			if err != nil {
				return err
			}
			if item.Aggregate != "" {
				f.agg = &aggregate{fn: item.Aggregate}
				if err := p.aggregate(n, &f, item); err != nil {
					return err
				}
			}
			n.fields = append(n.fields, f)
		case ItemEmbed, ItemSpread:
			child, err := p.embed(n, item)
			if err != nil {
				return err
			}
			if err := n.checkEmbedName(child); err != nil {
				return err
			}
			n.children = append(n.children, child)
			n.fields = append(n.fields, outField{embed: child, alias: child.name})
			if child.spread && child.hasHoisted() {
				n.grouped = true
			}
		}
	}
	return p.applyParams(n)
}

// aggregate completes an aggregated field: its output name is the function's unless aliased
// (as PostgreSQL names the column), its result cast is resolved, and the node groups by its
// other columns; in a to-one spread the aggregate moves up to the parent.
func (p *planner) aggregate(n *node, f *outField, item SelectItem) error {
	if item.AggregateCast != "" {
		cast, err := p.castType(item.AggregateCast)
		if err != nil {
			return err
		}
		f.agg.cast = cast
	}
	if item.Alias != "" {
		f.alias = item.Alias
	} else {
		f.alias = f.agg.fn
	}
	if n.spread && !n.rel.ToOne() {
		// As PostgREST 13: a to-many spread aggregates each column into an array already.
		return apiError(http.StatusBadRequest, CodeNotImplemented, "Feature not implemented",
			"Aggregates are not implemented for one-to-many or many-to-many spreads.", nil)
	}
	if n.spread {
		f.agg.hoisted = true
	} else {
		n.grouped = true
	}
	return nil
}

// columnNames lists n's columns in order: what * stands for.
func (n *node) columnNames() []string {
	if n.table == nil {
		return n.outColumns
	}
	names := make([]string, len(n.table.Columns))
	for i, c := range n.table.Columns {
		names[i] = c.Name
	}
	return names
}

// hoisted reports whether f is an aggregate its node hands up to its parent.
func (f *outField) hoisted() bool { return f.agg != nil && f.agg.hoisted }

// aggregated reports whether f is an aggregate its own node computes.
func (f *outField) aggregated() bool { return f.agg != nil && !f.agg.hoisted }

// hasHoisted reports whether a spread hands an aggregate up to its parent.
func (n *node) hasHoisted() bool {
	for _, f := range n.fields {
		if f.hoisted() || (f.embed != nil && f.embed.spread && f.embed.hasHoisted()) {
			return true
		}
	}
	return false
}

func aggregatesDisabled() error {
	return apiError(http.StatusBadRequest, CodeAggregatesDisabled, "Use of aggregate functions is not allowed", nil, nil)
}

func (p *planner) columnField(n *node, item SelectItem) (outField, error) {
	f := outField{column: item.Field.Name, json: item.Field.JSON, alias: item.Alias}
	if n.columns[item.Field.Name] == nil {
		f.computed = n.computedField(item.Field.Name)
		if f.computed == nil && item.Field.Name == "count" && len(item.Field.JSON) == 0 {
			f.countRows = true
		} else if f.computed == nil {
			return outField{}, n.undefinedColumn(item.Field.Name)
		}
		// A function call's output name is not guaranteed to be the field's, so name it.
		if f.alias == "" {
			f.alias = item.Field.OutputName()
		}
	}
	if item.Cast != "" {
		cast, err := p.castType(item.Cast)
		if err != nil {
			return outField{}, err
		}
		f.cast = cast
	}
	if f.alias == "" && (len(f.json) > 0 || f.cast != "") {
		f.alias = item.Field.OutputName()
	}
	return f, nil
}

// castType resolves a requested cast to a quoted, schema-qualified type known to the cache.
func (p *planner) castType(name string) (string, error) {
	base, array := strings.CutSuffix(name, "[]")
	q, ok := p.s.Type(base)
	if !ok {
		return "", apiError(http.StatusBadRequest, "42704", fmt.Sprintf("type \"%s\" does not exist", base), nil, nil)
	}
	sql := quoteQualified(q)
	if array {
		sql += "[]"
	}
	return sql, nil
}

// applyParams attaches the conditions, order and paging sent for n's path.
func (p *planner) applyParams(n *node) error {
	params := p.req.Nodes[n.path]
	p.used[n.path] = true
	if params == nil {
		return nil
	}
	for _, c := range params.Conditions {
		rc, err := p.condition(n, c)
		if err != nil {
			return err
		}
		n.where = append(n.where, rc)
	}
	for _, t := range params.Order {
		o, err := p.orderTerm(n, t)
		if err != nil {
			return err
		}
		n.order = append(n.order, o)
	}
	n.limit, n.offset = params.Limit, params.Offset
	return nil
}

func (p *planner) condition(n *node, c Condition) (cond, error) {
	if c.Logic != "" {
		out := cond{negate: c.Negate, logic: c.Logic}
		for _, child := range c.Children {
			rc, err := p.condition(n, child)
			if err != nil {
				return cond{}, err
			}
			out.children = append(out.children, rc)
		}
		return out, nil
	}
	out := cond{negate: c.Negate, name: c.Field.Name, json: c.Field.JSON, op: c.Op, quant: c.Quant,
		lang: c.Lang, value: c.Value, values: c.Values}
	if col := n.columns[c.Field.Name]; col != nil {
		out.column = col
		return out, nil
	}
	if cf := n.computedField(c.Field.Name); cf != nil {
		out.computed = cf
		return out, nil
	}
	// embed=is.null / embed=not.is.null test whether an embedded resource matched.
	for _, child := range n.children {
		if child.name == c.Field.Name && len(c.Field.JSON) == 0 {
			if c.Op != "is" || (c.Value != "null" && c.Value != "not_null") {
				return cond{}, apiError(http.StatusBadRequest, CodeBadEmbedFilter,
					fmt.Sprintf("Bad operator on the '%s' embedded resource", child.name),
					"Only is null or not is null filters are allowed on embedded resources", nil)
			}
			out.embed = child
			return out, nil
		}
	}
	return cond{}, n.undefinedColumn(c.Field.Name)
}

func (p *planner) orderTerm(n *node, t OrderTerm) (orderBy, error) {
	o := orderBy{name: t.Field.Name, json: t.Field.JSON, desc: t.Desc, nulls: t.Nulls}
	if t.Relation == "" {
		if n.columns[t.Field.Name] == nil {
			o.computed = n.computedField(t.Field.Name)
			if o.computed == nil {
				return orderBy{}, n.undefinedColumn(t.Field.Name)
			}
		}
		return o, nil
	}
	for _, child := range n.children {
		if child.name != t.Relation {
			continue
		}
		if !child.rel.ToOne() {
			return orderBy{}, apiError(http.StatusBadRequest, CodeRelatedOrder,
				fmt.Sprintf("A related order on '%s' is not possible", child.name),
				fmt.Sprintf("'%s' and '%s' do not form a many-to-one or one-to-one relationship", n.label, child.label), nil)
		}
		if child.columns[t.Field.Name] == nil {
			// PostgREST orders by the embed's subquery, aliased <parent>_<embed>_<depth>.
			return orderBy{}, columnNotFound(fmt.Sprintf("%s_%s_%d", n.label, child.name, child.depth), t.Field.Name)
		}
		o.embed = child
		return o, nil
	}
	return orderBy{}, notEmbedded(t.Relation)
}

func notEmbedded(name string) *httpx.AppError {
	return apiError(http.StatusBadRequest, CodeNotEmbedded,
		fmt.Sprintf("'%s' is not an embedded resource in this request", name), nil,
		fmt.Sprintf("Verify that '%s' is included in the 'select' query parameter.", name))
}

// checkAllParamsUsed refuses filters or paging addressed to an embedding path that the
// select= does not embed.
func (p *planner) checkAllParamsUsed() error {
	var unused []string
	for path := range p.req.Nodes {
		if !p.used[path] {
			unused = append(unused, path)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	slices.Sort(unused)
	return notEmbedded(unused[0])
}

// closest returns the candidate most similar to name when it is similar enough to suggest.
func closest(name string, candidates []string) string { return closestAbove(name, candidates, 0.6) }

// closestAbove returns the candidate most similar to name, if its similarity reaches least.
func closestAbove(name string, candidates []string, least float64) string {
	best, bestScore := "", 0.0
	for _, c := range candidates {
		if s := similarity(name, c); s > bestScore {
			best, bestScore = c, s
		}
	}
	if bestScore < least {
		return ""
	}
	return best
}

// similarity is 1 - edit distance / longer length.
func similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[len(rb)])/float64(max(len(ra), len(rb)))
}
