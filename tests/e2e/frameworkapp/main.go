// Command frameworkapp is a program embedding Go Forward through the root package, as an
// application would: tests/e2e builds it and drives its function endpoint with supabase-js.
package main

import (
	"encoding/json"
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

func main() {
	app := goforward.New()
	if err := app.Function("hello", http.HandlerFunc(hello)); err != nil {
		panic(err)
	}
	if err := app.Execute(); err != nil {
		os.Exit(goforward.ExitCode(err))
	}
}
