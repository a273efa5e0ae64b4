package rest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/httpx"
)

// Prefix is where the REST service is mounted.
const Prefix = "/rest/v1"

// Parse reads a /rest/v1 request: the path, the query string in PostgREST's grammar, the
// Prefer, Accept, Range and profile headers and, for writes and POST RPC, the body. It checks
// syntax only; Plan checks the names against the schema. Errors are *httpx.AppError values
// in PostgREST's shape (PGRST100 for a malformed parameter, PGRST102 for a bad body, ...).
func Parse(r *http.Request) (Request, error) {
	req := Request{Method: r.Method, Nodes: map[string]*NodeParams{}}
	if err := parsePath(&req, r.URL.Path); err != nil {
		return req, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		req.Schema = r.Header.Get("Accept-Profile")
	default:
		req.Schema = r.Header.Get("Content-Profile")
	}
	var err error
	if req.Prefer, err = parsePrefer(r.Header.Values("Prefer")); err != nil {
		return req, err
	}
	if req.Accept, req.StripNulls, err = parseAccept(r.Header.Get("Accept"), req.Resource == "" && !req.RPC); err != nil {
		var planErr error
		if req.Plan, planErr = parsePlanAccept(r.Header.Get("Accept")); planErr != nil {
			return req, planErr
		}
		if req.Plan == nil {
			return req, err
		}
		// The representation the plan is for.
		if req.Accept, req.StripNulls, err = parseAccept(req.Plan.For, false); err != nil {
			return req, err
		}
	}
	if req.Range, err = parseRangeHeader(r.Header.Get("Range"), r.Header.Get("Range-Unit")); err != nil {
		return req, err
	}
	if err := parseQuery(&req, r.URL.RawQuery); err != nil {
		return req, err
	}
	if err := readBody(&req, r); err != nil {
		return req, err
	}
	return req, nil
}

func parsePath(req *Request, path string) error {
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return apiError(http.StatusNotFound, CodeBadPath, "Invalid path specified in request URL", nil, nil)
	}
	rest = strings.TrimPrefix(rest, "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "":
	case len(parts) == 1:
		req.Resource = parts[0]
	case len(parts) == 2 && parts[0] == "rpc" && parts[1] != "":
		req.Resource, req.RPC = parts[1], true
	default:
		return apiError(http.StatusNotFound, CodeBadPath, "Invalid path specified in request URL", nil, nil)
	}
	return nil
}

// splitQuery splits a raw query string into decoded key/value pairs, keeping their order
// (url.ParseQuery would group them by key). '+' decodes to a space, as browsers encode it.
func splitQuery(raw string) ([]Param, error) {
	var out []Param
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, queryParamError("failed to parse query string", err.Error())
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, queryParamError("failed to parse query string", err.Error())
		}
		out = append(out, Param{Key: key, Value: value})
	}
	return out, nil
}

func (r *Request) node(path string) *NodeParams {
	n := r.Nodes[path]
	if n == nil {
		n = &NodeParams{}
		r.Nodes[path] = n
	}
	return n
}

func parseQuery(req *Request, raw string) error {
	params, err := splitQuery(raw)
	if err != nil {
		return err
	}
	for _, p := range params {
		switch p.Key {
		case "apikey":
			// The gateway accepts the key here too; it is never a filter.
			continue
		case "select":
			items, err := parseSelect(p.Value)
			if err != nil {
				return err
			}
			req.Select = items
			continue
		case "columns":
			cols, err := parseColumnList(p.Value)
			if err != nil {
				return queryParamError("failed to parse columns parameter ("+p.Value+")", err.Error())
			}
			req.Columns = cols
			continue
		case "on_conflict":
			cols, err := parseColumnList(p.Value)
			if err != nil {
				return queryParamError("failed to parse on_conflict parameter ("+p.Value+")", err.Error())
			}
			req.OnConflict = cols
			continue
		}
		path, word, reserved := reservedParam(p.Key)
		if reserved {
			if err := applyReserved(req.node(path), word, p); err != nil {
				return err
			}
			continue
		}
		req.Params = append(req.Params, p)
		if req.RPC {
			continue
		}
		path, cond, err := parseFilterParam(p.Key, p.Value)
		if err != nil {
			return err
		}
		n := req.node(path)
		n.Conditions = append(n.Conditions, cond)
	}
	return nil
}

// reservedParam recognises order, limit, offset, or, and, not.or and not.and, at the top
// level or prefixed by an embedding path ("author.order").
func reservedParam(key string) (path, word string, ok bool) {
	head := key
	if i := strings.Index(key, "->"); i >= 0 {
		head = key[:i]
	}
	if head != key {
		return "", "", false
	}
	segs := strings.Split(key, ".")
	last := segs[len(segs)-1]
	switch last {
	case "order", "limit", "offset", "or", "and":
		if last == "or" || last == "and" {
			if len(segs) >= 2 && segs[len(segs)-2] == "not" {
				return strings.Join(segs[:len(segs)-2], "."), "not." + last, true
			}
		}
		return strings.Join(segs[:len(segs)-1], "."), last, true
	}
	return "", "", false
}

func applyReserved(n *NodeParams, word string, p Param) error {
	switch word {
	case "order":
		terms, err := parseOrder(p.Value)
		if err != nil {
			return err
		}
		n.Order = terms
	case "limit", "offset":
		v, err := strconv.ParseInt(p.Value, 10, 64)
		if err != nil || v < 0 {
			return queryParamError(fmt.Sprintf("failed to parse %s parameter (%s)", word, p.Value),
				"expected a non-negative integer")
		}
		if word == "limit" {
			n.Limit = &v
		} else {
			n.Offset = &v
		}
	default:
		negate := strings.HasPrefix(word, "not.")
		cond, err := parseLogicTree(strings.TrimPrefix(word, "not."), negate, p.Value)
		if err != nil {
			return queryParamError(fmt.Sprintf("failed to parse logic tree (%s)", p.Value), err.Error())
		}
		n.Conditions = append(n.Conditions, cond)
	}
	return nil
}

// parseColumnList parses columns= and on_conflict=: names separated by commas, each
// optionally double-quoted (postgrest-js quotes them).
func parseColumnList(v string) ([]string, error) {
	c := &cursor{s: v}
	var out []string
	for {
		c.skipSpaces()
		name, err := c.identifier()
		if err != nil {
			return nil, err
		}
		out = append(out, name)
		c.skipSpaces()
		if c.done() {
			return out, nil
		}
		if !c.eat(",") {
			return nil, c.errorf("expected \",\"")
		}
	}
}

func readBody(req *Request, r *http.Request) error {
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
	default:
		return nil
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return httpx.AsAppError(fmt.Errorf("read request body: %w", err))
	}
	req.Body = body
	if req.RPC && r.Method == http.MethodPost {
		if req.RawBodyType = rawBodyType(r.Header.Get("Content-Type")); req.RawBodyType != "" {
			return nil
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if req.RPC {
			req.Body = []byte("{}")
			return nil
		}
		return apiError(http.StatusBadRequest, CodeBadBody, "Empty or invalid json", nil, nil)
	}
	keys, isArray, err := scanBodyKeys(body)
	switch {
	case errors.Is(err, errNotAllObjects):
		return apiError(http.StatusBadRequest, CodeBadBody, "All object keys must match", nil, nil)
	case err != nil:
		// PostgREST gives no parser details, only this message.
		return apiError(http.StatusBadRequest, CodeBadBody, "Empty or invalid json", nil, nil)
	}
	req.BodyKeys, req.BodyArray = keys, isArray
	return nil
}

// rawBodyType maps the Content-Type of a function call whose body PostgREST passes whole to a
// single unnamed parameter to that parameter's type; "" for JSON (and anything else).
func rawBodyType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch mt {
	case "text/plain":
		return "text"
	case "text/xml":
		return "xml"
	case "application/octet-stream":
		return "bytea"
	}
	return ""
}
