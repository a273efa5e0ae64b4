package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loopCluster is deploy/cluster/cluster.sh's cluster: three nodes behind a load balancer on
// a PostgreSQL primary with a streaming replica, Redis and gofakes3, all plain processes.
type loopCluster struct {
	t     *testing.T
	dir   string
	env   []string
	info  map[string]string // cluster.env
	nodes []string          // node base URLs, node 1 first
	lb    string
}

// clusterScript is deploy/cluster/cluster.sh in this checkout.
func clusterScript(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "cluster", "cluster.sh")
}

// startLoopCluster runs `cluster.sh up` on free ports; nodeEnv lines are added to every
// node's environment.
func startLoopCluster(t *testing.T, nodeEnv ...string) *loopCluster {
	t.Helper()
	if _, err := exec.LookPath("gofakes3"); err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		_, statErr := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "bin", "gofakes3"))
		require.NoError(t, statErr, "gofakes3 is missing: run scripts/deps.sh test")
	}
	c := &loopCluster{t: t, dir: tempDataDir(t)}
	nodePorts := []string{strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))}
	c.env = cleanEnv(
		"GOFORWARD_BIN="+binary,
		"CLUSTER_PG_FSYNC=off",
		"CLUSTER_LB_PORT="+strconv.Itoa(freePort(t)),
		"CLUSTER_NODE_PORTS="+strings.Join(nodePorts, " "),
		"CLUSTER_PG_PORT="+strconv.Itoa(freePort(t)),
		"CLUSTER_REPLICA_PORT="+strconv.Itoa(freePort(t)),
		"CLUSTER_REDIS_PORT="+strconv.Itoa(freePort(t)),
		"CLUSTER_S3_PORT="+strconv.Itoa(freePort(t)),
		"CLUSTER_NODE_ENV="+strings.Join(nodeEnv, "\n"),
	)
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"node1", "node2", "node3", "lb", "s3", "redis", "primary"} {
				raw, _ := os.ReadFile(filepath.Join(c.dir, "logs", name+".log"))
				if len(raw) > 8000 {
					raw = raw[len(raw)-8000:]
				}
				t.Logf("%s.log (tail):\n%s", name, raw)
			}
		}
		c.script(120*time.Second, "down")
	})
	out := c.script(180*time.Second, "up")
	require.Contains(t, out, "Go Forward cluster up")

	f, err := os.Open(filepath.Join(c.dir, "cluster.env"))
	require.NoError(t, err)
	defer f.Close()
	c.info = map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		k, v, _ := strings.Cut(s.Text(), "=")
		c.info[k] = strings.Trim(v, `"`)
	}
	c.nodes = strings.Fields(c.info["NODE_URLS"])
	c.lb = c.info["LB_URL"]
	require.Len(t, c.nodes, 3)
	return c
}

// script runs cluster.sh with args on the cluster's directory and returns its output.
func (c *loopCluster) script(timeout time.Duration, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args = append([]string{args[0], c.dir}, args[1:]...)
	cmd := exec.CommandContext(ctx, "bash", append([]string{clusterScript(c.t)}, args...)...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	require.NoError(c.t, err, "cluster.sh %v:\n%s", args, out)
	return string(out)
}

// pid is the process id cluster.sh recorded for name (node1, redis, ...).
func (c *loopCluster) pid(name string) int {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.dir, "run", name+".pid"))
	require.NoError(c.t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(c.t, err)
	return pid
}

// kill sends SIGKILL to name's process and waits until it is gone.
func (c *loopCluster) kill(name string) {
	c.t.Helper()
	pid := c.pid(name)
	require.NoError(c.t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(c.t, func() bool {
		// The process is cluster.sh's orphan, reaped by init: gone once signal 0 fails or
		// it is a zombie.
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		return err != nil || strings.Contains(string(stat), ") Z ")
	}, 30*time.Second, 20*time.Millisecond, "%s exits after SIGKILL", name)
}

// log is what name's process wrote so far.
func (c *loopCluster) log(name string) string {
	raw, _ := os.ReadFile(filepath.Join(c.dir, "logs", name+".log"))
	return string(raw)
}

// keys returns the anon and service-role keys the nodes share (one JWT secret).
func (c *loopCluster) keys() (anon, service string) {
	c.t.Helper()
	status := statusJSON(c.t, filepath.Join(c.dir, "node1"))
	return status["anon_key"].(string), status["service_role_key"].(string)
}

// take removes and returns the first message matching pred already received, if any.
func (c *wsClient) take(pred func(topic, event string, payload json.RawMessage) bool) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.msgs {
		if m == nil {
			continue
		}
		var topic, event string
		_ = json.Unmarshal(m[2], &topic)
		_ = json.Unmarshal(m[3], &event)
		if pred(topic, event, m[4]) {
			c.msgs = append(c.msgs[:i:i], c.msgs[i+1:]...)
			return m[4], true
		}
	}
	return nil, false
}
