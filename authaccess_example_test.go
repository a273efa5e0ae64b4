package goforward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/goforward/goforward"
)

// An invitation endpoint that creates the invited user with the tenant in app_metadata,
// where the user cannot change it.
func ExampleApp_Auth() {
	app := goforward.New()
	err := app.Function("invite", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := goforward.PrincipalFrom(r.Context())
		if caller.Role != goforward.RoleServiceRole {
			http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
			return
		}
		var in struct{ Email, Tenant string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
			return
		}
		u, err := app.Auth().CreateUser(r.Context(), goforward.NewUser{
			Email: in.Email, EmailConfirm: true, AppMetadata: map[string]any{"tenant": in.Tenant},
		})
		if err != nil {
			http.Error(w, `{"error":"not created"}`, http.StatusUnprocessableEntity)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": u.ID})
	}))
	fmt.Println(err)
	// Before serve has built the auth service there is nowhere to create users.
	_, err = app.Auth().CreateUser(context.Background(), goforward.NewUser{Email: "a@example.com"})
	fmt.Println(err)
	// Output:
	// <nil>
	// goforward: CreateUser: the auth service is not running
}
