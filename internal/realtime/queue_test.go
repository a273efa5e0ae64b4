package realtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSendQueueIsBoundedAndKeepsOrder(t *testing.T) {
	t.Parallel()
	q := newSendQueue(3)
	frames := []*frame{{data: []byte("a")}, {data: []byte("b")}, {data: []byte("c")}}
	for i, f := range frames {
		queued, startWriter := q.push(f)
		require.True(t, queued)
		require.Equal(t, i == 0, startWriter, "only the first frame of a burst starts the writer")
	}
	queued, _ := q.push(&frame{data: []byte("d")})
	require.False(t, queued, "a full queue refuses")

	batch, closing := q.next(nil)
	require.Equal(t, frames, batch)
	require.False(t, closing)
	queued, startWriter := q.push(&frame{data: []byte("e")})
	require.True(t, queued, "draining makes room")
	require.False(t, startWriter, "the writer still runs")
	batch, _ = q.next(nil)
	require.Len(t, batch, 1)
	batch, closing = q.next(nil)
	require.Empty(t, batch, "an empty queue ends the writer")
	require.False(t, closing)
	_, startWriter = q.push(&frame{data: []byte("f")})
	require.True(t, startWriter, "the next burst starts a new one")
}

func TestSendQueueClosingEndsTheWriter(t *testing.T) {
	t.Parallel()
	idle := newSendQueue(3)
	require.True(t, idle.close(), "closing an idle connection starts a writer to send the close frame")

	busy := newSendQueue(3)
	_, startWriter := busy.push(&frame{data: []byte("a")})
	require.True(t, startWriter)
	require.False(t, busy.close(), "the running writer sends the close frame")
	_, closing := busy.next(nil)
	require.True(t, closing, "what is still queued is never written")
	queued, startWriter := busy.push(&frame{data: []byte("b")})
	require.False(t, queued)
	require.False(t, startWriter)
}

func TestSendQueueGivesMemoryBack(t *testing.T) {
	t.Parallel()
	q := newSendQueue(1000)
	for range shrinkAbove + 1 {
		queued, _ := q.push(&frame{})
		require.True(t, queued)
	}
	q.next(nil)
	require.Nil(t, q.items)
}
