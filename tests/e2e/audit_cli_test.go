package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// auditReport is the part of `goforward audit verify --json` these tests read.
type auditReport struct {
	OK       bool  `json:"ok"`
	Checked  int64 `json:"checked"`
	Unsealed int64 `json:"unsealed"`
	Anchor   *struct {
		Seq int64 `json:"seq"`
	} `json:"anchor"`
	FirstBroken *struct {
		Problem string `json:"problem"`
		EntryID int64  `json:"entry_id"`
		Detail  string `json:"detail"`
	} `json:"first_broken"`
}

func auditVerify(t *testing.T, dataDir string) (auditReport, int) {
	t.Helper()
	out, errOut, code := run(t, nil, "audit", "verify", "--data-dir", dataDir, "--json")
	var r auditReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), "stdout: %s\nstderr: %s", out, errOut)
	return r, code
}

// failSignIn makes a password sign-in with a wrong password: an auth.sign_in_failed entry.
func failSignIn(t *testing.T, baseURL, anonKey, email string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, postJSON(t, baseURL+"/auth/v1/token?grant_type=password", anonKey,
		map[string]any{"email": email, "password": "not-the-password"}))
}

// TestAuditCommandsWithAndWithoutServe drives `goforward audit verify|export|tail` against a
// data directory with no server, with a server (whose sealer chains what auth writes even
// when the admin service is not mounted), then again without, and finally after an entry was
// edited through the database owner's connection.
func TestAuditCommandsWithAndWithoutServe(t *testing.T) {
	t.Parallel()
	dataDir := tempDataDir(t)

	// No server: the command starts the managed cluster under its lock and stops it after.
	r, code := auditVerify(t, dataDir)
	require.Equal(t, 0, code)
	require.True(t, r.OK)
	require.Zero(t, r.Checked)
	require.Nil(t, r.Anchor)

	srv := startServer(t, dataDir, nil, "--services", "auth")
	srv.waitReady(60 * time.Second)
	status := statusJSON(t, dataDir)
	anon := status["anon_key"].(string)
	email := "audited@example.com"
	require.Equal(t, http.StatusOK, postJSON(t, srv.url()+"/auth/v1/signup", anon, map[string]any{"email": email, "password": "correct-horse-42"}))
	failSignIn(t, srv.url(), anon, email)
	// The server's sealer chains auth's entries and records the head in the data directory.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r, _ = auditVerify(t, dataDir)
		if r.OK && r.Unsealed == 0 && r.Checked >= 3 && r.Anchor != nil && r.Anchor.Seq == r.Checked {
			break
		}
		require.True(t, time.Now().Before(deadline), "not sealed: %+v", r)
	}

	out, errOut, code := run(t, nil, "audit", "tail", "--data-dir", dataDir, "-n", "2")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[1], "auth.sign_in_failed")
	require.Contains(t, lines[1], "denied")
	require.Contains(t, lines[1], "from 127.0.0.1")

	// tail --follow prints what is written after it started, until interrupted.
	follow := exec.Command(binary, "audit", "tail", "--data-dir", dataDir, "--follow", "-n", "0", "--json", "--action", "auth.sign_in_failed")
	follow.Env = cleanEnv()
	stdout, err := follow.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, follow.Start())
	followed := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			followed <- sc.Text()
		}
		close(followed)
	}()
	// Each attempt uses an address of its own, so none is locked out however many it takes.
	var line string
	for attempt := 0; line == ""; attempt++ {
		require.Less(t, attempt, 30, "tail --follow printed nothing")
		failSignIn(t, srv.url(), anon, fmt.Sprintf("ghost-%d@example.com", attempt))
		select {
		case line = <-followed:
		case <-time.After(time.Second):
		}
	}
	var row map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &row), line)
	require.Equal(t, "auth.sign_in_failed", row["action"])
	require.NoError(t, follow.Process.Signal(syscall.SIGINT))
	for range followed {
	}
	require.NoError(t, follow.Wait(), "an interrupted tail --follow exits 0")

	out, errOut, code = run(t, nil, "audit", "export", "--data-dir", dataDir, "--format", "csv", "--action", "auth.*")
	require.Equal(t, 0, code, errOut)
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "action", records[0][5])
	require.GreaterOrEqual(t, len(records), 4)
	for _, rec := range records[1:] {
		require.True(t, strings.HasPrefix(rec[5], "auth."), rec[5])
	}
	require.Equal(t, 0, srv.stop())

	// No server again: nothing seals what the CLI writes now.
	r, code = auditVerify(t, dataDir)
	require.Equal(t, 0, code)
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.NotNil(t, r.Anchor)
	before := r.Unsealed
	file := filepath.Join(t.TempDir(), "audit.ndjson")
	_, errOut, code = run(t, nil, "audit", "export", "--data-dir", dataDir, "--output", file)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^Wrote \d+ entries to `, errOut)
	info, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	r, _ = auditVerify(t, dataDir)
	require.True(t, r.OK)
	require.Equal(t, before+1, r.Unsealed, "the export's own entry waits for a server to seal it")
	text, errOut, code := run(t, nil, "audit", "verify", "--data-dir", dataDir)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^OK: \d+ entries verified; \d+ newest not sealed yet\.`, text)
	_, errOut, code = run(t, nil, "audit", "export", "--data-dir", dataDir, "--output", file)
	require.NotEqual(t, 0, code, "an export never overwrites a file")
	require.Contains(t, errOut, "choose a new file name")
	_, errOut, code = run(t, nil, "audit", "tail", "--data-dir", dataDir, "--outcome", "maybe")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "outcome must be success, denied or error")

	// Someone with the owner's password edits an entry: verify names it, with or without a
	// server, and exits 1.
	srv = startServer(t, dataDir, nil)
	srv.waitReady(60 * time.Second)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, statusJSON(t, dataDir)["db_url"].(string))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var victim int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT min(id) FROM goforward.audit_log WHERE action = 'auth.sign_in_failed'`).Scan(&victim))
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE goforward.audit_log SET outcome = 'success' WHERE id = $1`, victim)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))

	r, code = auditVerify(t, dataDir)
	require.Equal(t, 1, code)
	require.False(t, r.OK)
	require.Equal(t, "edited", r.FirstBroken.Problem)
	require.Equal(t, victim, r.FirstBroken.EntryID)
	text, errOut, code = run(t, nil, "audit", "verify", "--data-dir", dataDir)
	require.Equal(t, 1, code)
	require.Contains(t, text, "BROKEN: edited entry")
	require.Contains(t, errOut, "tampered with")

	// The admin API says the same.
	req, err := http.NewRequest(http.MethodGet, srv.url()+"/admin/v1/audit/verify", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+statusJSON(t, dataDir)["service_role_key"].(string))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var api auditReport
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&api))
	require.False(t, api.OK)
	require.Equal(t, victim, api.FirstBroken.EntryID)
}
