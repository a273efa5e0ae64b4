package restbench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/bench/load"
)

// recordedRequest is what a recording server saw of one request.
type recordedRequest struct {
	method, target string
	header         http.Header
	body           string
}

// recorder is a loopback server that keeps the first limit requests it sees, counts them
// all, and answers each with status.
type recorder struct {
	mu       sync.Mutex
	limit    int
	handled  int64
	requests []recordedRequest
}

func startRecorder(t *testing.T, limit, status int) (*recorder, string) {
	rec := &recorder{limit: limit}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.handled++
		if len(rec.requests) < rec.limit {
			rec.requests = append(rec.requests, recordedRequest{r.Method, r.RequestURI, r.Header.Clone(), string(body)})
		}
		rec.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func newTestWrkRunner(t *testing.T) *wrkRunner {
	path, err := exec.LookPath("wrk")
	require.NoError(t, err, "wrk is a test dependency: scripts/deps.sh test installs it")
	r, err := newWrkRunner(path)
	require.NoError(t, err)
	t.Cleanup(r.close)
	return r
}

// testBench is a bench with count prepared calls of workload w, enough for wrkCalls: what
// prepareCalls renders for the HTTP variants, without the statements.
func testBench(w Workload, count int) *bench {
	spec := clientSpec{baseURL: "http://127.0.0.1:1", apiKey: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLV8"}
	calls := make([]call, count)
	for i := range calls {
		calls[i] = call{target: "/rest/v1" + w.Path, naiveHeader: spec.requestHeader(w)}
		if q := w.Query(i + 1); q != "" {
			calls[i].target += "?" + q
		}
		if w.Body != nil {
			calls[i].body = w.Body(i + 1)
		}
		calls[i].naiveHeader.Set(NaiveCallHeader, w.Name+"/"+strconv.Itoa(i))
	}
	return &bench{spec: spec, workloads: []Workload{w}, calls: map[string][]call{w.Name: calls}}
}

// TestWrkScriptSendsTheCallsInOrderWithTheServiceHeaders runs real wrk over loopback against a
// recording server: the generated script must send every call, in order and over again, with
// exactly the headers the service sees from the Go client (serverHeader, which becomes
// request.headers), and the same bodies.
func TestWrkScriptSendsTheCallsInOrderWithTheServiceHeaders(t *testing.T) {
	t.Parallel()
	odd := Workload{
		Name: "odd", Method: http.MethodPost, Path: "/bench_events", Status: http.StatusCreated,
		Query:  func(n int) string { return "columns=kind,payload&n=" + strconv.Itoa(n) },
		Body:   func(n int) []byte { return []byte("quote \" backslash \\ é\n\ttab \x00\x7f " + strconv.Itoa(n)) },
		Prefer: "return=minimal",
	}
	workloads := Workloads()
	for _, tc := range []struct {
		name  string
		w     Workload
		naive bool
	}{
		{"read", workloads[0], false},
		{"insert", workloads[3], false},
		{"insert to the naive server", workloads[3], true},
		{"body needing escapes", odd, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const count = 7
			b := testBench(tc.w, count)
			calls := b.wrkCalls(tc.w, tc.naive)
			runner := newTestWrkRunner(t)
			script, err := runner.writeScript("calls", calls, false)
			require.NoError(t, err)
			rec, url := startRecorder(t, 5*count, tc.w.Status)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, cpu, err := runner.runOnce(ctx, script, url, 1, time.Second, true)
			require.NoError(t, err)
			require.Positive(t, cpu)
			o, err := parseWrkOutput(out)
			require.NoError(t, err)
			require.Zero(t, o.result().Errors)

			rec.mu.Lock()
			defer rec.mu.Unlock()
			// One connection: at most the call in flight when wrk stopped is not counted.
			require.GreaterOrEqual(t, rec.handled, o.Completed)
			require.LessOrEqual(t, rec.handled, o.Completed+1)
			require.Len(t, rec.requests, 5*count, "wrk sent %d requests in a second", rec.handled)
			want := make([]recordedRequest, count)
			for i, c := range b.calls[tc.w.Name] {
				header := b.spec.serverHeader(tc.w, c.body)
				if tc.naive {
					header.Set(NaiveCallHeader, tc.w.Name+"/"+strconv.Itoa(i))
				}
				want[i] = recordedRequest{tc.w.Method, c.target, header, string(c.body)}
			}
			// wrk calls request() once before the run to look at what it returns, so the run
			// may start a call later; from there the calls come in order, over and over.
			first := slices.IndexFunc(want, func(r recordedRequest) bool { return reflect.DeepEqual(r, rec.requests[0]) })
			require.GreaterOrEqual(t, first, 0, "wrk sent %+v, which is none of the calls", rec.requests[0])
			for i, got := range rec.requests {
				require.Equal(t, want[(first+i)%count], got, "request %d", i)
			}
		})
	}
}

// TestWrkProbeCatchesWhatTheServerRejects sends the probe through real wrk to a server that
// rejects a wrong apikey as the gateway does: a wrong header must stop the run before it
// measures a table of 401s, and the right one must pass.
func TestWrkProbeCatchesWhatTheServerRejects(t *testing.T) {
	t.Parallel()
	w := Workloads()[0]
	good := testBench(w, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") != good.spec.apiKey {
			rw.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(rw, `{"message":"Invalid API key"}`)
			return
		}
		_, _ = io.WriteString(rw, `[{"id":1}]`)
	}))
	defer srv.Close()
	bad := testBench(w, 3)
	bad.spec.apiKey = "wrong"

	runner := newTestWrkRunner(t)
	goodProbe, err := runner.writeScript("good", good.wrkCalls(w, false), true)
	require.NoError(t, err)
	badProbe, err := runner.writeScript("bad", bad.wrkCalls(w, false), true)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, runner.probe(ctx, goodProbe, srv.URL, http.StatusOK))
	err = runner.probe(ctx, badProbe, srv.URL, http.StatusOK)
	require.ErrorContains(t, err, "status 401")
	require.ErrorContains(t, err, "Invalid API key")
}

// TestWrkMeasureCountsWarmupAndRejectedCalls measures through real wrk as a round does: the
// warm-up's calls count towards the processor time's denominator only, and responses the
// server rejects are errors.
func TestWrkMeasureCountsWarmupAndRejectedCalls(t *testing.T) {
	t.Parallel()
	w := Workloads()[0]
	runner := newTestWrkRunner(t)
	script, err := runner.writeScript("pk", testBench(w, 5).wrkCalls(w, false), false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, okURL := startRecorder(t, 0, http.StatusOK)
	res, cpu, err := runner.measure(ctx, script, okURL, load.Config{Concurrency: 2, Duration: time.Second, Warmup: time.Second})
	require.NoError(t, err)
	require.Positive(t, cpu)
	require.Positive(t, res.Requests)
	require.Zero(t, res.Errors)
	require.Greater(t, res.AllCalls, res.Requests, "the warm-up's calls are counted")
	require.Positive(t, res.PerSecond())

	_, rejectURL := startRecorder(t, 0, http.StatusUnauthorized)
	res, _, err = runner.measure(ctx, script, rejectURL, load.Config{Concurrency: 2, Duration: time.Second, Warmup: -1})
	require.NoError(t, err)
	require.Positive(t, res.Requests)
	require.Equal(t, res.Requests, res.Errors)
	require.Equal(t, res.Requests, res.AllCalls, "no warm-up")
	require.ErrorContains(t, res.FirstError, "non-2xx")
}
