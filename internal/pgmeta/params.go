package pgmeta

import (
	"net/url"
	"strconv"
	"strings"
)

// systemSchemas are left out of most lists unless include_system_schemas=true, as
// postgres-meta's DEFAULT_SYSTEM_SCHEMAS are.
var systemSchemas = []string{"information_schema", "pg_catalog", "pg_toast"}

// listParams are the query parameters of postgres-meta's list routes. Each route reads the
// ones it has; the others are accepted and ignored, as postgres-meta ignores unknown ones.
type listParams struct {
	includeSystemSchemas bool
	included, excluded   []string
	limit, offset        *int64 // nil: none (postgres-meta also treats 0 as none)
	includeColumns       *bool  // nil: the route's default
	includeArrayTypes    bool
	includeDefaultRoles  bool
}

func parseList(q url.Values) (listParams, error) {
	var p listParams
	var err error
	if p.includeSystemSchemas, err = boolParam(q, "include_system_schemas"); err != nil {
		return p, err
	}
	if p.includeArrayTypes, err = boolParam(q, "include_array_types"); err != nil {
		return p, err
	}
	if p.includeDefaultRoles, err = boolParam(q, "include_default_roles"); err != nil {
		return p, err
	}
	if q.Has("include_columns") {
		v, err := boolParam(q, "include_columns")
		if err != nil {
			return p, err
		}
		p.includeColumns = &v
	}
	p.included = listParam(q, "included_schemas")
	p.excluded = listParam(q, "excluded_schemas")
	if p.limit, err = countParam(q, "limit"); err != nil {
		return p, err
	}
	if p.offset, err = countParam(q, "offset"); err != nil {
		return p, err
	}
	return p, nil
}

// boolParam reads true or false; absent or empty is false.
func boolParam(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, badRequest("querystring/%s must be boolean (got %q)", name, v)
	}
}

// listParam splits a comma-separated list ("public,core"), dropping blanks.
func listParam(q url.Values, name string) []string {
	out := []string{}
	for _, part := range strings.Split(q.Get(name), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// countParam reads a non-negative integer; absent or 0 is nil, meaning no limit or offset.
func countParam(q url.Values, name string) (*int64, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, badRequest("querystring/%s must be a non-negative integer (got %q)", name, v)
	}
	if n == 0 {
		return nil, nil
	}
	return &n, nil
}

// schemaFilter returns the schemas to keep and to leave out, as postgres-meta's filterByList:
// a non-empty included list wins; otherwise the excluded ones go, with the system schemas
// when the route leaves them out by default.
func (p listParams) schemaFilter(excludeSystem bool) (included, excluded []string) {
	excluded = p.excluded
	if excludeSystem && !p.includeSystemSchemas {
		excluded = append(append([]string{}, systemSchemas...), p.excluded...)
	}
	return p.included, excluded
}
