package rest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/goforward/goforward/internal/meta"
	"github.com/goforward/goforward/internal/rest"
)

// internalIdentifiers are the aliases the builder itself writes into SQL.
func internalIdentifier(name string) bool {
	switch name {
	case "_pgrst_t", "pgrst_source", "_b", "_e", "_args", "_k", "_pgrst_c", "j", "pgrst_scalar", "pg_catalog":
		return true
	}
	if len(name) < 2 {
		return false
	}
	switch name[0] {
	case 't', 'e', 'j':
		return strings.Trim(name[1:], "0123456789") == ""
	case '_':
		return name[1] == 'e' && strings.Trim(name[2:], "0123456789") == ""
	}
	return false
}

// schemaIdentifiers lists every name the schema cache knows: schemas, relations, columns,
// computed fields, functions, their parameters and the types a cast may name.
func schemaIdentifiers(s *meta.Schema) map[string]bool {
	known := map[string]bool{}
	for _, schema := range s.Schemas {
		known[schema] = true
		for _, t := range s.Tables(schema) {
			known[t.Name] = true
			for _, c := range t.Columns {
				known[c.Name] = true
			}
			for _, f := range t.ComputedFields {
				known[f.Function.Schema] = true
				known[f.Function.Name] = true
			}
		}
		for _, fn := range s.AllFunctions(schema) {
			known[fn.Name] = true
			for _, p := range fn.Params {
				known[p.Name] = true
			}
		}
	}
	return known
}

// outputNames are the keys a request gives its response (aliases, JSON keys, embed names):
// they reach SQL only as quoted column labels.
func outputNames(items []rest.SelectItem, into map[string]bool) {
	for _, it := range items {
		into[it.Alias] = true
		into[it.Relation] = true
		into[it.Field.OutputName()] = true
		outputNames(it.Children, into)
	}
}

// quotedIdentifiers returns the double-quoted identifiers of sql and the text outside them.
func quotedIdentifiers(sql string) (idents []string, outside string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		if sql[i] != '"' {
			b.WriteByte(sql[i])
			continue
		}
		var id strings.Builder
		i++
		for ; i < len(sql); i++ {
			if sql[i] == '"' {
				if i+1 < len(sql) && sql[i+1] == '"' {
					id.WriteByte('"')
					i++
					continue
				}
				break
			}
			id.WriteByte(sql[i])
		}
		if i >= len(sql) {
			return nil, "", false
		}
		idents = append(idents, id.String())
		b.WriteString("IDENT")
	}
	return idents, b.String(), true
}

// literalsAllowed are the only string literals the builder writes itself.
func literalsOnlyOurs(outside string) bool {
	for _, lit := range []string{"'[]'", "'null'", "','", "''", "E'\\n'", "'response.headers'", "'response.status'"} {
		outside = strings.ReplaceAll(outside, lit, "")
	}
	return !strings.Contains(outside, "'")
}

// FuzzParse feeds arbitrary query strings through Parse, Plan and Build. It asserts that
// nothing panics and that every request either fails or yields SQL whose identifiers all come
// from the schema cache (or are the request's own output labels, quoted), with no string
// literal from the request: values travel only as bind arguments.
func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"posts", "select=id,title&id=eq.1"},
		{"posts", "select=id,authors!author_id(name)&order=authors(name).desc"},
		{"posts", "or=(id.eq.1,and(rating.gt.4,tags.cs.{math}))"},
		{"posts", "select=id,labels(label)&labels.order=id&labels.limit=1"},
		{"posts", "title=like(any).{A*,B*}&id=not.in.(1,\"2\")"},
		{"authors", "select=x:meta->a->>b,born::text&meta->>lang=eq.fi"},
		{"authors", "select=name,posts!author_id!inner(title,comments(text))&posts.published=is.true"},
		{"posts", "search=fts(english).engine&body=phfts.a b"},
		{"rpc/posts_by", "author=1&select=id&order=id.desc"},
		{"rpc/add", "a=1&b=2"},
		{"posts", "select=*,...authors!author_id(n:name)&reviewer_id=isdistinct.2"},
		{"posts", `select="a""b":title&order=id.asc.nullsfirst`},
		{"authors", "select=id,label:display_name,post_count::text&or=(display_name.like.A*,post_count.gt.1)&order=display_name.desc"},
		{"posts", "select=title,authors!author_id(display_name)&authors.post_count=gte.1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	s := fixtureSchema(f)
	known := schemaIdentifiers(s)
	f.Fuzz(func(t *testing.T, resource, query string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: rest.Prefix + "/" + resource, RawQuery: query}, Header: http.Header{}}
		req, err := rest.Parse(r)
		if err != nil {
			return
		}
		q, err := rest.Plan(&req, s, rest.PlanOptions{MaxRows: 100})
		if err != nil {
			return
		}
		stmt := rest.Build(q, rest.BuildOptions{MaxRows: 100})
		labels := map[string]bool{}
		outputNames(req.Select, labels)
		for _, sql := range []*rest.Statement{&stmt, stmt.Explain} {
			if sql == nil {
				continue
			}
			idents, outside, ok := quotedIdentifiers(sql.SQL)
			if !ok {
				t.Fatalf("unterminated identifier in %s", sql.SQL)
			}
			for _, id := range idents {
				if !known[id] && !internalIdentifier(id) && !labels[id] {
					if _, isType := s.Type(id); !isType {
						t.Fatalf("identifier %q is not from the schema cache in %s", id, sql.SQL)
					}
				}
			}
			if !literalsOnlyOurs(outside) {
				t.Fatalf("a string literal reached the SQL text: %s", sql.SQL)
			}
		}
	})
}
