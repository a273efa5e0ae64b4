package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// appService labels the routes a program embedding Go Forward adds with Handle.
const appService = "app"

// Handle adds an application route outside every service: the pattern's path must not lie
// under a mounted service's prefix nor be one of the gateway's own routes. Application
// routes pass the whole middleware chain but need no apikey (a key or Bearer token sent
// along is still verified and its principal put in the context). A catch-all pattern never
// receives a path under a mounted service: such a path answers as an unknown route of that
// service. Handle must be called before Serve.
func (g *Gateway) Handle(pattern string, h http.Handler) (err error) {
	if h == nil {
		return errors.New("gateway: Handle: nil handler")
	}
	p := patternPath(pattern)
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("gateway: route %q: the path must be absolute", pattern)
	}
	if isOwnRoute(p) {
		return fmt.Errorf("gateway: route %q: %s is the gateway's own", pattern, p)
	}
	if svc := g.prefixOwner(p); svc != nil {
		return fmt.Errorf("gateway: route %q: %s is reserved for service %q", pattern, svc.prefix, svc.name)
	}
	defer func() {
		// ServeMux panics on an invalid or conflicting pattern.
		if v := recover(); v != nil {
			err = fmt.Errorf("gateway: route %q: %v", pattern, v)
		}
	}()
	g.mux.Handle(pattern, h)
	if g.appRoutes == nil {
		g.appRoutes = map[string]bool{}
	}
	g.appRoutes[pattern] = true
	return nil
}
