package db

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestConstantStringAllocs: the roles and methods every request's settings carry are boxed
// without a heap allocation, whatever string value they arrive in. Not parallel:
// testing.AllocsPerRun counts the whole process's allocations.
func TestConstantStringAllocs(t *testing.T) {
	for _, v := range []string{RoleAnon, RoleAuthenticated, RoleServiceRole, http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		runtime := strings.Clone(v) // not the constant itself, as a request's fields are not
		var boxed any
		if allocs := testing.AllocsPerRun(100, func() { boxed = constantString(runtime) }); allocs != 0 {
			t.Errorf("%s: %v allocations", v, allocs)
		}
		if boxed != v {
			t.Errorf("boxed %v, want %s", boxed, v)
		}
	}
}

// TestHeadersJSON: request.headers holds the very JSON json.Marshal wrote for the map of
// lower-cased names to first values, credentials left out, whatever the names' case and the
// values' bytes.
func TestHeadersJSON(t *testing.T) {
	cases := []http.Header{
		{},
		{"User-Agent": {"supabase-js/2"}, "Apikey": {"secret"}, "Authorization": {"Bearer x"}, "Cookie": {"a=b"}},
		{"X-Odd": {"<tag> & \"quote\" \\ \n\r\t\b\f \x01 \x7f \u2028 \u2029 é 日本"}, "Accept": {"a", "b"}, "Empty": {}},
		{"X-Invalid": {"\xff\xfe ok \xc3"}, "x-lower": {"1"}, "X-Upper": {"2"}, "AUTHORIZATION": {"hidden"}},
		{"Ünïcode-Name": {"v"}, "Prefer": {"return=minimal"}, "Content-Type": {"application/json"}},
	}
	for _, h := range cases {
		want := map[string]string{}
		for name, values := range h {
			lower := strings.ToLower(name)
			if len(values) == 0 || headersHiddenFromSQL[lower] {
				continue
			}
			want[lower] = values[0]
		}
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := headersJSON(h); got != string(wantJSON) {
			t.Errorf("headersJSON(%v)\n got %s\nwant %s", h, got, wantJSON)
		}
	}
}

// TestHeadersJSONAllocs: publishing a request's headers costs one allocation (the string),
// not one per header.
func TestHeadersJSONAllocs(t *testing.T) {
	h := http.Header{"User-Agent": {"supabase-js/2"}, "Apikey": {"k"}, "Authorization": {"Bearer t"},
		"Accept": {"*/*"}, "Content-Type": {"application/json"}, "Prefer": {"return=minimal"}, "X-Client-Info": {"supabase-js-web/2.50.0"}}
	if allocs := testing.AllocsPerRun(100, func() { _ = headersJSON(h) }); allocs > 2 {
		t.Errorf("%v allocations", allocs)
	}
}
