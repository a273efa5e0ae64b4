// Package authbench measures /auth/v1's password sign-in and token refresh throughput against
// the floor bcrypt sets: raw bcrypt comparisons at the same cost, on the same number of
// processors, measured in the same run, interleaved. A sign-in is one bcrypt comparison plus
// a few queries, so sign-ins/s ÷ bcrypt compares/s close to 1 means everything but the hash
// is negligible.
package authbench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/goforward/goforward/bench/harness"
	"github.com/goforward/goforward/bench/load"
)

// The measured operations.
const (
	// Bcrypt is one bcrypt.CompareHashAndPassword in the load generator's process.
	Bcrypt = "bcrypt"
	// SignIn is POST /auth/v1/token?grant_type=password.
	SignIn = "signin"
	// Refresh is POST /auth/v1/token?grant_type=refresh_token, each worker on its own chain.
	Refresh = "refresh"
)

// operations lists the operations in report order.
func operations() []string { return []string{Bcrypt, SignIn, Refresh} }

// Config bounds a run. Zero values mean the stated defaults.
type Config struct {
	Concurrency int           // concurrent clients; default 32
	Duration    time.Duration // measured time of each measurement; default 10s
	Warmup      time.Duration // unmeasured time before each measurement; default 2s, negative none
	Rounds      int           // interleaved rounds; default 3
	Users       int           // users signed up beforehand, rounded up to a multiple of Concurrency; default 4 × Concurrency
	BcryptCost  int           // the service's auth.bcrypt_cost and the baseline's; default 10
	// Progress receives a line per measurement as the run goes. Nil: discarded.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.Users <= 0 {
		c.Users = 4 * c.Concurrency
	}
	// Each worker then has users of its own, so no two sign in as one user at once.
	c.Users = (c.Users + c.Concurrency - 1) / c.Concurrency * c.Concurrency
	if c.BcryptCost <= 0 {
		c.BcryptCost = 10
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// StackOptions are the harness options a run with cfg needs: the auth service alone, the
// bcrypt cost of the baseline, the baseline's GOMAXPROCS, and every rate limit and the
// lockout off (a benchmark signs in far faster than a person).
func StackOptions(cfg Config) harness.Options {
	cfg = cfg.withDefaults()
	return harness.Options{Env: []string{
		"GOFORWARD_SERVICES=auth",
		"GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)),
		"GOFORWARD_AUTH_BCRYPT_COST=" + strconv.Itoa(cfg.BcryptCost),
		"GOFORWARD_AUTH_MAILER_AUTOCONFIRM=true",
		"GOFORWARD_AUTH_RATE_LIMIT_OTP=0",
		"GOFORWARD_AUTH_RATE_LIMIT_VERIFY=0",
		"GOFORWARD_AUTH_RATE_LIMIT_TOKEN=0",
		"GOFORWARD_AUTH_RATE_LIMIT_ANONYMOUS_USERS=0",
		"GOFORWARD_AUTH_RATE_LIMIT_EMAIL_SENT=0",
		"GOFORWARD_AUTH_RATE_LIMIT_SMS_SENT=0",
		"GOFORWARD_AUTH_LOCKOUT_ATTEMPTS=0",
		"GOFORWARD_AUTH_LOCKOUT_DETECTOR_ACCOUNTS=0",
	}}
}

// Measurement is one operation in one round.
type Measurement struct {
	load.Result
	// CPU is the processor time each side used over the whole measurement, warm-up included.
	CPU harness.CPUTimes
}

// Report is everything a run measured.
type Report struct {
	Config     Config
	GOMAXPROCS int
	// Results holds, per operation, one measurement per round.
	Results map[string][]Measurement
}

// Run signs up cfg.Users users through the service and measures bcrypt, sign-in and refresh,
// interleaved, cfg.Rounds times.
func Run(ctx context.Context, stack *harness.Stack, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	c := newClient(stack, cfg.Concurrency)
	defer c.close()
	fmt.Fprintf(cfg.Progress, "signing up %d users (bcrypt cost %d)\n", cfg.Users, cfg.BcryptCost)
	users, err := c.signUpUsers(ctx, cfg.Users, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	ops, err := newOperations(ctx, c, users, cfg)
	if err != nil {
		return nil, err
	}
	report := &Report{Config: cfg, GOMAXPROCS: runtime.GOMAXPROCS(0), Results: map[string][]Measurement{}}
	lc := load.Config{Concurrency: cfg.Concurrency, Duration: cfg.Duration, Warmup: cfg.Warmup}
	names := operations()
	for round := range cfg.Rounds {
		for k := range names {
			name := names[(round+k)%len(names)]
			before, err := stack.CPU()
			if err != nil {
				return nil, err
			}
			res := load.Run(ctx, lc, ops[name])
			after, err := stack.CPU()
			if err != nil {
				return nil, err
			}
			report.Results[name] = append(report.Results[name], Measurement{Result: res, CPU: after.Sub(before)})
			fmt.Fprintf(cfg.Progress, "round %d  %-8s %s\n", round+1, name, res)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	return report, nil
}
