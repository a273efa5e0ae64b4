package admin

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// matrixCaller is one kind of caller of the capability matrix: how it authenticates and
// what it holds (nil: it is no admin principal at all).
type matrixCaller struct {
	name string
	// auth returns the request's credentials, fresh for every request (a route may end the
	// session it is called with).
	auth func(t *testing.T) servicetest.Request
	// principal is what the caller authenticates as; nil for callers that are refused before
	// any capability is looked at.
	principal *access.Principal
	// refusal is the answer of a caller without a principal: 401 or 403, and its code.
	refusal int
	code    string
}

// guardCodes are the answers of the guard itself; a handler never answers with them. A route
// the guard lets through answers anything else (200, 400 for the empty body, 404 for the
// unknown id …).
var guardCodes = []string{CodeNoAuthorization, CodeSessionExpired, CodeNotAdmin, CodeCSRF, CodeInsufficientCapability}

// pathParam matches a ServeMux wildcard; every one is filled with an id that names nothing.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

const unknownID = "00000000-0000-4000-8000-00000000abcd"

// TestCapabilityMatrix calls every route of the service's route table as every kind of
// caller: each admin level (through an admin session), emergency access, the service-role
// key, the anon key, a signed-in user's token and no credentials at all. A caller gets past
// the guard exactly when it holds the route's capability (public routes: always); every
// refusal for a missing capability is audited. The table is the only list: a route added to
// routes() is checked without touching this test.
func TestCapabilityMatrix(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	sessionFor := func(l access.Level, kind access.Kind) func(t *testing.T) servicetest.Request {
		userID := ""
		if kind == access.KindAdmin {
			userID = e.admin(t, string(l), l)
		}
		return func(t *testing.T) servicetest.Request {
			opened, err := e.sessions.Create(ctx, e.DB.Pool, access.NewSession{
				UserID: userID, Kind: kind, Level: l, Capabilities: access.For(l, nil, nil), MFAVerified: true, Reason: "matrix",
			})
			require.NoError(t, err)
			return servicetest.Request{Key: "-", Token: opened.Token}
		}
	}
	principal := func(kind access.Kind, l access.Level) *access.Principal {
		return &access.Principal{Kind: kind, Level: l, Capabilities: access.For(l, nil, nil)}
	}
	service := access.ServiceRole()
	plainUser := e.user(t, "plain")
	secretKey := e.CreateAPIKey(t, apikeys.NewKey{Name: "matrix secret", Kind: security.KindSecret}).APIKey
	publishableKey := e.CreateAPIKey(t, apikeys.NewKey{Name: "matrix publishable", Kind: security.KindPublishable}).APIKey
	callers := []matrixCaller{
		{name: "no credentials", auth: func(*testing.T) servicetest.Request { return servicetest.Request{Key: "-", Token: "-"} },
			refusal: http.StatusUnauthorized, code: CodeNoAuthorization},
		{name: "anon key", auth: func(*testing.T) servicetest.Request { return servicetest.Request{} },
			refusal: http.StatusForbidden, code: CodeNotAdmin},
		{name: "user token", auth: func(t *testing.T) servicetest.Request {
			return servicetest.Request{Token: e.UserToken(t, plainUser, nil)}
		}, refusal: http.StatusForbidden, code: CodeNotAdmin},
		{name: "service role", auth: func(*testing.T) servicetest.Request { return servicetest.Request{Key: "-", Token: e.ServiceRoleKey()} },
			principal: &service},
		{name: "secret api key", auth: func(*testing.T) servicetest.Request { return servicetest.Request{Key: "-", Token: secretKey} },
			principal: &service},
		{name: "publishable api key", auth: func(*testing.T) servicetest.Request { return servicetest.Request{Key: publishableKey} },
			refusal: http.StatusForbidden, code: CodeNotAdmin},
		{name: "emergency", auth: sessionFor(access.SystemAdmin, access.KindEmergency), principal: principal(access.KindEmergency, access.SystemAdmin)},
	}
	for _, l := range access.Levels {
		callers = append(callers, matrixCaller{name: string(l), auth: sessionFor(l, access.KindAdmin), principal: principal(access.KindAdmin, l)})
	}

	routes := e.svc.routes()
	require.NotEmpty(t, routes)
	known := append(access.AllCapabilities(), anyAdmin)
	deniedCalls := 0
	for _, rt := range routes {
		require.True(t, rt.public != nil || slices.Contains(known, rt.need), "%s %s needs an unknown capability %q", rt.method, rt.path, rt.need)
		path := Prefix + pathParam.ReplaceAllString(rt.path, unknownID)
		for _, c := range callers {
			t.Run(fmt.Sprintf("%s %s as %s", rt.method, rt.path, c.name), func(t *testing.T) {
				req := c.auth(t)
				req.Method, req.Path = rt.method, path
				if rt.method != http.MethodGet && rt.method != http.MethodHead {
					req.Body = map[string]any{}
				}
				res := e.Do(t, req)
				var body map[string]any
				// Refusals are JSON; an allowed export answers NDJSON or CSV.
				if len(res.Body) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					res.JSON(t, &body)
				}
				code, _ := body["error_code"].(string)
				switch {
				case rt.public != nil:
					require.NotContains(t, guardCodes, code, "a public route lets everyone through: %s", res.Body)
				case c.principal == nil:
					require.Equal(t, c.refusal, res.Status, "body: %s", res.Body)
					require.Equal(t, c.code, code, "body: %s", res.Body)
				case rt.need == anyAdmin || c.principal.Has(rt.need):
					require.NotContains(t, guardCodes, code, "%s holds %s: %s", c.name, rt.need, res.Body)
				default:
					deniedCalls++
					require.Equal(t, http.StatusForbidden, res.Status, "%s lacks %s: %s", c.name, rt.need, res.Body)
					require.Equal(t, CodeInsufficientCapability, code, "body: %s", res.Body)
				}
			})
		}
	}
	require.Positive(t, deniedCalls)
	var audited int
	require.NoError(t, e.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM goforward.audit_log
WHERE action = 'admin.access_denied' AND outcome = 'denied'`).Scan(&audited))
	require.Equal(t, deniedCalls, audited, "every refusal for a missing capability is on record")
}
