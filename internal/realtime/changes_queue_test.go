package realtime

import (
	"encoding/json"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/pgtest"
	"github.com/goforward/goforward/internal/realtime/replication"
)

// The dispatcher's queue never grows past MaxQueuedChanges and never makes the bus wait: the
// oldest changes make room for new ones, and their tables are remembered so that their
// subscribers can be told.
func TestChangeQueueShedsTheOldestWhenFull(t *testing.T) {
	t.Parallel()
	database := pgtest.NewDatabase(t)
	svc := checkService(t, database)
	svc.cfg.PostgresChanges.MaxQueuedChanges = 3
	d := svc.changes // not running: nothing takes from the queue but this test
	for i := range 5 {
		table := "kept"
		if i < 2 {
			table = "shed"
		}
		msg, err := json.Marshal(&replication.Change{Schema: "public", Table: table, Type: replication.Insert, XID: uint32(100 + i)})
		require.NoError(t, err)
		d.enqueue(msg)
	}
	var xids []uint32
	for _, q := range d.take() {
		xids = append(xids, q.change.XID)
	}
	require.Equal(t, []uint32{102, 103, 104}, xids, "the newest changes are kept, in order")
	require.Equal(t, map[droppedKey]bool{{"public", "shed", replication.Insert}: true}, d.dropped)
	var dropped dto.Metric
	require.NoError(t, svc.metrics.changesDropped.Write(&dropped))
	require.Equal(t, 2.0, dropped.GetCounter().GetValue())
}
