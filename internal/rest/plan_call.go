package rest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/goforward/goforward/internal/meta"
)

// scalarColumn is the name the result of a function returning a single value gets.
const scalarColumn = "pgrst_scalar"

// planCall plans POST/GET /rpc/{fn}: picks the overload whose parameter names match the
// arguments sent, and plans the result like a table when the function returns rows.
func (p *planner) planCall() (*Query, error) {
	req := p.req
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return nil, apiError(http.StatusMethodNotAllowed, CodeBadRPCMethod, "Cannot use the "+req.Method+" method on RPC", nil, nil)
	}
	overloads := p.s.Functions(p.schema, req.Resource)
	get := req.Method != http.MethodPost

	var (
		keys         []string
		wholeBodyArg bool // the function gets the request body as its one argument
		fn           *meta.Function
	)
	switch {
	case get:
		keys = p.getArgKeys(overloads)
	case req.RawBodyType != "" || req.BodyArray:
	default:
		keys = req.BodyKeys
	}
	var candidates []*meta.Function
	if !req.BodyArray {
		candidates = matchingOverloads(overloads, keys, req.RawBodyType != "")
	}
	if !get && len(candidates) == 0 {
		// PostgREST's fallback: a function whose one parameter is unnamed and of the body's
		// type (json or jsonb for JSON, text, xml, bytea) gets the body whole.
		candidates = unnamedBodyOverloads(overloads, req.RawBodyType)
	}
	if !get && req.RawBodyType == "" && (len(candidates) == 0 || req.Prefer.Params == "single-object") {
		if single := singleJSONParam(overloads); single != nil {
			candidates, wholeBodyArg = []*meta.Function{single}, true
		}
	}
	switch len(candidates) {
	case 0:
		if req.BodyArray {
			return nil, apiError(http.StatusBadRequest, CodeBadBody, "Calling a function with a JSON array body is not supported", nil, nil)
		}
		return nil, p.noFunction(req.Resource, keys, overloads)
	case 1:
		fn = candidates[0]
	default:
		return nil, ambiguousFunction(candidates)
	}
	// A function whose one parameter is unnamed is called with it positionally: the whole
	// body of a POST (also when it was matched by the key "", as PostgREST does), or the JSON
	// object of a GET's arguments.
	unnamed := len(fn.Params) == 1 && fn.Params[0].Name == ""
	wholeBodyArg = wholeBodyArg || (unnamed && !get)
	// max-affected counts the rows a function returns, so it means nothing for one that
	// returns a single value; PostgREST refuses the combination before running anything.
	if req.Prefer.Handling == "strict" && req.Prefer.MaxAffected != nil && !fn.ReturnsSet {
		return nil, apiError(http.StatusBadRequest, CodeMaxAffectedRPC,
			"Function must return SETOF or TABLE when max-affected preference is used with handling=strict", nil, nil)
	}
	// GET and HEAD run any function read-only, VOLATILE ones too (as PostgREST does): one
	// that only reads succeeds, one that writes fails with 25006 (405).
	q := &Query{kind: kindCall, schema: p.schema, function: fn, media: req.Accept, stripNulls: req.StripNulls, head: req.Method == http.MethodHead,
		count: req.Prefer.Count, singleBody: wholeBodyArg || unnamed, prefer: req.Prefer,
		readOnly: get || fn.Volatility != meta.Volatile}
	switch {
	case wholeBodyArg && req.RawBodyType == "bytea":
		// Arguments travel as text: bytea's hex input form carries any bytes.
		q.argsJSON = []byte(`\x` + hex.EncodeToString(req.Body))
	case wholeBodyArg:
		q.argsJSON = req.Body
	case unnamed:
		var err error
		if q.argsJSON, err = p.argsJSON(get, fn); err != nil {
			return nil, err
		}
	default:
		for _, param := range fn.Params {
			if slices.Contains(keys, param.Name) {
				q.args = append(q.args, param)
			}
		}
		var err error
		if q.argsJSON, err = p.argsJSON(get, fn); err != nil {
			return nil, err
		}
	}
	// Query parameters that are not arguments (all of them for POST) filter the result.
	argKeys := keys
	if !get {
		argKeys = nil
	}
	if err := p.parseCallFilters(argKeys); err != nil {
		return nil, err
	}
	root, err := p.callRoot(fn)
	if err != nil {
		return nil, err
	}
	q.root = root
	if err := p.applyRange(q, root); err != nil {
		return nil, err
	}
	return q, p.checkAllParamsUsed()
}

// getArgKeys picks the query parameters of a GET call that are arguments: those naming a
// parameter of some overload, and, as PostgREST reads them, those whose value is not an
// operator expression (they cannot be filters), so an unknown argument is reported as one.
func (p *planner) getArgKeys(overloads []*meta.Function) []string {
	var keys []string
	for _, param := range p.req.Params {
		if slices.Contains(keys, param.Key) {
			continue
		}
		known := slices.ContainsFunc(overloads, func(fn *meta.Function) bool {
			return slices.ContainsFunc(fn.Params, func(x meta.Param) bool { return x.Name == param.Key })
		})
		if _, err := parseOperation(Field{Name: param.Key}, param.Value, false); known || err != nil {
			keys = append(keys, param.Key)
		}
	}
	return keys
}

// parseCallFilters parses the GET parameters that are not arguments as filters on the result.
func (p *planner) parseCallFilters(argKeys []string) error {
	for _, param := range p.req.Params {
		if slices.Contains(argKeys, param.Key) {
			continue
		}
		path, cond, err := parseFilterParam(param.Key, param.Value)
		if err != nil {
			return err
		}
		n := p.req.node(path)
		n.Conditions = append(n.Conditions, cond)
	}
	return nil
}

// matchingOverloads returns the functions that take every key as a named parameter and get
// every parameter without a default. A body that is not JSON is no call without arguments.
func matchingOverloads(overloads []*meta.Function, keys []string, rawBody bool) []*meta.Function {
	var out []*meta.Function
	for _, fn := range overloads {
		if rawBody && len(fn.Params) == 0 {
			continue
		}
		ok := true
		for _, k := range keys {
			if !slices.ContainsFunc(fn.Params, func(x meta.Param) bool { return x.Name == k }) {
				ok = false
				break
			}
		}
		for _, param := range fn.Params {
			if !param.HasDefault && !slices.Contains(keys, param.Name) {
				ok = false
			}
		}
		if ok {
			out = append(out, fn)
		}
	}
	return out
}

// unnamedBodyOverloads returns the functions whose one parameter is unnamed and takes a body
// of rawType ("" is JSON: json or jsonb).
func unnamedBodyOverloads(overloads []*meta.Function, rawType string) []*meta.Function {
	var out []*meta.Function
	for _, fn := range overloads {
		if len(fn.Params) != 1 || fn.Params[0].Name != "" {
			continue
		}
		typ := fn.Params[0].Type
		if typ == rawType || (rawType == "" && (typ == "json" || typ == "jsonb")) {
			out = append(out, fn)
		}
	}
	return out
}

// singleJSONParam finds an overload with one named json/jsonb parameter, which gets the whole
// body when no overload matches the body's keys (or with Prefer: params=single-object).
func singleJSONParam(overloads []*meta.Function) *meta.Function {
	for _, fn := range overloads {
		if len(fn.Params) == 1 && fn.Params[0].Name != "" && (fn.Params[0].BaseType == "json" || fn.Params[0].BaseType == "jsonb") {
			return fn
		}
	}
	return nil
}

// argsJSON is the JSON object json_to_record reads the arguments from: the body of a POST,
// or the query parameters of a GET (a repeated parameter of a variadic function is an array).
func (p *planner) argsJSON(get bool, fn *meta.Function) ([]byte, error) {
	if !get {
		return p.req.Body, nil
	}
	args := map[string]any{}
	for _, param := range fn.Params {
		var values []string
		for _, qp := range p.req.Params {
			if qp.Key == param.Name {
				values = append(values, qp.Value)
			}
		}
		switch {
		case len(values) == 0:
		case param.Variadic:
			args[param.Name] = values
		default:
			args[param.Name] = values[len(values)-1]
		}
	}
	return json.Marshal(args)
}

func (p *planner) callRoot(fn *meta.Function) (*node, error) {
	var root *node
	switch {
	case fn.ReturnTable != nil && p.s.Table(fn.ReturnTable.Schema, fn.ReturnTable.Name) != nil:
		root = tableNode(p.s.Table(fn.ReturnTable.Schema, fn.ReturnTable.Name))
		// The call's rows are of the table's type: its computed fields apply to them.
		root.rowTyped = true
	case len(fn.OutColumns) > 0:
		root = &node{columns: map[string]*meta.Column{}, label: fn.Name}
		for _, c := range fn.OutColumns {
			root.columns[c.Name] = &meta.Column{Name: c.Name, Type: c.Type, BaseType: c.BaseType, Nullable: true}
			root.outColumns = append(root.outColumns, c.Name)
		}
	default:
		root = &node{columns: map[string]*meta.Column{}, label: fn.Name}
		if fn.ReturnsScalar() {
			root.alias = p.nextAlias()
			root.fields = []outField{{column: scalarColumn}}
			p.used[""] = true
			if n := p.req.Nodes[""]; n != nil && len(n.Conditions)+len(n.Order) > 0 {
				return nil, queryParamError("filters and order need a function that returns rows", fn.Name+" returns "+fn.ReturnType)
			}
			if n := p.req.Nodes[""]; n != nil {
				root.limit, root.offset = n.Limit, n.Offset
			}
			return root, nil
		}
	}
	root.label = fn.Name
	root.alias = p.nextAlias()
	return root, p.fillNode(root, p.req.Select)
}

func (p *planner) noFunction(name string, keys []string, overloads []*meta.Function) error {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	qualified := p.schema + "." + name
	sig, params := " without parameters", " without parameters"
	if len(sorted) > 0 {
		sig = "(" + strings.Join(sorted, ", ") + ")"
		params = " with parameter"
		if len(sorted) > 1 {
			params += "s"
		}
		params += " " + strings.Join(sorted, ", ")
	}
	if raw := p.req.RawBodyType; raw != "" {
		// A body that is not JSON can only have been meant for one unnamed parameter.
		return apiError(http.StatusNotFound, CodeNoFunction,
			fmt.Sprintf("Could not find the function %s in the schema cache", qualified),
			fmt.Sprintf("Searched for the function %s with a single unnamed %s parameter, but no matches were found in the schema cache.", qualified, raw),
			nil)
	}
	var hint any
	if len(overloads) > 0 {
		// The overload whose parameter list is closest to the arguments sent.
		lists := make([]string, len(overloads))
		for i, fn := range overloads {
			names := make([]string, len(fn.Params))
			for j, x := range fn.Params {
				names[j] = x.Name
			}
			slices.Sort(names)
			lists[i] = "(" + strings.Join(names, ", ") + ")"
		}
		if best := closestAbove("("+strings.Join(sorted, ", ")+")", lists, 0.33); best != "" {
			hint = fmt.Sprintf("Perhaps you meant to call the function %s%s", qualified, best)
		}
	} else {
		var all []string
		for _, fn := range p.s.AllFunctions(p.schema) {
			all = append(all, fn.Name)
		}
		if best := closest(name, all); best != "" {
			hint = fmt.Sprintf("Perhaps you meant to call the function %s.%s", p.schema, best)
		}
	}
	// Only a JSON body could have gone to a single json/jsonb parameter.
	if p.req.Method == http.MethodPost {
		params += " or with a single unnamed json/jsonb parameter"
	}
	return apiError(http.StatusNotFound, CodeNoFunction,
		fmt.Sprintf("Could not find the function %s%s in the schema cache", qualified, sig),
		fmt.Sprintf("Searched for the function %s%s, but no matches were found in the schema cache.", qualified, params),
		hint)
}

func ambiguousFunction(fns []*meta.Function) error {
	var sigs []string
	for _, fn := range fns {
		var params []string
		for _, x := range fn.Params {
			params = append(params, x.Name+" => "+x.Type)
		}
		sigs = append(sigs, fmt.Sprintf("%s.%s(%s)", fn.Schema, fn.Name, strings.Join(params, ", ")))
	}
	return apiError(http.StatusMultipleChoices, CodeAmbiguousFunction,
		"Could not choose the best candidate function between: "+strings.Join(sigs, ", "), nil,
		"Try renaming the parameters or the function itself in the database so function overloading can be resolved")
}
