// Command basic is a program embedding Go Forward through its root package, in a module of its
// own as an application would be (go.mod's replace points at this repository). It adds a
// function endpoint that supabase-js's functions.invoke reaches, a page of its own, a custom
// auth provider, a custom access token hook and an OnServe hook, and keeps the whole goforward command line:
//
//	go run . serve
//	go run . status
//
// tests/e2e/framework_test.go builds it from here and drives it with supabase-js.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/goforward/goforward"
)

// hello greets the caller by the name in the JSON body and says who the caller is.
func hello(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"error":"the body must be JSON with a name"}`, http.StatusBadRequest)
		return
	}
	p, _ := goforward.PrincipalFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"message": "Hello " + in.Name, "role": p.Role, "user_id": p.UserID, "email": p.Claims["email"],
	})
}

// badges signs employees in with a badge number and a PIN (here, from the environment).
type badges struct{}

func (badges) Authenticate(_ context.Context, credentials map[string]any) (goforward.ExternalIdentity, error) {
	badge, _ := credentials["badge"].(string)
	pin, _ := credentials["pin"].(string)
	want := os.Getenv("BADGE_" + badge + "_PIN")
	if badge == "" || want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(pin)) != 1 {
		return goforward.ExternalIdentity{}, goforward.ErrInvalidCredentials
	}
	return goforward.ExternalIdentity{ID: "badge-" + badge, Metadata: map[string]any{"badge": badge}}, nil
}

func main() {
	app := goforward.New(goforward.WithConfig(func(c *goforward.Config) {
		c.REST.MaxRows = 500
	}))
	must(app.Function("hello", http.HandlerFunc(hello)))
	must(app.Handle("GET /about", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "basic: a Go Forward app")
	})))
	must(app.AuthProvider("badges", badges{}))
	// Every access token says how its session began; SQL reads it with auth.jwt() ->> 'signed_in_with'.
	app.OnCustomAccessToken().BindFunc(func(e *goforward.AccessTokenEvent) error {
		e.Claims["signed_in_with"] = e.AuthenticationMethod
		return e.Next()
	})
	app.OnServe().BindFunc(func(e *goforward.ServeEvent) error {
		gateway := e.Server.Handler
		e.Server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Powered-By", "basic")
			gateway.ServeHTTP(w, r)
		})
		return e.Next()
	})
	if err := app.Execute(); err != nil {
		os.Exit(goforward.ExitCode(err))
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
