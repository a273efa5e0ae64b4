package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/cron"
)

// The runs of an embedding program's scheduled jobs (internal/cron): GET /cron/runs, newest
// first, filtered by job and status. It needs can_view_all_logs, as the alerts do: a failed
// run's error is the application's own text and may name what it works on.

func (s *Service) cronRoutes() []route {
	return []route{{method: "GET", path: "/cron/runs", need: access.CanViewAllLogs, handler: s.cronRuns}}
}

var cronParams = map[string]bool{"job": true, "status": true, "limit": true}

func (s *Service) cronRuns(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	q := r.URL.Query()
	for name := range q {
		if !cronParams[name] {
			return badRequest(CodeValidationFailed, "Unknown query parameter %q", name)
		}
	}
	f := cron.Filter{Job: q.Get("job"), Status: q.Get("status")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest(CodeValidationFailed, "limit must be a number between 1 and 500")
		}
		f.Limit = n
	}
	runs, err := cron.List(r.Context(), s.pool, f)
	if errors.Is(err, cron.ErrBadFilter) {
		return badRequest(CodeValidationFailed, "%s", strings.TrimPrefix(err.Error(), cron.ErrBadFilter.Error()+": "))
	}
	if err != nil {
		return internalError(err)
	}
	if runs == nil {
		runs = []cron.Run{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}
