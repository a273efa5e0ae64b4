package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const composeFile = "../../deploy/docker-compose.yml"

// documentedVariable is one NAME=value of the command in the compose file's header comment;
// a value may be $(openssl rand -hex N).
var documentedVariable = regexp.MustCompile(`([A-Z][A-Z0-9_]*)=(\$\(openssl rand -hex (\d+)\)|[^\s\\]+)`)

// composeVariable is compose's ${NAME}, ${NAME:-default} or ${NAME:?message}.
var composeVariable = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

// TestComposeFileStartsInProduction runs `goforward env check` with exactly the environment
// deploy/docker-compose.yml gives the goforward container when started with the command its
// header documents: production must have nothing to refuse, or `serve` would not start.
// (Docker itself does not run here; env check applies the same rules serve does.)
func TestComposeFileStartsInProduction(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(composeFile)
	require.NoError(t, err)

	shell := documentedCommand(t, string(text))
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(text, &compose))
	service, ok := compose.Services["goforward"]
	require.True(t, ok, "the compose file has a goforward service")
	require.NotEmpty(t, service.Environment)

	var env []string
	for name, value := range service.Environment {
		env = append(env, name+"="+interpolate(t, value, shell))
	}
	require.Contains(t, env, "GOFORWARD_ENV=production")

	out, errOut, code := run(t, env, "env", "check")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.True(t, strings.HasPrefix(out, "configuration is valid (environment production); nothing production would refuse\n"), out)
	require.Contains(t, out, "admin sign-in in production:\n  - a second factor (a TOTP code or a backup code) is required for system_admin and super_admin")
}

// documentedCommand returns the variables the header's `docker compose ... up` command sets,
// with a fresh random value for each $(openssl rand -hex N).
func documentedCommand(t *testing.T, compose string) map[string]string {
	t.Helper()
	var command strings.Builder
	for line := range strings.SplitSeq(compose, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if command.Len() > 0 || strings.Contains(line, "=$(openssl") {
			command.WriteString(strings.TrimPrefix(line, "#"))
			if strings.Contains(line, "docker compose") {
				break
			}
		}
	}
	require.Contains(t, command.String(), "docker compose -f deploy/docker-compose.yml up", "the header documents the command")
	vars := map[string]string{}
	for _, m := range documentedVariable.FindAllStringSubmatch(command.String(), -1) {
		value := m[2]
		if m[3] != "" {
			n, err := strconv.Atoi(m[3])
			require.NoError(t, err)
			random := make([]byte, n)
			_, _ = rand.Read(random)
			value = hex.EncodeToString(random)
		}
		vars[m[1]] = value
	}
	require.NotEmpty(t, vars)
	return vars
}

// interpolate substitutes compose's variables as `docker compose` does with the documented
// command's environment. A required variable the command does not set fails the test, as
// compose refuses to start.
func interpolate(t *testing.T, value string, shell map[string]string) string {
	t.Helper()
	return composeVariable.ReplaceAllStringFunc(value, func(ref string) string {
		m := composeVariable.FindStringSubmatch(ref)
		name, op, arg := m[1], m[2], m[3]
		if v := shell[name]; v != "" {
			return v
		}
		switch op {
		case ":-":
			return arg
		case ":?":
			t.Fatalf("the documented command does not set %s, which the compose file requires (%s)", name, arg)
		default:
			t.Fatalf("the documented command does not set %s; compose would substitute an empty value", name)
		}
		return ""
	})
}
