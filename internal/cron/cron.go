// Package cron runs scheduled jobs (the root package's App.Cron) on one node at a time and
// records every run in goforward.cron_runs.
//
// Every node computes the same ticks from a job's schedule. At a tick, a node takes the job's
// advisory lock (so a run still going on another node is never overlapped) and inserts the
// run's row, unique on (job, scheduled_at): only the node whose insert succeeded runs the
// tick. The lock lives on the connection that holds it, so a node that dies mid-run frees
// the job; the next node to take the lock marks that run failed.
package cron

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	robfig "github.com/robfig/cron/v3"
)

// Schedule says when a job runs next after a given time.
type Schedule interface {
	Next(time.Time) time.Time
}

var parser = robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// Parse reads a schedule: five cron fields ("*/5 * * * *", minute hour day-of-month month
// day-of-week, in UTC), a descriptor (@hourly, @daily, @weekly, @monthly, @yearly), or
// "@every D" for a whole number of seconds D of at least 1s, aligned on multiples of D since
// the zero time so that every node computes the same ticks.
func Parse(spec string) (Schedule, error) {
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("cron: %q: @every needs a whole number of seconds, at least 1s", spec)
		}
		return every(d), nil
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("cron: %q: schedules are in UTC; time zones are not supported", spec)
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron: %q: %w", spec, err)
	}
	return utc{s}, nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	return t.UTC().Truncate(d).Add(d)
}

// utc evaluates a cron expression in UTC whatever the node's local zone, so nodes agree.
type utc struct{ s robfig.Schedule }

func (u utc) Next(t time.Time) time.Time { return u.s.Next(t.UTC()) }

// Job is a named function on a schedule.
type Job struct {
	Name     string
	Spec     string
	Schedule Schedule
	Run      func(ctx context.Context) error
}

// Scheduler runs jobs at their ticks.
type Scheduler struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	node   string
	jobs   []Job
}

// New returns a Scheduler for jobs; node names this process in the runs it records.
func New(pool *pgxpool.Pool, logger *slog.Logger, jobs []Job) *Scheduler {
	host, _ := os.Hostname()
	return &Scheduler{pool: pool, logger: logger, node: fmt.Sprintf("%s pid=%d", host, os.Getpid()), jobs: jobs}
}

// Run runs the jobs until ctx ends, and waits for the runs in progress to return.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, j)
		}()
	}
	wg.Wait()
	return nil
}

func (s *Scheduler) loop(ctx context.Context, j Job) {
	next := j.Schedule.Next(time.Now())
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if err := s.Tick(ctx, j, next); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "cron: could not run a tick", "job", j.Name, "scheduled_at", next, "error", err)
		}
		// A run longer than the interval skips the ticks it overlapped.
		next = j.Schedule.Next(maxTime(next, time.Now()))
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lockKey is the job's advisory lock.
func lockKey(job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("goforward cron " + job))
	return int64(h.Sum64())
}

// maxErrorLen bounds the error text kept with a failed run.
const maxErrorLen = 2000

// Tick runs j's tick at scheduledAt unless another node runs j now or ran this tick already.
func (s *Scheduler) Tick(ctx context.Context, j Job, scheduledAt time.Time) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(j.Name)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil // a run of j is going on elsewhere
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		if _, err := conn.Exec(bg, `SELECT pg_advisory_unlock($1)`, lockKey(j.Name)); err != nil {
			// The connection is broken: closing it is what frees the lock.
			_ = conn.Conn().Close(bg)
		}
	}()
	// The lock was free, so a run still marked running lost its node.
	if _, err := conn.Exec(ctx, `UPDATE goforward.cron_runs SET status = 'failed', finished_at = now(),
			error = 'the node running it stopped before it finished' WHERE job = $1 AND status = 'running'`, j.Name); err != nil {
		return err
	}
	var id int64
	err = conn.QueryRow(ctx, `INSERT INTO goforward.cron_runs (job, schedule, scheduled_at, node) VALUES ($1, $2, $3, $4)
		ON CONFLICT (job, scheduled_at) DO NOTHING RETURNING id`, j.Name, j.Spec, scheduledAt, s.node).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // another node ran this tick
	}
	if err != nil {
		return err
	}
	runErr := run(ctx, j)
	status, msg := "succeeded", (*string)(nil)
	if runErr != nil {
		status = "failed"
		text := runErr.Error()
		if len(text) > maxErrorLen {
			text = text[:maxErrorLen]
		}
		msg = &text
		s.logger.ErrorContext(ctx, "cron: job failed", "job", j.Name, "scheduled_at", scheduledAt, "error", runErr)
	}
	_, err = conn.Exec(bg, `UPDATE goforward.cron_runs SET status = $2, error = $3, finished_at = now() WHERE id = $1`, id, status, msg)
	return err
}

// run calls the job, turning a panic into its error.
func run(ctx context.Context, j Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return j.Run(ctx)
}

// Run is one recorded run of a job.
type Run struct {
	ID          int64      `json:"id"`
	Job         string     `json:"job"`
	Schedule    string     `json:"schedule"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	Node        string     `json:"node"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Status      string     `json:"status"`
	Error       *string    `json:"error"`
}

// Filter selects runs for List.
type Filter struct {
	Job    string // empty: every job
	Status string // empty: every status
	Limit  int    // 1-500; 0 means 100
}

// ErrBadFilter is returned by List for a limit or status out of range.
var ErrBadFilter = errors.New("cron: bad filter")

// List returns the newest runs first.
func List(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, f Filter) ([]Run, error) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 500 {
		return nil, fmt.Errorf("%w: limit must be between 1 and 500", ErrBadFilter)
	}
	switch f.Status {
	case "", "running", "succeeded", "failed":
	default:
		return nil, fmt.Errorf("%w: status must be running, succeeded or failed", ErrBadFilter)
	}
	rows, err := q.Query(ctx, `SELECT id, job, schedule, scheduled_at, node, started_at, finished_at, status, error
		FROM goforward.cron_runs WHERE ($1 = '' OR job = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT $3`, f.Job, f.Status, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) {
		var run Run
		err := r.Scan(&run.ID, &run.Job, &run.Schedule, &run.ScheduledAt, &run.Node, &run.StartedAt, &run.FinishedAt, &run.Status, &run.Error)
		return run, err
	})
}
