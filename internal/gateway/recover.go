package gateway

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/goforward/goforward/internal/httpx"
)

// recoverPanics turns a panicking handler into a logged 500, so one bad request never takes
// the server down. If the response was already under way it cannot be replaced; the
// connection is aborted instead so the client sees a failure rather than a truncated body
// that looks complete. http.ErrAbortHandler is passed on untouched: it is how a handler asks
// net/http to drop the connection.
func (g *Gateway) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := r.Context()
			g.logger.ErrorContext(ctx, "panic serving request",
				"request_id", httpx.RequestID(ctx),
				"route", exchangeFrom(ctx).route,
				"panic", fmt.Sprint(v),
				"stack", string(debug.Stack()))
			if exchangeFrom(ctx).w.Written() {
				panic(http.ErrAbortHandler)
			}
			// Headers the handler set for the body it never finished must not describe ours.
			for _, h := range []string{"Content-Length", "Content-Encoding", "Content-Range", "Content-Disposition", "ETag", "Last-Modified"} {
				w.Header().Del(h)
			}
			body := message{Message: msgInternalError}
			if g.cfg.Development {
				body.Error = fmt.Sprint(v)
			}
			if err := httpx.WriteJSON(w, http.StatusInternalServerError, body); err != nil {
				g.logger.DebugContext(ctx, "writing panic response failed", "request_id", httpx.RequestID(ctx), "error", err)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
