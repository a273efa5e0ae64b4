package realtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSendQueueIsBoundedAndKeepsOrder(t *testing.T) {
	t.Parallel()
	q := newSendQueue(3)
	frames := []*frame{{data: []byte("a")}, {data: []byte("b")}, {data: []byte("c")}}
	for _, f := range frames {
		require.True(t, q.push(f))
	}
	require.False(t, q.push(&frame{data: []byte("d")}), "a full queue refuses")
	select {
	case <-q.ready:
	default:
		t.Fatal("a push signals the writer")
	}
	require.Equal(t, frames, q.drain(nil))
	require.Empty(t, q.drain(nil))
	require.True(t, q.push(&frame{data: []byte("e")}), "draining makes room")
}

func TestSendQueueGivesMemoryBack(t *testing.T) {
	t.Parallel()
	q := newSendQueue(1000)
	for range shrinkAbove + 1 {
		require.True(t, q.push(&frame{}))
	}
	q.drain(nil)
	require.Nil(t, q.items)
}
