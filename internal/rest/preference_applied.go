package rest

import (
	"strconv"
	"strings"
)

// preferenceApplied is the Preference-Applied header: the preferences that took effect for
// q's kind of request, in the order PostgREST lists them (resolution, missing, return, params,
// count, tx, handling, max-affected). A resolution is applied only where the insert has a
// conflict target; max-affected only with handling=strict, on PATCH, DELETE and RPC.
func (q *Query) preferenceApplied() string {
	p, k, resolution := q.prefer, q.kind, q.resolution
	var out []string
	add := func(ok bool, pref string) {
		if ok {
			out = append(out, pref)
		}
	}
	write := k == kindInsert || k == kindUpdate || k == kindDelete || k == kindPut
	add(k == kindInsert && resolution != "", "resolution="+resolution)
	add((k == kindInsert || k == kindUpdate) && p.Missing != "", "missing="+p.Missing)
	add(write && p.Return != "", "return="+p.Return)
	add(k == kindCall && p.Params != "", "params="+p.Params)
	add(p.Count != "", "count="+p.Count)
	add(p.Tx != "", "tx="+p.Tx)
	add(p.Handling != "", "handling="+p.Handling)
	if p.MaxAffected != nil && p.Handling == "strict" && (k == kindUpdate || k == kindDelete || k == kindCall) {
		out = append(out, "max-affected="+strconv.FormatInt(*p.MaxAffected, 10))
	}
	return strings.Join(out, ", ")
}
