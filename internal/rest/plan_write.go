package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/goforward/goforward/internal/meta"
)

// writeRoot plans the response of a write: the rows the mutation returns, with select=,
// embeds and order applied. Top-level filters belong to the mutation, not to this.
func (p *planner) writeRoot(table *meta.Table) (*node, error) {
	root := tableNode(table)
	root.alias = p.nextAlias()
	items := p.req.Select
	saved := p.req.Nodes[""]
	if saved != nil {
		p.req.Nodes[""] = &NodeParams{Order: saved.Order}
	}
	err := p.fillNode(root, items)
	if saved != nil {
		p.req.Nodes[""] = saved
	}
	return root, err
}

// writeTarget resolves the top-level filters of PATCH, DELETE and PUT against the table.
func (p *planner) writeTarget(table *meta.Table) (*node, error) {
	target := tableNode(table)
	target.alias = "t0"
	params := p.req.Nodes[""]
	if params == nil {
		return target, nil
	}
	for _, c := range params.Conditions {
		rc, err := p.condition(target, c)
		if err != nil {
			return nil, err
		}
		target.where = append(target.where, rc)
	}
	return target, nil
}

func (p *planner) writeQuery(kind queryKind, table *meta.Table) (*Query, error) {
	root, err := p.writeRoot(table)
	if err != nil {
		return nil, err
	}
	ret := p.req.Prefer.Return
	if ret == "" {
		ret = "minimal"
	}
	return &Query{kind: kind, schema: p.schema, table: table, root: root, media: p.req.Accept, stripNulls: p.req.StripNulls,
		count: p.req.Prefer.Count, body: p.req.Body, returning: ret, prefer: p.req.Prefer}, nil
}

// writeColumns checks the columns a write sets: columns= when given, else the body's keys.
func (p *planner) writeColumns(table *meta.Table) ([]string, error) {
	cols := p.req.Columns
	if cols == nil {
		cols = p.req.BodyKeys
	}
	for _, c := range cols {
		if table.Column(c) == nil {
			return nil, columnNotInCache(table.Name, c)
		}
	}
	return cols, nil
}

func (p *planner) planInsert(table *meta.Table) (*Query, error) {
	q, err := p.writeQuery(kindInsert, table)
	if err != nil {
		return nil, err
	}
	if q.columns, err = p.writeColumns(table); err != nil {
		return nil, err
	}
	q.body = asArray(p.req.Body, p.req.BodyArray)
	q.missing = p.req.Prefer.Missing == "default"
	if res := p.req.Prefer.Resolution; res != "" {
		q.onConflict = p.req.OnConflict
		if q.onConflict == nil {
			q.onConflict = table.PrimaryKey
		}
		for _, c := range q.onConflict {
			if table.Column(c) == nil {
				return nil, columnNotFound(table.Name, c)
			}
		}
		// Without a conflict target (no primary key, no on_conflict) PostgREST ignores the
		// resolution: a plain insert, and no resolution in Preference-Applied.
		if len(q.onConflict) > 0 {
			q.resolution = res
		}
	}
	return q, nil
}

func (p *planner) planUpdate(table *meta.Table) (*Query, error) {
	q, err := p.writeQuery(kindUpdate, table)
	if err != nil {
		return nil, err
	}
	if q.columns, err = p.writeColumns(table); err != nil {
		return nil, err
	}
	q.body = asArray(p.req.Body, p.req.BodyArray)
	if q.target, err = p.writeTarget(table); err != nil {
		return nil, err
	}
	if len(q.target.where) == 0 {
		return nil, apiError(http.StatusBadRequest, codeSafeUpdate, "UPDATE requires a WHERE clause", nil, nil)
	}
	return q, nil
}

func (p *planner) planDelete(table *meta.Table) (*Query, error) {
	q, err := p.writeQuery(kindDelete, table)
	if err != nil {
		return nil, err
	}
	if q.target, err = p.writeTarget(table); err != nil {
		return nil, err
	}
	if len(q.target.where) == 0 {
		return nil, apiError(http.StatusBadRequest, codeSafeUpdate, "DELETE requires a WHERE clause", nil, nil)
	}
	return q, nil
}

// planPut plans PUT, a single-row upsert: the filters must be eq on exactly the primary key,
// and the body's key values must be those filters' values.
func (p *planner) planPut(table *meta.Table) (*Query, error) {
	badFilters := apiError(http.StatusMethodNotAllowed, CodeBadPutFilters,
		"Filters must include all and only primary key columns with 'eq' operators", nil, nil)
	params := p.req.Nodes[""]
	if params == nil || len(table.PrimaryKey) == 0 {
		return nil, badFilters
	}
	if params.Limit != nil || params.Offset != nil {
		return nil, apiError(http.StatusBadRequest, CodePutLimit, "limit/offset querystring parameters are not allowed for PUT", nil, nil)
	}
	values := map[string]string{}
	for _, c := range params.Conditions {
		if c.Logic != "" || c.Negate || c.Op != "eq" || c.Quant != "" || len(c.Field.JSON) > 0 ||
			!slices.Contains(table.PrimaryKey, c.Field.Name) {
			return nil, badFilters
		}
		values[c.Field.Name] = c.Value
	}
	if len(values) != len(table.PrimaryKey) {
		return nil, badFilters
	}
	if p.req.BodyArray {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "PUT requires a single JSON object in the body", nil, nil)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(p.req.Body, &body); err != nil {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "Empty or invalid json", nil, nil)
	}
	for _, pk := range table.PrimaryKey {
		if jsonScalarText(body[pk]) != values[pk] {
			return nil, apiError(http.StatusBadRequest, CodePutPrimaryKey, "Payload values do not match URL in primary key column(s)", nil, nil)
		}
	}
	q, err := p.writeQuery(kindPut, table)
	if err != nil {
		return nil, err
	}
	if q.columns, err = p.writeColumns(table); err != nil {
		return nil, err
	}
	q.body = asArray(p.req.Body, false)
	q.onConflict = table.PrimaryKey
	q.resolution = "merge-duplicates"
	return q, nil
}

// jsonScalarText renders a JSON scalar as the text a filter would carry: strings unquoted,
// numbers and booleans as written; a missing value is "\x00" so it never matches.
func jsonScalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "\x00"
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return fmt.Sprint(string(raw))
}
