package restbench

import (
	"fmt"
	"net/http"
)

// Workload is one kind of request the benchmark sends. Calls differ only in which row they
// name: n is a post id between 1 and the number of seeded posts, and the author is the one
// that post belongs to.
type Workload struct {
	// Name identifies the workload in flags and tables.
	Name string
	// Title says what the request does, for the report.
	Title string
	// Method and Path (under /rest/v1) address the request.
	Method string
	Path   string
	// Query renders the query string of the call for post n.
	Query func(n int) string
	// Body renders the JSON body of the call for post n; nil for reads.
	Body func(n int) []byte
	// Prefer is the Prefer header sent, if any.
	Prefer string
	// Status is the HTTP status every call must answer with.
	Status int
}

// Read reports whether the workload only reads (it runs in a read-only transaction).
func (w Workload) Read() bool { return w.Method == http.MethodGet }

func authorOf(n int) int { return (n-1)/PostsPerAuthor + 1 }

// Workloads are the requests issue 4 asks about, in report order.
func Workloads() []Workload {
	return []Workload{
		{
			Name:   "pk",
			Title:  "GET one row by primary key",
			Method: http.MethodGet,
			Path:   "/bench_posts",
			Query:  func(n int) string { return fmt.Sprintf("select=*&id=eq.%d", n) },
			Status: http.StatusOK,
		},
		{
			Name:   "list100",
			Title:  "GET 100 rows with a filter and order",
			Method: http.MethodGet,
			Path:   "/bench_posts",
			Query: func(n int) string {
				return fmt.Sprintf("select=*&author_id=eq.%d&order=created_at.desc&limit=100", authorOf(n))
			},
			Status: http.StatusOK,
		},
		{
			Name:   "embed",
			Title:  "GET 10 rows, each with its many-to-one embed",
			Method: http.MethodGet,
			Path:   "/bench_posts",
			Query: func(n int) string {
				return fmt.Sprintf("select=id,title,rating,author:bench_authors(id,name)&author_id=eq.%d&order=id&limit=10", authorOf(n))
			},
			Status: http.StatusOK,
		},
		{
			Name:   "insert",
			Title:  "POST one row (Prefer: return=minimal)",
			Method: http.MethodPost,
			Path:   "/bench_events",
			Query:  func(int) string { return "" },
			Body: func(n int) []byte {
				return fmt.Appendf(nil, `{"kind":"view","payload":{"post":%d}}`, n)
			},
			Prefer: "return=minimal",
			Status: http.StatusCreated,
		},
	}
}
