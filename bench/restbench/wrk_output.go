package restbench

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goforward/goforward/bench/load"
)

// wrkOutput is what wrk 4 prints at the end of a run with --latency.
type wrkOutput struct {
	Completed int64         // "N requests in T": responses received, whatever their status
	Elapsed   time.Duration // T
	PerSecond float64       // "Requests/sec:"; every response, whatever its status
	P50, P90  time.Duration // "Latency Distribution"
	P99, Max  time.Duration // Max from the "Latency" line of "Thread Stats"
	// Non2xx counts "Non-2xx or 3xx responses" (wrk counts statuses above 399).
	Non2xx int64
	// Connect, Read, Write and Timeout are the "Socket errors" line. wrk counts a response
	// that arrived after --timeout both as completed and as a timeout.
	Connect, Read, Write, Timeout int64
}

// parseWrkOutput reads wrk's report from its standard output.
func parseWrkOutput(out string) (wrkOutput, error) {
	var (
		o                  wrkOutput
		sawTotal, sawRate  bool
		sawLatency, sawP99 bool
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		var err error
		switch {
		case len(fields) >= 4 && fields[0] == "Latency" && !sawLatency:
			// "Latency   559.24us    0.92ms   8.02ms   89.44%": avg, stdev, max, ±stdev.
			sawLatency = true
			o.Max, err = parseWrkDuration(fields[3])
		case len(fields) == 2 && strings.HasSuffix(fields[0], "%"):
			var d time.Duration
			if d, err = parseWrkDuration(fields[1]); err != nil {
				break
			}
			switch fields[0] {
			case "50%":
				o.P50 = d
			case "90%":
				o.P90 = d
			case "99%":
				o.P99, sawP99 = d, true
			}
		case len(fields) >= 4 && fields[1] == "requests" && fields[2] == "in":
			// "11762 requests in 1.00s, 1.54MB read"
			sawTotal = true
			if o.Completed, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
				break
			}
			o.Elapsed, err = parseWrkDuration(strings.TrimSuffix(fields[3], ","))
		case strings.HasPrefix(line, "Requests/sec:") && len(fields) == 2:
			sawRate = true
			o.PerSecond, err = strconv.ParseFloat(fields[1], 64)
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(fields) == 5:
			o.Non2xx, err = strconv.ParseInt(fields[4], 10, 64)
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 12, write 0, timeout 4"
			_, err = fmt.Sscanf(line, "Socket errors: connect %d, read %d, write %d, timeout %d",
				&o.Connect, &o.Read, &o.Write, &o.Timeout)
		}
		if err != nil {
			return wrkOutput{}, fmt.Errorf("wrk output %q: %w", line, err)
		}
	}
	if !sawTotal || !sawRate || !sawLatency || !sawP99 {
		return wrkOutput{}, fmt.Errorf("wrk output lacks the totals or the latency distribution (was --latency given?): %.500q", out)
	}
	// "requests in 1.00s" has two decimals; the rate is the completed count over the exact run
	// time, so it gives that time back more precisely.
	if o.PerSecond > 0 {
		o.Elapsed = time.Duration(float64(o.Completed) / o.PerSecond * float64(time.Second))
	}
	return o, nil
}

// socketErrors is the sum of the socket errors.
func (o wrkOutput) socketErrors() int64 { return o.Connect + o.Read + o.Write + o.Timeout }

// result turns the report into the load generator's terms. Calls lost to a connect, read or
// write error never completed, so they are added to the calls made; every socket error and
// every non-2xx response is an error.
func (o wrkOutput) result() load.Result {
	requests := o.Completed + o.Connect + o.Read + o.Write
	res := load.Result{
		Requests: requests,
		Errors:   min(requests, o.Non2xx+o.socketErrors()),
		Elapsed:  o.Elapsed,
		P50:      o.P50,
		P90:      o.P90,
		P99:      o.P99,
		Max:      o.Max,
		AllCalls: requests,
	}
	if res.Errors > 0 {
		res.FirstError = fmt.Errorf("wrk: %d non-2xx responses; socket errors: connect %d, read %d, write %d, timeout %d",
			o.Non2xx, o.Connect, o.Read, o.Write, o.Timeout)
	}
	return res
}

// parseWrkDuration reads a time as wrk prints it: a number with a unit of us, ms, s, m or h.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		number, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(number, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", s, err)
		}
		return time.Duration(x * float64(u.unit)), nil
	}
	return 0, errors.New("time " + strconv.Quote(s) + " has no unit")
}
