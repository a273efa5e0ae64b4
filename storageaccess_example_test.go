package goforward_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/goforward/goforward"
)

// A function endpoint that saves a note into the caller's own folder, as the caller: the
// bucket's storage policies decide, exactly as for an upload the caller made itself.
func ExampleApp_Storage() {
	app := goforward.New()
	err := app.Function("save-note", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := goforward.PrincipalFrom(r.Context())
		if caller.UserID == "" {
			http.Error(w, `{"error":"sign in first"}`, http.StatusUnauthorized)
			return
		}
		if err := app.Storage().Put(r.Context(), caller, "notes", caller.UserID+"/note.txt", r.Body, "text/plain"); err != nil {
			http.Error(w, `{"error":"not saved"}`, http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	fmt.Println(err)
	// Before serve has built the storage service there is nowhere to store.
	service := goforward.Principal{Role: goforward.RoleServiceRole}
	fmt.Println(app.Storage().Put(context.Background(), service, "notes", "a.txt", strings.NewReader("x"), ""))
	// Output:
	// <nil>
	// goforward: storage: the storage service is not running
}
