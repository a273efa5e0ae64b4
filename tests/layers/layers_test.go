// Package layers holds the test that keeps the import direction docs/architecture.md
// describes: base packages know nothing of the features, features know nothing of each
// other, the gateway or the cli, and nothing under internal/ uses the benchmarks or the root
// package (the public API, which sits on top of the cli).
package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/goforward/goforward"

// Layers of the packages under internal/ (docs/architecture.md, "Packages and the direction
// of imports").
const (
	base        = "base"        // config, db, security, httpx, leader, signingkeys, ratelimit, datadir, mailer, sms, access, apikeys, audit, alerts, sqlguard, usermigrations, cron, test fixtures
	meta        = "meta"        // schema introspection, above base: REST uses it
	feature     = "feature"     // auth, rest, realtime, storage, admin, pgmeta, dashboard
	gateway     = "gateway"     // the HTTP front door
	servicetest = "servicetest" // test-only: a feature behind the real gateway
	cli         = "cli"         // the composition root
)

// layerOf lists every directory directly under internal/ (with its sub-packages). A new
// package must be placed here, so that its imports are checked too.
var layerOf = map[string]string{
	"access":         base,
	"alerts":         base,
	"apikeys":        base,
	"audit":          base,
	"config":         base,
	"datadir":        base,
	"db":             base,
	"httpx":          base,
	"leader":         base,
	"mailer":         base,
	"ratelimit":      base,
	"security":       base,
	"signingkeys":    base,
	"sms":            base,
	"sqlguard":       base,
	"tablesecurity":  base,
	"usermigrations": base,
	"cron":           base,
	"webhooks":       base,
	"pgtest":         base,
	"redistest":      base,
	"meta":           meta,
	"admin":          feature,
	"dashboard":      feature,
	"pgmeta":         feature,
	"auth":           feature,
	"realtime":       feature,
	"rest":           feature,
	"storage":        feature,
	"gateway":        gateway,
	"servicetest":    servicetest,
	"cli":            cli,
	"embedglue":      cli, // hands the root package's adapters to its public siblings (storagetest)
}

// mayImport says which layers a layer's own code may import; test files may import a little
// more (testMayImport). Imports within one directory under internal/ (realtime and
// realtime/replication) are always allowed, and cli may import anything under internal/.
var mayImport = map[string][]string{
	base:        {base},
	meta:        {base},
	feature:     {base, meta},
	gateway:     {base},
	servicetest: {base, gateway},
}

// testMayImport widens mayImport for _test.go files: a feature's tests run it behind the real
// gateway (servicetest), as supabase-js would reach it. The gateway's own tests do not get a
// feature: they mount stand-in services.
var testMayImport = map[string][]string{
	feature: {gateway, servicetest},
}

// allowed are the known violations, each to be removed by the named work. None today: keep
// it that way.
var allowed = map[string]string{}

// pkg is what `go list -json` says about one package.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestImportLayers(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	require.NotEmpty(t, pkgs)
	var found []string
	for _, v := range violations(pkgs) {
		if _, ok := allowed[v]; ok {
			found = append(found, v)
			continue
		}
		t.Errorf("%s: docs/architecture.md does not allow this import", v)
	}
	for v := range allowed {
		require.Contains(t, found, v, "an allowed exception that no longer occurs must be removed from the list")
	}
}

// TestImportLayersCatchViolations feeds violations packages that break each rule, so the check
// itself is known to work.
func TestImportLayersCatchViolations(t *testing.T) {
	t.Parallel()
	in := func(p string) string { return module + "/" + p }
	tests := []struct {
		name string
		pkg  pkg
		want []string
	}{
		{"a base package imports a feature", pkg{ImportPath: in("internal/db"), Imports: []string{in("internal/auth")}},
			[]string{"internal/db imports internal/auth"}},
		{"a base package's test imports a feature", pkg{ImportPath: in("internal/config"), XTestImports: []string{in("internal/rest")}},
			[]string{"internal/config imports internal/rest (test)"}},
		{"meta imports a feature", pkg{ImportPath: in("internal/meta"), Imports: []string{in("internal/rest")}},
			[]string{"internal/meta imports internal/rest"}},
		{"a feature imports another", pkg{ImportPath: in("internal/storage"), Imports: []string{in("internal/auth")}},
			[]string{"internal/storage imports internal/auth"}},
		{"a feature's sub-package imports another feature", pkg{ImportPath: in("internal/realtime/replication"), TestImports: []string{in("internal/storage/blob")}},
			[]string{"internal/realtime/replication imports internal/storage/blob (test)"}},
		{"a feature imports the gateway", pkg{ImportPath: in("internal/auth"), Imports: []string{in("internal/gateway")}},
			[]string{"internal/auth imports internal/gateway"}},
		{"a feature imports the cli", pkg{ImportPath: in("internal/rest"), XTestImports: []string{in("internal/cli")}},
			[]string{"internal/rest imports internal/cli (test)"}},
		{"the gateway's test imports a feature", pkg{ImportPath: in("internal/gateway"), XTestImports: []string{in("internal/auth")}},
			[]string{"internal/gateway imports internal/auth (test)"}},
		{"internal imports bench", pkg{ImportPath: in("internal/cli"), TestImports: []string{in("bench/restbench")}},
			[]string{"internal/cli imports bench/restbench (test)"}},
		{"the cli imports the root package", pkg{ImportPath: in("internal/cli"), Imports: []string{module}},
			[]string{"internal/cli imports the root package"}},
		{"a base package's test imports the root package", pkg{ImportPath: in("internal/db"), XTestImports: []string{module}},
			[]string{"internal/db imports the root package (test)"}},
		{"a package nobody placed", pkg{ImportPath: in("internal/newthing")},
			[]string{"internal/newthing is in no layer: add it to layerOf"}},
		{"a feature's test behind the gateway", pkg{ImportPath: in("internal/auth"),
			XTestImports: []string{in("internal/gateway"), in("internal/servicetest"), in("internal/pgtest"), in("internal/auth")}}, nil},
		{"a feature imports its own sub-package and meta", pkg{ImportPath: in("internal/rest"),
			Imports: []string{in("internal/meta"), in("internal/db"), "net/http"}}, nil},
		{"the cli imports everything", pkg{ImportPath: in("internal/cli"), Imports: []string{in("internal/auth"), in("internal/gateway"), in("migrations")}}, nil},
		{"bench imports internal", pkg{ImportPath: in("bench/restbench"), Imports: []string{in("internal/rest")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, violations([]pkg{tt.pkg}))
		})
	}
}

// violations describes every import of pkgs that the layers forbid.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok || !strings.HasPrefix(from, "internal/") {
			continue
		}
		fromLayer, known := layer(from)
		if !known {
			out = append(out, from+" is in no layer: add it to layerOf")
			continue
		}
		check := func(imports []string, test bool) {
			for _, imp := range imports {
				to, ok := strings.CutPrefix(imp, module+"/")
				if imp == module {
					// The root package (the public API) is built on internal/, never under it.
					to, ok = "the root package", true
				} else if !ok || !forbidden(from, fromLayer, to, test) {
					continue
				}
				v := from + " imports " + to
				if test {
					v += " (test)"
				}
				if !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
		check(p.Imports, false)
		check(p.TestImports, true)
		check(p.XTestImports, true)
	}
	return out
}

// forbidden reports whether package from (in fromLayer) may not import to, a path inside the
// module.
func forbidden(from, fromLayer, to string, test bool) bool {
	if !strings.HasPrefix(to, "internal/") {
		// migrations is embedded SQL and dashboard the dashboard's embedded files; bench, cmd
		// and tests sit above everything.
		return to != "migrations" && to != "dashboard"
	}
	if top(from) == top(to) || fromLayer == cli {
		return false
	}
	toLayer, known := layer(to)
	if !known {
		return true
	}
	allowed := mayImport[fromLayer]
	if test {
		allowed = append(slices.Clone(allowed), testMayImport[fromLayer]...)
	}
	return !slices.Contains(allowed, toLayer)
}

// top is the directory directly under internal/ that path lies in.
func top(path string) string {
	rest := strings.TrimPrefix(path, "internal/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func layer(path string) (string, bool) {
	l, ok := layerOf[top(path)]
	return l, ok
}

// listPackages runs `go list -json` over the whole module, test imports included.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "go list: %s", stderr.String())
	var pkgs []pkg
	dec := json.NewDecoder(&stdout)
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decode go list output after %d packages", len(pkgs))
		pkgs = append(pkgs, p)
	}
	return pkgs
}
