package goforward_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/goforward/goforward"
)

// A program embedding Go Forward: a function endpoint, then the binary's command line.
func Example() {
	app := goforward.New()
	if err := app.Function("hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := goforward.PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"hello": p.UserID, "role": p.Role})
	})); err != nil {
		log.Fatal(err)
	}
	// In main: `go run . serve` serves it at /functions/v1/hello.
	app.RootCmd().SetArgs([]string{"config", "env"})
	var out bytes.Buffer
	app.RootCmd().SetOut(&out)
	if err := app.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(out.String(), "GOFORWARD_SERVICES"))
	// Output: true
}

// Defaults from code; goforward.yaml, GOFORWARD_* variables and flags still override them.
func ExampleWithConfig() {
	app := goforward.New(goforward.WithConfig(func(c *goforward.Config) {
		c.REST.MaxRows = 500
		c.Services = []string{"auth", "rest", "functions"}
	}))
	var out bytes.Buffer
	app.RootCmd().SetArgs([]string{"config"})
	app.RootCmd().SetOut(&out)
	if err := app.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	// The rest section's max_rows (sql has one too).
	_, rest, _ := strings.Cut(out.String(), "\nrest:")
	for _, line := range strings.Split(rest, "\n") {
		if strings.Contains(line, "max_rows") {
			fmt.Println(strings.TrimSpace(line))
			break
		}
	}
	// Output: max_rows: 500
}

// A program adds its own commands next to serve, status, admin, migrate, ...
func ExampleApp_RootCmd() {
	app := goforward.New()
	app.RootCmd().AddCommand(&cobra.Command{
		Use:   "seed",
		Short: "Load the demo data",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "seeding")
			return nil
		},
	})
	app.RootCmd().SetArgs([]string{"seed"})
	if err := app.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output: seeding
}

// Functions live at /functions/v1/{name}, where supabase.functions.invoke(name) calls them.
func ExampleApp_Function() {
	app := goforward.New()
	err := app.Function("send-invoice", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := goforward.PrincipalFrom(r.Context())
		if !ok || p.Role != goforward.RoleAuthenticated {
			http.Error(w, `{"error":"sign in first"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"user":%q}`, p.UserID)
	}))
	fmt.Println(err)
	fmt.Println(app.Function("send invoice", http.NotFoundHandler()))
	// Output:
	// <nil>
	// goforward: function name "send invoice" must be a letter followed by letters, digits, '-' and '_' (at most 128)
}

// Routes outside Go Forward's own paths; those are refused.
func ExampleApp_Handle() {
	app := goforward.New()
	fmt.Println(app.Handle("GET /hello/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.PathValue("name"))
	})))
	fmt.Println(app.Handle("POST /rest/v1/mine", http.NotFoundHandler()))
	// Output:
	// <nil>
	// goforward: route "POST /rest/v1/mine": /rest/v1 is reserved for Go Forward's own services
}

// pinDirectory signs employees in with a badge number and a PIN.
type pinDirectory map[string]string

func (d pinDirectory) Authenticate(_ context.Context, credentials map[string]any) (goforward.ExternalIdentity, error) {
	badge, _ := credentials["badge"].(string)
	pin, _ := credentials["pin"].(string)
	want, ok := d[badge]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pin)) != 1 {
		return goforward.ExternalIdentity{}, goforward.ErrInvalidCredentials
	}
	return goforward.ExternalIdentity{ID: "badge-" + badge}, nil
}

// POST /auth/v1/token?grant_type=custom&provider=badges with {"badge":…,"pin":…} signs in.
func ExampleApp_AuthProvider() {
	app := goforward.New()
	fmt.Println(app.AuthProvider("badges", pinDirectory{"1001": "4321"}))
	fmt.Println(app.AuthProvider("email", pinDirectory{}))
	// Output:
	// <nil>
	// goforward: auth provider name "email" is reserved
}

// OnServe changes the server before it listens: a route, and a header on every response.
func ExampleApp_OnServe() {
	app := goforward.New()
	app.OnServe().BindFunc(func(e *goforward.ServeEvent) error {
		if err := e.Router.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "1.0.0")
		}); err != nil {
			return err
		}
		gateway := e.Server.Handler
		e.Server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-App", "demo")
			gateway.ServeHTTP(w, r)
		})
		return e.Next()
	})
}

// OnBootstrap runs once the configuration is loaded and the database is ready.
func ExampleApp_OnBootstrap() {
	app := goforward.New()
	app.OnBootstrap().BindFunc(func(e *goforward.BootstrapEvent) error {
		log.Printf("starting in %s", e.Config.Environment)
		return e.Next()
	})
}

// OnTerminate runs after the HTTP server has drained, before the database closes.
func ExampleApp_OnTerminate() {
	app := goforward.New()
	app.OnTerminate().BindFunc(func(e *goforward.TerminateEvent) error {
		log.Print("bye")
		return e.Next()
	})
}

// A function reads the caller's rows under row-level security, as /rest/v1 would.
func ExampleApp_DB() {
	app := goforward.New()
	_ = app.Function("my-notes", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := goforward.PrincipalFrom(r.Context())
		var count int
		err := app.DB().InRole(r.Context(), caller, func(tx pgx.Tx) error {
			return tx.QueryRow(r.Context(), "SELECT count(*) FROM notes").Scan(&count)
		})
		if err != nil {
			http.Error(w, `{"error":"database"}`, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"notes":%d}`, count)
	}))
}

// A claim of the application's in every access token: supabase-js shows it in
// session.access_token, and SQL reads it with auth.jwt() ->> 'user_role'.
func ExampleApp_OnCustomAccessToken() {
	app := goforward.New()
	app.OnCustomAccessToken().BindFunc(func(e *goforward.AccessTokenEvent) error {
		var role string
		err := e.App.DB().Owner().QueryRow(e.Context,
			"SELECT coalesce((SELECT role FROM public.user_roles WHERE user_id = $1), 'viewer')", e.UserID).Scan(&role)
		if err != nil {
			return err // a 500: the user gets no token rather than one without the claim
		}
		e.Claims["user_role"] = role
		return e.Next()
	})
}

// Sign-ups only from the company's domain.
func ExampleApp_OnBeforeUserCreated() {
	app := goforward.New()
	app.OnBeforeUserCreated().BindFunc(func(e *goforward.UserCreateEvent) error {
		if !e.IsAnonymous && !strings.HasSuffix(e.Email, "@example.com") {
			return &goforward.AuthHookError{Status: http.StatusForbidden, Message: "Sign-ups are for example.com addresses"}
		}
		return e.Next()
	})
}

// An extra lockout of the application's: accounts it has flagged cannot sign in with a
// password, and are signed out everywhere when they try.
func ExampleApp_OnPasswordVerificationAttempt() {
	app := goforward.New()
	flagged := map[string]bool{"0b7c5f0e-8d1a-4f57-9a55-3e1a6f3c2d10": true}
	app.OnPasswordVerificationAttempt().BindFunc(func(e *goforward.PasswordVerificationEvent) error {
		if flagged[e.UserID] {
			e.Reject, e.SignOut, e.Message = true, true, "This account is under review"
		}
		return e.Next()
	})
}

// Row changes of a table reach Go code in commit order, at least once, on one node at a time:
// here each new order is copied into an outbox table.
func ExampleApp_OnChange() {
	app := goforward.New()
	err := app.OnChange("public.orders", func(ctx context.Context, c goforward.Change) error {
		if c.Type != goforward.ChangeInsert {
			return nil
		}
		// An error hands the change on again later; nothing after it overtakes it.
		_, err := app.DB().Owner().Exec(ctx, `INSERT INTO public.outbox (order_id) VALUES ($1)`, c.Record["id"])
		return err
	})
	fmt.Println(err)
	fmt.Println(app.OnChange("public.orders.x", func(context.Context, goforward.Change) error { return nil }))
	// Output:
	// <nil>
	// goforward: OnChange "public.orders.x": the table must be schema.table
}

// A job every five minutes, on one node of the cluster at a time; runs and failures are in
// goforward.cron_runs and at GET /admin/v1/cron/runs.
func ExampleApp_Cron() {
	app := goforward.New()
	err := app.Cron("purge-carts", "*/5 * * * *", func(ctx context.Context) error {
		_, err := app.DB().Owner().Exec(ctx, `DELETE FROM public.carts WHERE updated_at < now() - interval '1 day'`)
		return err
	})
	fmt.Println(err)
	fmt.Println(app.Cron("report", "every monday", func(context.Context) error { return nil }) != nil)
	// Output:
	// <nil>
	// true
}

// An extra rule on second factors: after a wrong code, the next verification is refused and
// the user signed out everywhere.
func ExampleApp_OnMFAVerificationAttempt() {
	app := goforward.New()
	var mu sync.Mutex
	failed := map[string]bool{}
	app.OnMFAVerificationAttempt().BindFunc(func(e *goforward.MFAVerificationEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if failed[e.UserID] {
			e.Reject, e.Message = true, "Sign in again"
		}
		failed[e.UserID] = !e.Valid
		return e.Next()
	})
}

// The auth service's e-mail goes out through the application's own transport.
func ExampleApp_OnSendEmail() {
	app := goforward.New()
	app.OnSendEmail().BindFunc(func(e *goforward.SendEmailEvent) error {
		req, err := http.NewRequestWithContext(e.Context, http.MethodPost, "https://mail.example.com/send",
			strings.NewReader(fmt.Sprintf(`{"to":%q,"subject":%q}`, e.To, e.Subject)))
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return &goforward.AuthHookError{Status: http.StatusServiceUnavailable, Message: "Mail is unavailable, try again later"}
		}
		resp.Body.Close()
		return e.Next()
	})
}

// Codes by text message through the application's provider.
func ExampleApp_OnSendSMS() {
	app := goforward.New()
	app.OnSendSMS().BindFunc(func(e *goforward.SendSMSEvent) error {
		log.Printf("send %q to %s", e.Body, e.To) // replace with the provider's API
		return e.Next()
	})
}
