package goforward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Realtime is the server's realtime service, for code running inside serve.
type Realtime interface {
	// Broadcast sends event with payload (encoded as JSON; a json.RawMessage is sent as it
	// is) to every subscriber of the public channel topic, on every node of the cluster, as
	// supabase-js's channel(topic).send({type: "broadcast", event, payload}) reaches them.
	// topic is the channel's name without the "realtime:" prefix. It fails before serve has
	// built the realtime service, and when this node does not run it.
	Broadcast(ctx context.Context, topic, event string, payload any) error
}

// Realtime returns the realtime service of the running server.
func (a *App) Realtime() Realtime { return realtimeAccess{a} }

type realtimeAccess struct{ a *App }

func (r realtimeAccess) Broadcast(ctx context.Context, topic, event string, payload any) error {
	r.a.mu.Lock()
	send := r.a.broadcast
	r.a.mu.Unlock()
	if send == nil {
		return errors.New("goforward: Broadcast: the realtime service is not running")
	}
	raw, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			return fmt.Errorf("goforward: Broadcast: payload: %w", err)
		}
	}
	return send(ctx, topic, event, raw)
}

func (a *App) setBroadcast(fn func(ctx context.Context, topic, event string, payload json.RawMessage) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broadcast = fn
}
