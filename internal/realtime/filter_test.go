package realtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want [][3]string // column, op, values joined by |
		neg  []bool
	}{
		{"user_id=eq.42", [][3]string{{"user_id", "eq", "42"}}, []bool{false}},
		{"email=eq.a.b@example.com", [][3]string{{"email", "eq", "a.b@example.com"}}, []bool{false}},
		{`name=eq."Oslo, Norway"`, [][3]string{{"name", "eq", "Oslo, Norway"}}, []bool{false}},
		{`name=eq.Oslo\, Norway`, [][3]string{{"name", "eq", "Oslo, Norway"}}, []bool{false}},
		{`q=eq."say \"hi\" \\ bye"`, [][3]string{{"q", "eq", `say "hi" \ bye`}}, []bool{false}},
		{`id=in.(1,2,"3,4")`, [][3]string{{"id", "in", "1|2|3,4"}}, []bool{false}},
		{"a=gt.1,b=not.eq.x", [][3]string{{"a", "gt", "1"}, {"b", "eq", "x"}}, []bool{false, true}},
		{"deleted_at=is.null", [][3]string{{"deleted_at", "is", "null"}}, []bool{false}},
		{"title=ilike.*hello*", [][3]string{{"title", "ilike", "*hello*"}}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseFilters(tt.in)
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i, f := range got {
				values := ""
				for j, v := range f.values {
					if j > 0 {
						values += "|"
					}
					values += v
				}
				require.Equal(t, tt.want[i], [3]string{f.column, f.op, values})
				require.Equal(t, tt.neg[i], f.negate)
			}
		})
	}
}

func TestParseFiltersRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"noequals", "=eq.1", "a=between.1", "a=eq", "a=in.1,2", "a=in.()", `a=eq."open`, "a=is.maybe",
	} {
		_, err := parseFilters(in)
		require.Error(t, err, in)
	}
}

func TestFilterMatchesByType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter, category, typeName string
		row                        string
		present, want              bool
	}{
		{"n=gt.9", "N", "int4", "10", true, true},
		{"n=gt.9", "N", "int4", "10", false, false},
		{"n=lt.9", "N", "numeric", "8.999", true, true},
		{"n=eq.1.50", "N", "numeric", "1.5", true, true},
		{"n=in.(1,2)", "N", "int8", "2", true, true},
		{"n=neq.2", "N", "int8", "2", true, false},
		{"b=eq.true", "B", "bool", "t", true, true},
		{"b=is.false", "B", "bool", "f", true, true},
		{"d=is.null", "N", "int4", "", false, true},
		{"d=not.is.null", "N", "int4", "", false, false},
		{"t=gte.2024-06-01T00:00:00Z", "D", "timestamptz", "2024-06-01 02:00:00+02", true, true},
		{"t=lt.2024-06-01", "D", "date", "2024-05-31", true, true},
		{"u=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "U", "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", true, true},
		{"s=gt.b", "S", "text", "c", true, true},
		{"s=like.Ja%", "S", "text", "Jane", true, true},
		{"s=like.ja%", "S", "text", "Jane", true, false},
		{"s=ilike.ja%", "S", "text", "Jane", true, true},
		{"s=isdistinct.x", "S", "text", "", false, true},
	}
	for _, tt := range tests {
		fs, err := parseFilters(tt.filter)
		require.NoError(t, err, tt.filter)
		require.NoError(t, fs[0].typed(tt.category, tt.typeName), tt.filter)
		require.Equal(t, tt.want, fs[0].matches(tt.row, tt.present), "%s on %q", tt.filter, tt.row)
	}
}

func TestFilterValuesMustFitTheColumnType(t *testing.T) {
	t.Parallel()
	fs, err := parseFilters("n=eq.abc")
	require.NoError(t, err)
	require.ErrorContains(t, fs[0].typed("N", "int4"), `invalid input syntax for type int4: "abc"`)
}

func FuzzParseFilters(f *testing.F) {
	f.Add(`a=in.(1,"2,3"),b=not.eq."x\"y"`)
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseFilters(s)
		if err != nil {
			return
		}
		for _, flt := range fs {
			if flt.typed("S", "text") == nil {
				flt.matches("value", true)
			}
		}
	})
}
