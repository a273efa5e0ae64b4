package rest_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// scenario is one request and what the client must see.
type scenario struct {
	name string
	call
	status  int
	body    string            // exact JSON body; "" skips the comparison
	raw     string            // exact raw body (CSV); "-" means an empty body
	code    string            // error code, for error responses
	headers map[string]string // response headers that must match exactly
}

// run executes scenarios in parallel against e and returns when all are done.
func run(t *testing.T, e *env, scenarios []scenario) {
	t.Helper()
	t.Run("scenarios", func(t *testing.T) { runScenarios(t, e, scenarios) })
}

func runScenarios(t *testing.T, e *env, scenarios []scenario) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, sc.call)
			require.Equal(t, sc.status, r.Status, "body: %s", r.Body)
			if sc.body != "" {
				require.Equal(t, jsonText(t, sc.body), jsonOf(t, r))
			}
			switch sc.raw {
			case "":
			case "-":
				require.Empty(t, r.Body)
			default:
				require.Equal(t, sc.raw, string(r.Body))
			}
			if sc.code != "" {
				var body struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				r.JSON(t, &body)
				require.Equal(t, sc.code, body.Code, "body: %s", r.Body)
				require.NotEmpty(t, body.Message)
				require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
			}
			for k, v := range sc.headers {
				require.Equal(t, v, r.Header.Get(k), "header %s", k)
			}
		})
	}
}
