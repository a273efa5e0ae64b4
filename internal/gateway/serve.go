package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve serves on ln until ctx is done, then shuts down gracefully and returns nil. Shutdown
// stops accepting connections and waits for requests in flight; after half of ShutdownTimeout
// the context of every request (derived from the server's base context) is cancelled, so
// long-lived streams end too. If requests are still running at ShutdownTimeout, their
// connections are closed and an error is returned. Serve also returns an error if the
// listener fails. It closes ln in every case.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	return g.ServeServer(ctx, g.NewServer(), ln)
}

// NewServer returns the http.Server Serve would use: the gateway as its handler, the
// configured timeouts, errors logged as warnings. A program may change it (wrap the handler,
// set TLSConfig or ConnState) before handing it to ServeServer.
func (g *Gateway) NewServer() *http.Server {
	return &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
	}
}

// ServeServer is Serve with srv (from NewServer, possibly changed) instead of a new server.
// It sets srv.BaseContext, which the graceful shutdown relies on; with srv.TLSConfig set it
// serves TLS on ln.
func (g *Gateway) ServeServer(ctx context.Context, srv *http.Server, ln net.Listener) error {
	// Request contexts must outlive ctx by the grace period, so they hang off a detached copy.
	detached := context.WithoutCancel(ctx)
	baseCtx, cancelBase := context.WithCancel(detached)
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return baseCtx }
	addr := ln.Addr().String()

	// Logged before serving starts, so no request is answered before the line is written:
	// whoever sees a response can rely on it being in the log.
	g.logger.InfoContext(ctx, "gateway listening", "addr", addr)
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()

	select {
	case err := <-served:
		return fmt.Errorf("gateway: serve %s: %w", addr, err)
	case <-ctx.Done():
	}

	g.logger.InfoContext(detached, "gateway shutting down", "addr", addr, "timeout", g.cfg.ShutdownTimeout.String())
	shutdownCtx, cancelShutdown := context.WithTimeout(detached, g.cfg.ShutdownTimeout)
	defer cancelShutdown()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutdownCtx) }()

	grace := time.NewTimer(g.cfg.ShutdownTimeout / 2)
	defer grace.Stop()
	var err error
	select {
	case err = <-shutdown:
	case <-grace.C:
		cancelBase()
		err = <-shutdown
	}
	// Hijacked connections (WebSockets) are not tracked by Shutdown: the service that
	// hijacked them closes them when its own Run ends (realtime's handler returns right after
	// the upgrade). Handlers still running on the base context end here.
	cancelBase()
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("gateway: serve %s: %w", addr, serveErr)
	}
	if err != nil {
		closeErr := srv.Close()
		return fmt.Errorf("gateway: shutdown %s: %w", addr, errors.Join(err, closeErr))
	}
	g.logger.InfoContext(detached, "gateway stopped", "addr", addr)
	return nil
}
