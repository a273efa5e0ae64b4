package restbench

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/rest"
)

// MaxRows is the service's rest.max_rows during the benchmark (the configuration default). The
// in-process planner must use the same value, or the LIMIT it binds would differ from the
// service's.
const MaxRows = 1000

// call is one prepared request: what goes over HTTP, and the statement and scope the service
// runs for it, rendered in-process by the service's own parser, planner and builder.
type call struct {
	url    string // the service's URL for the request
	target string // the request's path and query
	body   []byte
	stmts  []db.Statement
	scope  db.RequestScope
	header http.Header
	// naiveURL and naiveHeader address the same request to the naive reference server, the
	// header naming the call so that it can skip parsing. naiveURL is set once it runs.
	naiveURL    string
	naiveHeader http.Header
}

// clientSpec is what every HTTP call carries.
type clientSpec struct {
	baseURL string // the service
	apiKey  string
	gzip    bool
}

// requestHeader is the header the load generator sends for w. net/http's client adds
// User-Agent (and Accept-Encoding when it accepts gzip) itself.
func (c clientSpec) requestHeader(w Workload) http.Header {
	h := http.Header{}
	h.Set("apikey", c.apiKey)
	h.Set("Authorization", "Bearer "+c.apiKey)
	if w.Body != nil {
		h.Set("Content-Type", "application/json")
	}
	if w.Prefer != "" {
		h.Set("Prefer", w.Prefer)
	}
	return h
}

// serverHeader is the header the service sees for a call: the sent one plus what net/http's
// client adds. It becomes request.headers, whose size is part of the settings statement.
func (c clientSpec) serverHeader(w Workload, body []byte) http.Header {
	h := c.requestHeader(w)
	h.Set("User-Agent", "Go-http-client/1.1")
	if c.gzip {
		h.Set("Accept-Encoding", "gzip")
	}
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return h
}

// prepareCalls renders count calls of w for random posts below posts, the same sequence for
// every variant (seeded by the workload's position).
func prepareCalls(w Workload, index int, count, posts int, c clientSpec, schema *meta.Schema) ([]call, error) {
	claims, err := tokenClaims(c.apiKey)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(index)+1, 4))
	calls := make([]call, count)
	for i := range calls {
		n := rng.IntN(posts) + 1
		target := rest.Prefix + w.Path
		if q := w.Query(n); q != "" {
			target += "?" + q
		}
		var body []byte
		if w.Body != nil {
			body = w.Body(n)
		}
		stmts, err := buildStatements(w, target, body, c, schema)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", w.Method, target, err)
		}
		naiveHeader := c.requestHeader(w)
		naiveHeader.Set(NaiveCallHeader, w.Name+"/"+strconv.Itoa(i))
		calls[i] = call{
			url:         c.baseURL + target,
			target:      target,
			naiveHeader: naiveHeader,
			body:        body,
			stmts:       stmts,
			header:      c.requestHeader(w),
			scope: db.RequestScope{
				Role:    db.RoleAnon,
				Claims:  claims,
				Method:  w.Method,
				Path:    w.Path,
				Headers: c.serverHeader(w, body),
			},
		}
	}
	return calls, nil
}

// buildStatements runs the service's Parse, Plan and Build on the request and returns the
// statements its handler would pipeline after the role and claims settings.
func buildStatements(w Workload, target string, body []byte, c clientSpec, schema *meta.Schema) ([]db.Statement, error) {
	r, err := http.NewRequest(w.Method, "http://127.0.0.1"+target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header = c.serverHeader(w, body)
	req, err := rest.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	q, err := rest.Plan(&req, schema, rest.PlanOptions{MaxRows: MaxRows})
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	stmts, _ := rest.Pipeline(q, rest.Build(q, rest.BuildOptions{MaxRows: MaxRows}))
	return stmts, nil
}

// tokenClaims is a JWT's payload exactly as signed: what the gateway hands the service as the
// caller's claims.
func tokenClaims(token string) (json.RawMessage, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("apikey is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("apikey payload: %w", err)
	}
	return payload, nil
}
