package sqlguard_test

import (
	"strconv"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/goforward/goforward/internal/sqlguard"
)

// benchQueries are select 1-sized requests, what POST /pg/query's overhead target is about.
var benchQueries = []struct{ name, sql string }{
	{"select1", "select 1"},
	{"point", "select id, name, email from public.users where id = 42"},
	{"update", "update public.posts set title = 'x', updated_at = now() where id = 7"},
	{"three", "begin; insert into t (a) values (1); commit"},
}

// BenchmarkAnalyze is parse + split + classify + fingerprint, without a catalog: "cold" makes
// every request new (a comment with a counter), "repeated" sends the same text each time, as a
// dashboard does, which the cache of recent requests answers.
func BenchmarkAnalyze(b *testing.B) {
	for _, q := range benchQueries {
		b.Run(q.name+"/cold", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := sqlguard.Analyze(q.sql + " -- " + strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(q.name+"/repeated", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sqlguard.Analyze(q.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseOnly is pg_query's parse alone, the floor under Analyze.
func BenchmarkParseOnly(b *testing.B) {
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pg_query.Parse(q.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFormat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlguard.Format(benchQueries[2].sql); err != nil {
			b.Fatal(err)
		}
	}
}
