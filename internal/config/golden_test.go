package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files from the code")

// envDocFile is the environment variable reference in the project's docs.
const envDocFile = "../../docs/environment.md"

const envDocHeader = `# Environment variables

Generated from internal/config (` + "`go test ./internal/config -update`" + `); do not edit by hand.
Every configuration key can be set with the variable named here; it wins over the YAML file and
loses to command-line flags. ` + "`goforward config env`" + ` prints the same list.

`

// exampleFile lives at the repository root, where users look for it.
const exampleFile = "../../goforward.example.yaml"

const exampleHeader = `# Go Forward configuration: every setting with its default.
# Generated from internal/config (go test ./internal/config -update); do not edit by hand.
# Copy it to goforward.yaml and keep only what you change. Each key can also be set with
# an environment variable (server.max_body_bytes -> GOFORWARD_SERVER_MAX_BODY_BYTES),
# which wins over the file; DATABASE_URL, REDIS_URL and JWT_SECRET work too.

`

// renderEnvTable is the Markdown table of environment variables the docs embed.
func renderEnvTable(vars []EnvVar) string {
	var b strings.Builder
	b.WriteString("| Variable | Key | Default | Description |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, v := range vars {
		key, def := "", ""
		if v.Key != "" {
			key = "`" + v.Key + "`"
		}
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, key, def, v.Doc)
	}
	return b.String()
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/config -update to create it")
	require.Equal(t, string(want), got, "%s is stale: run go test ./internal/config -update", path)
}

func TestEnvVarsGolden(t *testing.T) {
	t.Parallel()
	compareGolden(t, envDocFile, envDocHeader+renderEnvTable(EnvVars()))
}

func TestEnvVarsCoverEveryKeyAndAlias(t *testing.T) {
	t.Parallel()
	byName := map[string]EnvVar{}
	for _, v := range EnvVars() {
		byName[v.Name] = v
	}
	require.Len(t, byName, len(EnvVars()), "no variable is listed twice")
	for _, f := range leafFields() {
		require.Contains(t, byName, f.env)
		require.Equal(t, f.key, byName[f.env].Key)
	}
	for alias, key := range map[string]string{
		"DATABASE_URL":  "database.url",
		"REDIS_URL":     "redis.url",
		"JWT_SECRET":    "jwt.secret",
		"GOFORWARD_ENV": "environment",
	} {
		require.Equal(t, key, byName[alias].Key, alias)
	}
	require.Contains(t, byName, "GOFORWARD_CONFIG")
	require.Equal(t, "1h", byName["GOFORWARD_JWT_EXPIRY"].Default)
	require.Equal(t, "auth,rest,realtime,storage,admin,meta,functions,dashboard", byName["GOFORWARD_SERVICES"].Default)
}

func TestExampleFileGolden(t *testing.T) {
	t.Parallel()
	body, err := Defaults().DocumentedYAML()
	require.NoError(t, err)
	compareGolden(t, exampleFile, exampleHeader+string(body))

	// The example is itself a valid configuration that changes nothing.
	c, err := Load(LoadOptions{File: exampleFile, Getenv: envOf(nil)})
	require.NoError(t, err)
	require.Equal(t, Defaults(), c)
}
