package audit_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/audit"
)

// archiveLines reads an archive's lines.
func archiveLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(gz)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

func writeArchive(t *testing.T, path string, lines []string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, err := gz.Write([]byte(strings.Join(lines, "\n") + "\n"))
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
}

// archived writes six old and four recent entries, seals them and applies a day's retention.
func (e *env) archived() (audit.ArchiveResult, []int64) {
	e.t.Helper()
	e.write(6, func(i int, en *audit.Entry) { en.OccurredAt = ago(48*time.Hour - time.Duration(i)*time.Second) })
	e.write(4, nil)
	e.seal()
	ids := e.ids()
	res, err := e.sealer(audit.SealerConfig{Retention: 24 * time.Hour}).Archive(context.Background())
	require.NoError(e.t, err)
	return res, ids
}

func TestRetentionArchivesOldEntriesAndVerifyCrossesTheBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, ids := e.archived()
	require.EqualValues(t, 6, res.Entries)
	require.EqualValues(t, 1, res.FirstSeq)
	require.EqualValues(t, 6, res.LastSeq)
	require.Equal(t, archivePath(e.dir), filepath.Dir(res.File))
	info, err := os.Stat(res.File)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// The rows left the database, which recorded the move; the chain there continues from the
	// head the archive ends on.
	require.Equal(t, 0, e.count(`SELECT count(*) FROM goforward.audit_log WHERE id <= $1`, ids[5]))
	require.Equal(t, 4, e.count(`SELECT count(*) FROM goforward.audit_chain`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM goforward.audit_log WHERE action = 'audit.archived' AND actor_type = 'system'
  AND (details->>'entries')::int = 6 AND resource_id = $1`, filepath.Base(res.File)))
	lines := archiveLines(t, res.File)
	require.Len(t, lines, 7)
	var trailer struct {
		Head audit.ArchiveHead `json:"archive_head"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[6]), &trailer))
	require.EqualValues(t, 6, trailer.Head.LastSeq)
	require.Equal(t, ids[5], trailer.Head.EntryID)
	var firstPrev []byte
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT prev_hash FROM goforward.audit_chain WHERE seq = 7`).Scan(&firstPrev))
	require.Equal(t, []byte(trailer.Head.Hash), firstPrev)
	var first audit.Row
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, ids[0], first.ID)
	require.Equal(t, "admin.test", first.Action)

	r := e.verify()
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.EqualValues(t, 10, r.Checked)
	require.EqualValues(t, 6, r.Archived)
	require.EqualValues(t, 1, r.Unsealed, "the audit.archived entry")

	again, err := e.sealer(audit.SealerConfig{Retention: 24 * time.Hour}).Archive(context.Background())
	require.NoError(t, err)
	require.Zero(t, again.Entries, "nothing else is old enough")
}

func TestVerifyFindsAnEditedArchive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, ids := e.archived()
	lines := archiveLines(t, res.File)
	lines[2] = strings.Replace(lines[2], `"admin.test"`, `"admin.other"`, 1)
	writeArchive(t, res.File, lines)
	r := e.verify()
	requireBroken(t, r, audit.ProblemEdited, 3, ids[2])
	require.Contains(t, r.FirstBroken.Detail, res.File)
}

func TestVerifyFindsAMissingArchive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.archived()
	require.NoError(t, os.Remove(res.File))
	r := e.verify()
	requireBroken(t, r, audit.ProblemRemoved, 1, 0)
	require.Contains(t, r.FirstBroken.Detail, "links 1 to 6")
}

func TestVerifyFindsAShortenedArchive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, _ := e.archived()
	lines := archiveLines(t, res.File)
	writeArchive(t, res.File, append(lines[:4:4], lines[6]))
	requireBroken(t, e.verify(), audit.ProblemRemoved, 5, 0)
}

func TestRetentionKeepsTheLastLinkAndReplacesLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write(5, func(i int, en *audit.Entry) { en.OccurredAt = ago(72 * time.Hour) })
	e.seal()
	// An archive an interrupted run left behind: its rows are still in the database.
	require.NoError(t, os.MkdirAll(archivePath(e.dir), 0o700))
	leftover := filepath.Join(archivePath(e.dir), "audit-00000000000000000001-00000000000000000003.ndjson.gz")
	writeArchive(t, leftover, []string{`{"garbage":true}`})
	require.True(t, e.verify().OK, "verify reads the database for rows still in it")

	res, err := e.sealer(audit.SealerConfig{Retention: 24 * time.Hour}).Archive(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 4, res.Entries, "the chain's last link stays for the sealer to continue from")
	require.NotEqual(t, leftover, res.File)
	_, err = os.Stat(leftover)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM goforward.audit_chain`))

	e.write(2, nil)
	require.Equal(t, 3, e.seal(), "two entries and the audit.archived entry")
	r := e.verify()
	require.True(t, r.OK, "%+v", r.FirstBroken)
	require.EqualValues(t, 8, r.Checked)
}

func TestRetentionRefusesToArchiveAnEditedEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write(4, func(i int, en *audit.Entry) { en.OccurredAt = ago(72 * time.Hour) })
	e.seal()
	e.tamper(`UPDATE goforward.audit_log SET action = 'admin.other' WHERE id = $1`, e.ids()[1])
	_, err := e.sealer(audit.SealerConfig{Retention: 24 * time.Hour}).Archive(context.Background())
	require.ErrorContains(t, err, "differs from what was sealed")
	require.Equal(t, 4, e.count(`SELECT count(*) FROM goforward.audit_log`))
	archives, _ := os.ReadDir(archivePath(e.dir))
	require.Empty(t, archives)
}
