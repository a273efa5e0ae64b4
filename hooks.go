package goforward

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/goforward/goforward/internal/cli"
	"github.com/goforward/goforward/internal/cron"
)

// Hook is a chain of handlers for one lifecycle or auth event. Handlers run in the order
// they were bound; each receives the event and calls its Next method to run the rest of the
// chain. A handler that returns without calling Next ends the chain there; an error returned
// from OnBootstrap's or OnServe's chain stops serve, and is its exit error; an auth hook's
// error refuses the request (AuthHookError).
type Hook[T event] struct {
	mu       sync.Mutex
	handlers []func(T) error
}

// BindFunc adds fn at the end of the chain.
func (h *Hook[T]) BindFunc(fn func(e T) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = append(h.handlers, fn)
}

// bound reports whether the chain has a handler.
func (h *Hook[T]) bound() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.handlers) > 0
}

// trigger runs the chain on e.
func (h *Hook[T]) trigger(e T) error {
	h.mu.Lock()
	handlers := slices.Clone(h.handlers)
	h.mu.Unlock()
	var run func(i int) error
	run = func(i int) error {
		if i == len(handlers) {
			return nil
		}
		e.setNext(func() error { return run(i + 1) })
		return handlers[i](e)
	}
	return run(0)
}

// event is what a Hook carries: a type embedding Event.
type event interface {
	setNext(func() error)
}

// Event is embedded in every hook's event; its Next runs the rest of the chain.
type Event struct {
	next func() error
}

// Next runs the handlers after the current one and returns their error.
func (e *Event) Next() error {
	if e.next == nil {
		return nil
	}
	return e.next()
}

func (e *Event) setNext(next func() error) { e.next = next }

// BootstrapEvent is sent once serve has loaded the configuration and opened and migrated
// the database, before it builds the services.
type BootstrapEvent struct {
	Event
	App *App
	// Context ends when serve is asked to stop.
	Context context.Context
	// Config is the effective configuration (defaults, code, file, environment, flags).
	Config Config
}

// ServeEvent is sent once the gateway is built with every service, before it listens. A
// handler may add routes with Router and change Server (wrap Server.Handler, set TLSConfig
// to serve TLS on the configured address, ConnState, ...); serve sets Server.BaseContext
// itself.
type ServeEvent struct {
	Event
	App     *App
	Context context.Context
	Config  Config
	Router  *Router
	Server  *http.Server
}

// TerminateEvent is sent when serve stops, after the HTTP server has drained and before
// the database is closed. Its Context is not cancelled.
type TerminateEvent struct {
	Event
	App     *App
	Context context.Context
}

// OnBootstrap is the chain run when serve has the configuration and the database ready.
func (a *App) OnBootstrap() *Hook[*BootstrapEvent] { return &a.onBootstrap }

// OnServe is the chain run before the server listens.
func (a *App) OnServe() *Hook[*ServeEvent] { return &a.onServe }

// OnTerminate is the chain run when the server has stopped.
func (a *App) OnTerminate() *Hook[*TerminateEvent] { return &a.onTerminate }

func (a *App) bootstrap(ctx context.Context, b cli.Bootstrap) error {
	a.mu.Lock()
	a.db = &database{owner: b.Owner, runner: b.Runner}
	a.keys = b.Keys
	a.mu.Unlock()
	if err := a.onBootstrap.trigger(&BootstrapEvent{App: a, Context: ctx, Config: b.Config}); err != nil {
		return err
	}
	// After OnBootstrap, so that auth hooks bound there count; the services are built next.
	a.emb.AuthHooks = a.authHooks()
	return a.prepareBackground(ctx, b)
}

// prepareBackground readies the scheduler, which serve then runs beside the services (the
// change feed of OnChange is serve's own, as the admin API's webhooks use it too).
func (a *App) prepareBackground(_ context.Context, b cli.Bootstrap) error {
	a.mu.Lock()
	jobs := append([]cron.Job(nil), a.cronJobs...)
	a.mu.Unlock()
	if len(jobs) == 0 {
		a.emb.Background = nil
		return nil
	}
	sched := cron.New(b.Owner, b.Logger, jobs)
	a.emb.Background = sched.Run
	return nil
}

func (a *App) serve(ctx context.Context, s cli.ServeInfo) error {
	return a.onServe.trigger(&ServeEvent{App: a, Context: ctx, Config: s.Config, Router: &Router{handle: s.Handle}, Server: s.Server})
}

func (a *App) terminate(ctx context.Context) error {
	return a.onTerminate.trigger(&TerminateEvent{App: a, Context: ctx})
}
