// Package pgtest gives every test its own PostgreSQL database on one real cluster shared by
// the whole test run. The cluster is started with the product's own managed-cluster code
// (db.Managed), each database is cloned from a template that already holds the internal
// schema, and tests run in parallel without seeing each other's data.
//
// Import it from _test.go files only: call Main from TestMain, then NewDatabase or
// NewEmptyDatabase in each test.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/goforward/goforward/internal/db"
)

// EnvDatabaseURL names the superuser URL of a running server for tests to use. withpg sets it
// for a whole `go test ./...`; when it is empty, Main starts a cluster for its test binary.
const EnvDatabaseURL = "GOFORWARD_TEST_DATABASE_URL"

// clusterSettings tune a throwaway cluster: room for many parallel tests with small pools,
// and no durability, which tests never need and which costs them most of their write time.
func clusterSettings() map[string]string {
	return map[string]string{
		"max_connections":    "300",
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
	}
}

// Cluster is a managed PostgreSQL cluster in a temporary directory, for one test run.
type Cluster struct {
	managed *db.Managed
	tempDir string
}

// StartCluster creates and starts a throwaway cluster. logger nil means slog.Default().
// Close stops it and deletes its files.
func StartCluster(ctx context.Context, logger *slog.Logger) (*Cluster, error) {
	tempDir, err := os.MkdirTemp("", "goforward-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	// MkdirTemp makes it 0700; the postgres user must pass through when we run as root.
	if err := os.Chmod(tempDir, 0o711); err != nil {
		os.RemoveAll(tempDir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	managed, err := db.NewManaged(db.ManagedConfig{
		Dir:      filepath.Join(tempDir, "pg"),
		NoSync:   true,
		Settings: clusterSettings(),
		Logger:   logger,
	})
	if err == nil {
		err = managed.Start(ctx)
	}
	if err != nil {
		os.RemoveAll(tempDir)
		return nil, fmt.Errorf("pgtest: start cluster: %w", err)
	}
	return &Cluster{managed: managed, tempDir: tempDir}, nil
}

// URL is the cluster's superuser URL (it holds the password).
func (c *Cluster) URL() string { return c.managed.DSN() }

// Close stops the cluster and removes its directory.
func (c *Cluster) Close(ctx context.Context) error {
	stopErr := c.managed.Stop(ctx)
	return errors.Join(stopErr, os.RemoveAll(c.tempDir))
}

// Main runs a package's tests against a shared server. With EnvDatabaseURL set it uses that
// server; otherwise it starts a cluster for this test binary, publishes its URL in
// EnvDatabaseURL (so NewDatabase and any child process find it) and removes it after the tests.
// It exits with the tests' exit code.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has its own cleanup to do: it returns the exit code
// instead of exiting.
func Run(m *testing.M) int {
	if os.Getenv(EnvDatabaseURL) != "" {
		return m.Run()
	}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := StartCluster(ctx, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	if err := os.Setenv(EnvDatabaseURL, cluster.URL()); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	} else {
		code = m.Run()
	}
	if err := cluster.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: stop cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
