// Command basic is a program embedding Go Forward through its root package, in a module of its
// own as an application would be (go.mod's replace points at this repository). It adds a
// function endpoint that supabase-js's functions.invoke reaches, a page of its own, a custom
// auth provider, a custom access token hook, an OnServe hook, a change hook that records
// every new order in another table and a cron job that counts them, and keeps the whole
// goforward command line:
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
	"time"

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
	// The application's tables, created before the services read the schema.
	app.OnBootstrap().BindFunc(func(e *goforward.BootstrapEvent) error {
		if _, err := e.App.DB().Owner().Exec(e.Context, schema); err != nil {
			return fmt.Errorf("create the orders tables: %w", err)
		}
		return e.Next()
	})
	// Every new order is recorded in order_events, at least once (hence ON CONFLICT).
	must(app.OnChange("public.orders", func(ctx context.Context, c goforward.Change) error {
		if c.Type != goforward.ChangeInsert {
			return nil
		}
		id, err := c.Record["id"].(json.Number).Int64()
		if err != nil {
			return err
		}
		_, err = app.DB().Owner().Exec(ctx, `INSERT INTO public.order_events (order_id, user_id, kind)
			VALUES ($1, $2, 'created') ON CONFLICT DO NOTHING`, id, c.Record["user_id"])
		return err
	}))
	// Every five seconds, on one node at a time, the order count is brought up to date.
	must(app.Cron("tally-orders", "@every 5s", func(ctx context.Context) error {
		_, err := app.DB().Owner().Exec(ctx, `INSERT INTO public.order_stats (orders, counted_at)
			SELECT count(*), $1 FROM public.orders
			ON CONFLICT (id) DO UPDATE SET orders = EXCLUDED.orders, counted_at = EXCLUDED.counted_at`, time.Now())
		return err
	}))
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

// schema is the application's own tables: orders users place, the events the change hook
// writes and the count the cron job keeps, each behind row-level security.
const schema = `
CREATE TABLE IF NOT EXISTS public.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid NOT NULL DEFAULT auth.uid(),
  item text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.order_events (
  order_id bigint NOT NULL,
  user_id uuid NOT NULL,
  kind text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, kind)
);
CREATE TABLE IF NOT EXISTS public.order_stats (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  orders bigint NOT NULL,
  counted_at timestamptz NOT NULL
);
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.order_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.order_stats ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_orders ON public.orders;
CREATE POLICY own_orders ON public.orders TO authenticated USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
DROP POLICY IF EXISTS own_events ON public.order_events;
CREATE POLICY own_events ON public.order_events FOR SELECT TO authenticated USING (user_id = auth.uid());
DROP POLICY IF EXISTS everyone ON public.order_stats;
CREATE POLICY everyone ON public.order_stats FOR SELECT TO anon, authenticated USING (true);
GRANT SELECT, INSERT ON public.orders TO authenticated;
GRANT SELECT ON public.order_events TO authenticated;
GRANT SELECT ON public.order_stats TO anon, authenticated;
`

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
