package realtimebench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/goforward/goforward/bench/harness"
)

// BroadcastResult is one row of the fan-out table: one sender, Subscribers receivers on one
// channel, Messages sent back to back.
type BroadcastResult struct {
	Subscribers int
	Messages    int
	Expected    int
	Delivered   int
	Elapsed     time.Duration    // first send to last delivery
	PerSecond   float64          // deliveries per second
	P50, P99    time.Duration    // send to delivery
	CPU         harness.CPUTimes // processor time spent from the first send to the last delivery
	Err         error
}

// runBroadcast measures fan-out of broadcasts from one sender to m subscribers.
func runBroadcast(ctx context.Context, stack *harness.Stack, cfg Config, m int, progress io.Writer) BroadcastResult {
	messages := max(1, cfg.BroadcastDeliveries/m)
	res := BroadcastResult{Subscribers: m, Messages: messages, Expected: messages * m}
	topic := fmt.Sprintf("realtime:fanout-%d", m)
	col := &collector{}
	var last atomic.Int64
	onMessage := func(at time.Time, msg message) {
		if msg.Event != "broadcast" {
			return
		}
		var p struct {
			Payload struct {
				Seq int64 `json:"seq"`
			} `json:"payload"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			col.add(receipt{id: p.Payload.Seq, received: at})
			last.Store(at.UnixNano())
		}
	}
	config := map[string]any{
		"broadcast": map[string]any{"ack": false, "self": false},
		"presence":  map[string]any{"key": "", "enabled": false},
		"private":   false,
	}
	clients, err := openMany(ctx, m+1, func(ctx context.Context, i int) (*client, error) {
		h := onMessage
		if i == m {
			h = nil // the sender
		}
		c, err := dial(ctx, stack.URL, stack.AnonKey, h)
		if err != nil {
			return nil, err
		}
		if _, err := c.join(ctx, topic, config, ""); err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		res.Err = err
		return res
	}
	defer closeAll(clients)
	sender := clients[m]
	joinRef := "1" // the sender's only push so far was its join, ref 1
	sent := make(map[int64]time.Time, messages)
	cpuBefore, cpuErr := stack.CPU()
	start := time.Now()
	for seq := range int64(messages) {
		sent[seq] = time.Now()
		err := sender.send(topic, "broadcast", joinRef, map[string]any{
			"type": "broadcast", "event": "tick", "payload": map[string]any{"seq": seq},
		})
		if err != nil {
			res.Err = err
			return res
		}
	}
	deadline := time.Now().Add(cfg.DrainTimeout)
	for time.Now().Before(deadline) && col.count() < res.Expected {
		time.Sleep(20 * time.Millisecond)
	}
	if cpuAfter, err := stack.CPU(); err == nil && cpuErr == nil {
		res.CPU = cpuAfter.Sub(cpuBefore)
	}
	lat, _ := latencies(sent, col.snapshot())
	res.Delivered = len(lat)
	res.Elapsed = time.Unix(0, last.Load()).Sub(start)
	if res.Elapsed > 0 {
		res.PerSecond = float64(res.Delivered) / res.Elapsed.Seconds()
	}
	res.P50, res.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	res.Err = incomplete(clients, res.Delivered, res.Expected, cfg.DrainTimeout)
	fmt.Fprintf(progress, "broadcast × %d: %d/%d delivered in %s, %.0f msg/s\n", m, res.Delivered, res.Expected, res.Elapsed.Round(time.Millisecond), res.PerSecond)
	return res
}
