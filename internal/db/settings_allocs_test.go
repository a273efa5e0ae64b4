package db

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestSettingsValues: the settings' parameters are the scope's values in text form, an empty
// one is an empty string (never NULL), and claims default to {"role": role}.
func TestSettingsValues(t *testing.T) {
	scope := RequestScope{Role: RoleAnon, Method: http.MethodGet, Path: "/rest/v1/items",
		Headers: http.Header{"User-Agent": {"x"}}, ClientIP: netip.MustParseAddr("::ffff:10.0.0.7"), RequestID: "req-1"}
	values, err := scope.settings(context.Background(), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"anon", `{"role":"anon"}`, "GET", "/rest/v1/items", `{"user-agent":"x"}`, "1500", "10.0.0.7", "req-1", ""}
	if len(values) != len(want) {
		t.Fatalf("%d values, want %d", len(values), len(want))
	}
	for i, v := range values {
		if string(v) != want[i] || v == nil {
			t.Errorf("value %d = %q (nil %v), want %q", i+1, v, v == nil, want[i])
		}
	}
	scope.Claims = []byte(`{"role":"anon","sub":"s"}`)
	scope.ClientIP = netip.Addr{}
	if values, err = scope.settings(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if string(values[1]) != `{"role":"anon","sub":"s"}` || string(values[6]) != "" || values[6] == nil || string(values[5]) != "0" {
		t.Errorf("values %q", values)
	}
}

// TestSettingsAllocs: a request's settings cost two allocations (one buffer for every value
// and the list of them), whatever the headers. Not parallel: testing.AllocsPerRun counts the
// whole process's allocations.
func TestSettingsAllocs(t *testing.T) {
	scope := RequestScope{Role: RoleAuthenticated, Method: http.MethodGet, Path: "/rest/v1/items",
		Claims: []byte(`{"sub":"8d0e2a4c-7b2f-4c61-9a57-3f1e2d4b5c6a","role":"authenticated","exp":1796753176}`),
		Headers: http.Header{"User-Agent": {"supabase-js/2"}, "Apikey": {"k"}, "Authorization": {"Bearer t"},
			"Accept": {"*/*"}, "Content-Type": {"application/json"}, "Prefer": {"return=minimal"}, "X-Client-Info": {"supabase-js-web/2.50.0"}},
		ClientIP: netip.MustParseAddr("127.0.0.1"), RequestID: "0123456789abcdef", SearchPath: `"public", "extensions"`}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = scope.settings(context.Background(), time.Second) }); allocs > 2 {
		t.Errorf("%v allocations", allocs)
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
		if got := string(appendHeadersJSON(nil, h)); got != string(wantJSON) {
			t.Errorf("headersJSON(%v)\n got %s\nwant %s", h, got, wantJSON)
		}
	}
}

// TestEncodeText: arguments share one buffer, yet each keeps its own bytes when the buffer
// grows, an empty string stays an empty string, and nil and nil pointers are NULL.
func TestEncodeText(t *testing.T) {
	long := strings.Repeat("x", 300)
	var nilPointer *string
	values, err := encodeText(pgtype.NewMap(), []any{"", nil, "a", 42, nilPointer, long, "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []*string{ptr(""), nil, ptr("a"), ptr("42"), nil, ptr(long), ptr("b")}
	for i, v := range values {
		switch {
		case want[i] == nil && v != nil:
			t.Errorf("argument %d = %q, want NULL", i+1, v)
		case want[i] != nil && (v == nil || string(v) != *want[i]):
			t.Errorf("argument %d = %q (nil %v), want %q", i+1, v, v == nil, *want[i])
		}
	}
	types := pgtype.NewMap()
	if allocs := testing.AllocsPerRun(100, func() { _, _ = encodeText(types, []any{"a", 7, "c"}) }); allocs > 2 {
		t.Errorf("three arguments: %v allocations", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = encodeText(types, nil) }); allocs > 0 {
		t.Errorf("no arguments: %v allocations", allocs)
	}
}

func ptr(s string) *string { return &s }
