// Package httpx is the small HTTP kit every service builds on: handlers that return errors and
// are rendered in one place per service, JSON decoding with limits, and the request-scoped
// values (request id, client IP, logger) that the gateway puts into each request's context.
//
// It knows nothing of any wire envelope: each service passes its own ErrorRenderer, because
// GoTrue, PostgREST and Storage all shape their error bodies differently.
package httpx
