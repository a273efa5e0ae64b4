package realtime_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/realtime"
	"github.com/goforward/goforward/internal/realtime/phoenix"
)

// A node that cannot deliver a change within realtime.postgres_changes.max_delay drops it
// rather than delivering ever later, and tells the change's subscribers with a system
// message instead of leaving them to miss it silently.
func TestChangesPastMaxDelayAreDroppedWithASystemMessage(t *testing.T) {
	t.Parallel()
	// Every change is older than this by the time the dispatcher looks at it.
	n := startNode(t, options{changes: true, cfg: realtime.Config{PostgresChanges: realtime.PostgresChangesConfig{MaxDelay: time.Nanosecond}}})
	n.exec(t, `CREATE TABLE public.shed (id int PRIMARY KEY, note text)`)
	n.exec(t, `ALTER PUBLICATION supabase_realtime ADD TABLE public.shed`)

	c := dial(t, n)
	c.subscribe("realtime:shed", "", pgBinding("INSERT", "shed", ""))
	n.exec(t, `INSERT INTO public.shed VALUES (1, 'lost')`)

	isDropNotice := func(m phoenix.Message) bool {
		if m.Topic != "realtime:shed" || m.Event != "system" {
			return false
		}
		var s struct{ Extension, Status, Message string }
		return json.Unmarshal(m.Payload, &s) == nil && s.Extension == "postgres_changes" && s.Status == "error" &&
			s.Message == "Changes were dropped because the server fell behind; read the table again to catch up"
	}
	isChange := func(m phoenix.Message) bool { return m.Event == "postgres_changes" }
	require.False(t, c.seenBefore(isChange, isDropNotice), "the dropped change is not delivered")
	require.GreaterOrEqual(t, counter(t, n, "goforward_realtime_changes_dropped_total"), 1.0)
}
