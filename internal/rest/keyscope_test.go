package rest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/rest"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/servicetest"
)

// TestAPIKeyTableScopes: a key limited to some tables reaches those through every REST door
// (reads, writes, embedding, RPC) and nothing else, whatever its role would allow.
func TestAPIKeyTableScopes(t *testing.T) {
	t.Parallel()
	e := servicetest.New(t, func(se *servicetest.Env) []gateway.Service {
		_, err := se.DB.Pool.Exec(context.Background(), fixture)
		require.NoError(t, err)
		svc, err := rest.New(rest.Config{Schemas: []string{"public", "other"}, MaxRows: 100},
			rest.Deps{Owner: se.DB.Pool, Runner: se.Runner, Logger: se.Logger})
		require.NoError(t, err)
		return []gateway.Service{{Name: "rest", Prefix: rest.Prefix, Mount: svc.Mount}}
	}, servicetest.Options{APIKeys: true})

	posts := e.CreateAPIKey(t, apikeys.NewKey{Name: "posts", Kind: security.KindSecret, Scopes: security.KeyScope{
		Services: []string{"rest"}, Tables: []string{"public.posts", "public.comments", "public.add", "other.*"}}}).APIKey
	labels := e.CreateAPIKey(t, apikeys.NewKey{Name: "labels", Kind: security.KindSecret, Scopes: security.KeyScope{
		Tables: []string{"public.posts", "public.labels"}}}).APIKey
	labelsAndJunction := e.CreateAPIKey(t, apikeys.NewKey{Name: "labels and junction", Kind: security.KindSecret, Scopes: security.KeyScope{
		Tables: []string{"public.posts", "public.labels", "public.post_labels"}}}).APIKey
	unscoped := e.CreateAPIKey(t, apikeys.NewKey{Name: "all", Kind: security.KindSecret}).APIKey
	notesPub := e.CreateAPIKey(t, apikeys.NewKey{Name: "notes", Kind: security.KindPublishable, Scopes: security.KeyScope{
		Tables: []string{"public.notes"}}}).APIKey
	user := e.UserToken(t, userA, nil)

	type scopeCase struct {
		name   string
		key    string
		token  string
		method string
		path   string
		body   any
		header http.Header
		status int
		code   string
	}
	for _, c := range []scopeCase{
		{name: "listed table", key: posts, path: "/posts?select=id&id=eq.1", status: 200},
		{name: "unlisted table", key: posts, path: "/authors?select=id", status: 403, code: "42501"},
		{name: "listed embed", key: posts, path: "/posts?select=id,comments(text)&id=eq.1", status: 200},
		{name: "unlisted embed", key: posts, path: "/posts?select=id,authors!author_id(name)", status: 403, code: "42501"},
		{name: "unlisted embed behind a listed one", key: posts, path: "/comments?select=id,posts(id,authors!author_id(name))", status: 403, code: "42501"},
		{name: "many-to-many without the junction", key: labels, path: "/posts?select=id,labels(label)", status: 403, code: "42501"},
		{name: "many-to-many with the junction", key: labelsAndJunction, path: "/posts?select=id,labels(label)&id=eq.1", status: 200},
		{name: "insert into a listed table", key: posts, method: http.MethodPost, path: "/comments", body: map[string]any{"post_id": 2, "text": "ok"}, status: 201},
		{name: "insert into an unlisted table", key: posts, method: http.MethodPost, path: "/labels", body: map[string]any{"id": 9, "label": "x"}, status: 403, code: "42501"},
		{name: "update of an unlisted table", key: posts, method: http.MethodPatch, path: "/authors?id=eq.1", body: map[string]any{"name": "x"}, status: 403, code: "42501"},
		{name: "delete from an unlisted table", key: posts, method: http.MethodDelete, path: "/profiles?author_id=eq.1", status: 403, code: "42501"},
		{name: "listed function", key: posts, path: "/rpc/add?a=1&b=2", status: 200},
		{name: "unlisted function", key: posts, path: "/rpc/greet?name=x", status: 403, code: "42501"},
		{name: "a whole listed schema", key: posts, path: "/things?select=name", header: http.Header{"Accept-Profile": {"other"}}, status: 200},
		{name: "schema description", key: posts, path: "/", status: 403, code: "42501"},
		{name: "unscoped key", key: unscoped, path: "/authors?select=id", status: 200},
		{name: "publishable key, listed table", key: notesPub, path: "/notes?select=body", status: 200},
		{name: "publishable key, unlisted table", key: notesPub, path: "/posts?select=id", status: 401, code: "42501"},
		{name: "a user's token under a scoped key", key: notesPub, token: user, path: "/posts?select=id", status: 403, code: "42501"},
		{name: "a user's token under a scoped key, listed table", key: notesPub, token: user, path: "/notes?select=body", status: 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			r := e.Do(t, servicetest.Request{Method: method, Path: rest.Prefix + c.path, Key: c.key, Token: c.token, Body: c.body, Header: c.header})
			require.Equal(t, c.status, r.Status, "body: %s", r.Body)
			if c.code != "" {
				require.Contains(t, string(r.Body), `"code":"`+c.code+`"`)
				require.Contains(t, string(r.Body), `scope`)
			}
		})
	}
}
