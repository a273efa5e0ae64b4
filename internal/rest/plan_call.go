package rest

import (
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
		keys       []string
		singleBody bool
		fn         *meta.Function
	)
	if get {
		keys = p.getArgKeys(overloads)
	} else {
		if req.BodyArray {
			return nil, apiError(http.StatusBadRequest, CodeBadBody, "Calling a function with a JSON array body is not supported", nil, nil)
		}
		keys = req.BodyKeys
	}
	candidates := matchingOverloads(overloads, keys)
	if !get && (len(candidates) == 0 || req.Prefer.Params == "single-object") {
		if single := singleJSONParam(overloads); single != nil {
			candidates, singleBody = []*meta.Function{single}, true
		}
	}
	switch len(candidates) {
	case 0:
		return nil, p.noFunction(req.Resource, keys, overloads)
	case 1:
		fn = candidates[0]
	default:
		return nil, ambiguousFunction(candidates)
	}
	// max-affected counts the rows a function returns, so it means nothing for one that
	// returns a single value; PostgREST refuses the combination before running anything.
	if req.Prefer.Handling == "strict" && req.Prefer.MaxAffected != nil && !fn.ReturnsSet {
		return nil, apiError(http.StatusBadRequest, CodeMaxAffectedRPC,
			"Function must return SETOF or TABLE when max-affected preference is used with handling=strict", nil, nil)
	}
	// GET and HEAD run any function read-only, VOLATILE ones too (as PostgREST does): one
	// that only reads succeeds, one that writes fails with 25006 (405).
	q := &Query{kind: kindCall, schema: p.schema, function: fn, media: req.Accept, stripNulls: req.StripNulls, head: req.Method == http.MethodHead,
		count: req.Prefer.Count, singleBody: singleBody, prefer: req.Prefer,
		readOnly: get || fn.Volatility != meta.Volatile}
	if singleBody {
		q.argsJSON = req.Body
	} else {
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
// every parameter without a default.
func matchingOverloads(overloads []*meta.Function, keys []string) []*meta.Function {
	var out []*meta.Function
	for _, fn := range overloads {
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

// singleJSONParam finds an overload with one json/jsonb parameter, which gets the whole body.
func singleJSONParam(overloads []*meta.Function) *meta.Function {
	for _, fn := range overloads {
		if len(fn.Params) == 1 && (fn.Params[0].BaseType == "json" || fn.Params[0].BaseType == "jsonb") {
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
	case len(fn.OutColumns) > 0:
		root = &node{columns: map[string]*meta.Column{}, label: fn.Name}
		for _, c := range fn.OutColumns {
			root.columns[c.Name] = &meta.Column{Name: c.Name, Type: c.Type, BaseType: c.BaseType, Nullable: true}
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
	var hint any
	if len(overloads) > 0 {
		names := make([]string, len(overloads[0].Params))
		for i, x := range overloads[0].Params {
			names[i] = x.Name
		}
		slices.Sort(names)
		hint = fmt.Sprintf("Perhaps you meant to call the function %s(%s)", qualified, strings.Join(names, ", "))
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
