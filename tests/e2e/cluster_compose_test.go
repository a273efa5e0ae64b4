package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestClusterComposeFileIsAValidConfiguration: every node of deploy/cluster/compose.yml gets
// an environment goforward accepts (known settings, valid values), replicas included.
func TestClusterComposeFileIsAValidConfiguration(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../../deploy/cluster/compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(text, &compose))
	shell := map[string]string{
		"JWT_SECRET": strings.Repeat("ab", 32), "POSTGRES_PASSWORD": "pw", "AUTHENTICATOR_PASSWORD": "auth", "S3_SECRET_KEY": "s3",
	}
	for _, name := range []string{"node1", "node2", "node3"} {
		node, ok := compose.Services[name]
		require.True(t, ok, "the compose file has %s", name)
		var env []string
		for k, v := range node.Environment {
			env = append(env, k+"="+interpolate(t, v, shell))
		}
		out, errOut, code := run(t, env, "config", "--data-dir", tempDataDir(t))
		require.Equal(t, 0, code, "%s: stdout:\n%s\nstderr:\n%s", name, out, errOut)
		require.Contains(t, out, "read_replicas:", name)
		require.Contains(t, out, "replica:5432", "%s reads from the replica", name)
		require.Contains(t, out, "backend: s3", name)
	}
}
