package goforward_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/goforward/goforward"
)

// A function endpoint that tells every client watching an order's channel that it shipped.
func ExampleApp_Realtime() {
	app := goforward.New()
	err := app.Function("ship-order", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if err := app.Realtime().Broadcast(r.Context(), "order:"+id, "shipped", map[string]any{"id": id}); err != nil {
			http.Error(w, `{"error":"not delivered"}`, http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	fmt.Println(err)
	// Before serve has built the realtime service there is nobody to send to.
	fmt.Println(app.Realtime().Broadcast(context.Background(), "order:1", "shipped", nil))
	// Output:
	// <nil>
	// goforward: Broadcast: the realtime service is not running
}
