package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/meta"
)

// serveOpenAPI answers GET /rest/v1/ with a Swagger 2.0 description of the exposed schema,
// built from the schema cache as PostgREST does and, as its default openapi-mode =
// follow-privileges does, limited to what the caller's role may reach: relations it holds a
// privilege on (the methods it may use on them, the columns it holds a privilege on) and the
// functions it may execute.
func (s *Service) serveOpenAPI(w http.ResponseWriter, r *http.Request, req *Request, schema *meta.Schema, scope db.RequestScope, adm *Admission) error {
	if s.cfg.OpenAPIDisabled {
		return apiError(http.StatusNotFound, "PGRST126", "Root endpoint metadata is disabled", nil, nil)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return apiError(http.StatusMethodNotAllowed, CodeUnsupportedMethod, "Unsupported HTTP method: "+r.Method, nil, nil)
	}
	p := &planner{s: schema, req: req, used: map[string]bool{}}
	if err := p.resolveSchema(); err != nil {
		return err
	}
	visible, err := s.reachOf(r.Context(), scope, p.schema)
	if err != nil {
		return err
	}
	adm.filterOpenAPI(visible, p.schema)
	doc := openAPIDocument(schema, p.schema, r.Host, visible)
	w.Header().Set("Content-Type", "application/openapi+json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(w).Encode(doc)
}

type object = map[string]any

func openAPIDocument(s *meta.Schema, schema, host string, visible *reach) object {
	paths := object{"/": object{"get": object{
		"tags": []string{"Introspection"}, "summary": "OpenAPI description (this document)",
		"produces":  []string{"application/openapi+json", "application/json"},
		"responses": object{"200": object{"description": "OK"}},
	}}}
	definitions := object{}
	for _, t := range s.Tables(schema) {
		rel, ok := visible.relations[t.Name]
		if !ok {
			continue
		}
		var cols []*meta.Column
		for _, c := range t.Columns {
			if slices.Contains(rel.Columns, c.Name) {
				cols = append(cols, c)
			}
		}
		definitions[t.Name] = tableDefinition(t, cols)
		paths["/"+t.Name] = tablePath(t, cols, rel)
	}
	for _, fn := range s.AllFunctions(schema) {
		if visible.functions[fn.OID] {
			paths["/rpc/"+fn.Name] = functionPath(fn)
		}
	}
	return object{
		"swagger": "2.0",
		"info": object{
			"title":       "Go Forward REST API",
			"description": "PostgREST-compatible API over the " + schema + " schema",
			"version":     "12",
		},
		"host":        host,
		"basePath":    Prefix + "/",
		"schemes":     []string{"http", "https"},
		"consumes":    []string{"application/json", "application/vnd.pgrst.object+json", "text/csv"},
		"produces":    []string{"application/json", "application/vnd.pgrst.object+json", "text/csv"},
		"paths":       paths,
		"definitions": definitions,
		"parameters":  commonParameters(),
	}
}

// tableDefinition describes t's row with the columns cols.
func tableDefinition(t *meta.Table, cols []*meta.Column) object {
	props := object{}
	var required []string
	for _, c := range cols {
		typ, format := swaggerType(c.BaseType), c.Type
		prop := object{"type": typ, "format": format}
		var notes []string
		if c.Description != "" {
			notes = append(notes, c.Description)
		}
		for _, pk := range t.PrimaryKey {
			if pk == c.Name {
				notes = append(notes, "Note:\nThis is a Primary Key.<pk/>")
			}
		}
		if len(notes) > 0 {
			prop["description"] = strings.Join(notes, "\n\n")
		}
		if c.MaxLength > 0 {
			prop["maxLength"] = c.MaxLength
		}
		if len(c.Enum) > 0 {
			prop["enum"] = c.Enum
		}
		if c.HasDefault {
			prop["default"] = c.Default
		}
		if typ == "array" {
			prop["items"] = object{"type": swaggerType(strings.TrimPrefix(c.BaseType, "_"))}
		}
		props[c.Name] = prop
		if !c.Nullable && !c.HasDefault && !c.Identity && !c.Generated {
			required = append(required, c.Name)
		}
	}
	def := object{"type": "object", "properties": props}
	if len(required) > 0 {
		def["required"] = required
	}
	if t.Description != "" {
		def["description"] = t.Description
	}
	return def
}

func swaggerType(base string) string {
	switch {
	case strings.HasPrefix(base, "_"):
		return "array"
	case base == "int2" || base == "int4" || base == "int8":
		return "integer"
	case base == "float4" || base == "float8" || base == "numeric":
		return "number"
	case base == "bool":
		return "boolean"
	case base == "json" || base == "jsonb":
		return "object"
	}
	return "string"
}

// tablePath describes the methods rel allows on t, filtering by the columns cols.
func tablePath(t *meta.Table, cols []*meta.Column, rel relationReach) object {
	ref := func(name string) object { return object{"$ref": "#/parameters/" + name} }
	var rowFilters []any
	for _, c := range cols {
		rowFilters = append(rowFilters, object{"name": c.Name, "in": "query", "required": false, "type": "string", "format": c.Type})
	}
	body := object{"name": t.Name, "in": "body", "required": false, "schema": object{"$ref": "#/definitions/" + t.Name}}
	path := object{}
	if rel.Select {
		path["get"] = object{
			"tags": []string{t.Name}, "summary": t.Description,
			"parameters": append(append([]any{}, rowFilters...), ref("select"), ref("order"), ref("range"), ref("rangeUnit"),
				ref("offset"), ref("limit"), ref("preferCount")),
			"responses": object{"200": object{"description": "OK", "schema": object{"type": "array", "items": object{"$ref": "#/definitions/" + t.Name}}},
				"206": object{"description": "Partial Content"}},
		}
	}
	if t.Insertable && rel.Insert {
		path["post"] = object{"tags": []string{t.Name}, "parameters": []any{body, ref("select"), ref("preferPost")},
			"responses": object{"201": object{"description": "Created"}}}
	}
	if t.Updatable && rel.Update {
		path["patch"] = object{"tags": []string{t.Name}, "parameters": append(append([]any{}, rowFilters...), body, ref("preferReturn")),
			"responses": object{"204": object{"description": "No Content"}}}
	}
	if t.Deletable && rel.Delete {
		path["delete"] = object{"tags": []string{t.Name}, "parameters": append(append([]any{}, rowFilters...), ref("preferReturn")),
			"responses": object{"204": object{"description": "No Content"}}}
	}
	return path
}

func functionPath(fn *meta.Function) object {
	props := object{}
	var required []string
	for _, p := range fn.Params {
		props[p.Name] = object{"type": swaggerType(p.BaseType), "format": p.Type}
		if !p.HasDefault {
			required = append(required, p.Name)
		}
	}
	args := object{"type": "object", "properties": props}
	if len(required) > 0 {
		args["required"] = required
	}
	path := object{"post": object{
		"tags": []string{"(rpc) " + fn.Name}, "summary": fn.Description,
		"parameters": []any{object{"name": "args", "in": "body", "required": true, "schema": args}},
		"responses":  object{"200": object{"description": "OK"}},
	}}
	// Any function may be called with GET (read-only), as PostgREST's description says.
	var query []any
	for _, p := range fn.Params {
		query = append(query, object{"name": p.Name, "in": "query", "required": !p.HasDefault, "type": swaggerType(p.BaseType), "format": p.Type})
	}
	path["get"] = object{"tags": []string{"(rpc) " + fn.Name}, "summary": fn.Description, "parameters": query,
		"responses": object{"200": object{"description": "OK"}}}
	return path
}

func commonParameters() object {
	header := func(name, desc string, enum ...string) object {
		o := object{"name": name, "in": "header", "required": false, "type": "string", "description": desc}
		if len(enum) > 0 {
			o["enum"] = enum
		}
		return o
	}
	query := func(name, desc string) object {
		return object{"name": name, "in": "query", "required": false, "type": "string", "description": desc}
	}
	return object{
		"select":       query("select", "Filtering Columns"),
		"order":        query("order", "Ordering"),
		"offset":       query("offset", "Limiting and Pagination"),
		"limit":        query("limit", "Limiting and Pagination"),
		"range":        header("Range", "Limiting and Pagination"),
		"rangeUnit":    object{"name": "Range-Unit", "in": "header", "required": false, "type": "string", "default": "items", "description": "Limiting and Pagination"},
		"preferCount":  header("Prefer", "Preference", "count=none", "count=exact", "count=planned", "count=estimated"),
		"preferReturn": header("Prefer", "Preference", "return=representation", "return=minimal", "return=none"),
		"preferPost": header("Prefer", "Preference", "return=representation", "return=minimal", "return=none",
			"resolution=ignore-duplicates", "resolution=merge-duplicates"),
	}
}
