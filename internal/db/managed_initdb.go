package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// clusterMajor returns the major version in data/PG_VERSION, or 0 when there is no finished
// cluster. PG_VERSION is what PostgreSQL itself checks to recognise a data directory.
func clusterMajor(dataDir string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cluster version: %w", err)
	}
	major, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("read cluster version %s: unexpected content %q", filepath.Join(dataDir, "PG_VERSION"), raw)
	}
	return major, nil
}

// initCluster runs initdb into a scratch directory and renames it to data/ when it succeeds,
// so data/ only ever holds a finished cluster. A run killed half-way leaves the scratch
// directory (or, from older layouts, a data/ without PG_VERSION); both are thrown away and
// initdb starts over instead of blocking every later start.
func (m *Managed) initCluster(ctx context.Context, p clusterPaths, bins serverBinaries, acct serverAccount, password string) error {
	if _, err := os.Stat(p.data); err == nil {
		m.logger.Warn("removing an unfinished cluster directory", "dir", p.data)
		if err := os.RemoveAll(p.data); err != nil {
			return fmt.Errorf("remove unfinished cluster: %w", err)
		}
	}
	scratch := p.data + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove unfinished cluster: %w", err)
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if err := acct.chown(scratch); err != nil {
		return err
	}

	pwfile, err := writePasswordFile(p.root, password, acct)
	if err != nil {
		return err
	}
	defer os.Remove(pwfile)

	args := []string{
		"-D", scratch,
		"--username=postgres",
		"--auth=scram-sha-256",
		"--pwfile=" + pwfile,
		"--encoding=UTF8",
		"--no-locale",
	}
	if m.cfg.NoSync {
		args = append(args, "--no-sync")
	}
	var out bytes.Buffer
	cmd := exec.Command(bins.initdb(), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	// The server account may not be able to enter our working directory (say /root), and
	// PostgreSQL's tools refuse to run where they cannot resolve their current directory.
	cmd.Dir = p.root
	m.logger.Info("creating PostgreSQL cluster", "dir", p.data, "version", bins.version)
	c, err := startChild(cmd, acct)
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("initdb: %w", ctx.Err())
	}
	if c.waitErr != nil {
		return fmt.Errorf("initdb: %w\n%s", c.waitErr, lastLines(out.String(), 20))
	}
	if err := os.Rename(scratch, p.data); err != nil {
		return fmt.Errorf("move new cluster into place: %w", err)
	}
	return nil
}

// writePasswordFile puts the superuser password where initdb, running as the server account,
// can read it and nobody else can. The caller removes it.
func writePasswordFile(dir, password string, acct serverAccount) (string, error) {
	f, err := os.CreateTemp(dir, ".pwfile-*")
	if err != nil {
		return "", fmt.Errorf("write initdb password file: %w", err)
	}
	name := f.Name()
	_, werr := f.WriteString(password + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write initdb password file: %w", err)
	}
	if err := acct.chown(name); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
