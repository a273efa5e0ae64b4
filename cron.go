package goforward

import (
	"context"
	"fmt"

	"github.com/goforward/goforward/internal/cli"
	"github.com/goforward/goforward/internal/cron"
)

// Cron runs fn on schedule while serve runs, on one node of a cluster at a time, Supabase
// Cron's role. schedule is five cron fields in UTC (minute hour day-of-month month
// day-of-week: "*/5 * * * *", "0 3 * * MON-FRI"), a descriptor (@hourly, @daily, @weekly,
// @monthly, @yearly) or "@every D" for a whole number of seconds (aligned on multiples of D,
// so every node computes the same ticks).
//
// At each tick one node runs fn; a tick that comes while the previous run is still going on
// (on any node) is skipped, and ticks missed while no node ran are not made up. Every run is
// recorded in goforward.cron_runs with its node, times, outcome and error (fn's error, or a
// panic), which admins read at GET /admin/v1/cron/runs. fn's context ends when serve stops.
// Names are a letter, then letters, digits, '-' and '_'.
func (a *App) Cron(name, schedule string, fn func(ctx context.Context) error) error {
	if fn == nil {
		return fmt.Errorf("goforward: cron job %q: nil function", name)
	}
	if !cli.ValidFunctionName(name) {
		return fmt.Errorf("goforward: cron job name %q must be a letter followed by letters, digits, '-' and '_' (at most 128)", name)
	}
	sched, err := cron.Parse(schedule)
	if err != nil {
		return fmt.Errorf("goforward: cron job %q: %w", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range a.cronJobs {
		if j.Name == name {
			return fmt.Errorf("goforward: cron job %q is already registered", name)
		}
	}
	a.cronJobs = append(a.cronJobs, cron.Job{Name: name, Spec: schedule, Schedule: sched, Run: fn})
	return nil
}
