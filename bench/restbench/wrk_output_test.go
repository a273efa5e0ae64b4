package restbench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The samples are wrk 4.1.0's real output (Debian's package), taken against small loopback
// servers: one answering 5 ms late, one answering every third request with 401, one closing
// every fifth connection and answering every seventh request 1.5 s late (--timeout 1s), and
// one answering after 1.2 s.
const (
	wrkSampleClean = `Running 2s test @ http://127.0.0.1:34269/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.88ms    1.74ms  23.41ms   93.31%
    Req/Sec     4.56k   403.98     5.26k    75.00%
  Latency Distribution
     50%    6.53ms
     75%    7.10ms
     90%    7.90ms
     99%   16.56ms
  9095 requests in 2.01s, 1.10MB read
Requests/sec:   4530.74
Transfer/sec:    561.92KB
`
	wrkSampleNon2xx = `Running 1s test @ http://127.0.0.1:45235/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   559.24us    0.92ms   8.02ms   89.44%
    Req/Sec    11.84k     4.78k   20.40k    80.00%
  Latency Distribution
     50%  212.00us
     75%  425.00us
     90%    1.57ms
     99%    4.68ms
  11762 requests in 1.00s, 1.54MB read
  Non-2xx or 3xx responses: 3920
Requests/sec:  11711.95
Transfer/sec:      1.53MB
`
	wrkSampleSocketErrors = `Running 2s test @ http://127.0.0.1:36229/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   818.81us    1.08ms   4.44ms   88.37%
    Req/Sec   104.00    121.62   190.00    100.00%
  Latency Distribution
     50%  299.00us
     75%    1.04ms
     90%    2.39ms
     99%    4.44ms
  47 requests in 2.01s, 5.88KB read
  Socket errors: connect 0, read 12, write 0, timeout 4
Requests/sec:     23.35
Transfer/sec:      2.92KB
`
	wrkSampleSeconds = `Running 3s test @ http://127.0.0.1:45845/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   378.30us   1.20s    75.00%
    Req/Sec     1.00      0.00     1.00    100.00%
  Latency Distribution
     50%    1.20s 
     75%    1.20s 
     90%    1.20s 
     99%    1.20s 
  4 requests in 3.03s, 512.00B read
Requests/sec:      1.32
Transfer/sec:     169.08B
`
)

func TestParseWrkOutputReadsThroughputLatencyAndErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		out    string
		want   wrkOutput
		errors int64 // in load's terms
	}{
		{"clean", wrkSampleClean, wrkOutput{
			Completed: 9095, PerSecond: 4530.74,
			P50: 6530 * time.Microsecond, P90: 7900 * time.Microsecond, P99: 16560 * time.Microsecond, Max: 23410 * time.Microsecond,
		}, 0},
		{"non-2xx", wrkSampleNon2xx, wrkOutput{
			Completed: 11762, PerSecond: 11711.95, Non2xx: 3920,
			P50: 212 * time.Microsecond, P90: 1570 * time.Microsecond, P99: 4680 * time.Microsecond, Max: 8020 * time.Microsecond,
		}, 3920},
		{"socket errors", wrkSampleSocketErrors, wrkOutput{
			Completed: 47, PerSecond: 23.35, Read: 12, Timeout: 4,
			P50: 299 * time.Microsecond, P90: 2390 * time.Microsecond, P99: 4440 * time.Microsecond, Max: 4440 * time.Microsecond,
		}, 16},
		{"seconds", wrkSampleSeconds, wrkOutput{
			Completed: 4, PerSecond: 1.32,
			P50: 1200 * time.Millisecond, P90: 1200 * time.Millisecond, P99: 1200 * time.Millisecond, Max: 1200 * time.Millisecond,
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseWrkOutput(tc.out)
			require.NoError(t, err)
			// The run time comes from the rate (two decimals of seconds in "requests in"
			// would be coarser): completed ÷ rate.
			require.InDelta(t, float64(tc.want.Completed)/tc.want.PerSecond, got.Elapsed.Seconds(), 1e-6)
			got.Elapsed = 0
			// wrk prints two decimals: compare to the microsecond.
			for _, d := range []*time.Duration{&got.P50, &got.P90, &got.P99, &got.Max} {
				*d = d.Round(time.Microsecond)
			}
			require.Equal(t, tc.want, got)

			res := got.result()
			require.Equal(t, tc.errors, res.Errors)
			require.Equal(t, tc.want.Completed+tc.want.Connect+tc.want.Read+tc.want.Write, res.Requests)
			require.Equal(t, res.Requests, res.AllCalls)
			if tc.errors > 0 {
				require.ErrorContains(t, res.FirstError, "wrk: ")
			} else {
				require.NoError(t, res.FirstError)
			}
		})
	}
}

func TestParseWrkOutputRejectsAReportWithoutTheLatencyDistribution(t *testing.T) {
	t.Parallel()
	withoutLatency := `Running 1s test @ http://127.0.0.1:45235/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   559.24us    0.92ms   8.02ms   89.44%
    Req/Sec    11.84k     4.78k   20.40k    80.00%
  11762 requests in 1.00s, 1.54MB read
Requests/sec:  11711.95
Transfer/sec:      1.53MB
`
	_, err := parseWrkOutput(withoutLatency)
	require.ErrorContains(t, err, "--latency")
	_, err = parseWrkOutput("unable to connect to 127.0.0.1:53357 Connection refused\n")
	require.Error(t, err)
}
