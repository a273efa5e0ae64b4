package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// An archive holds a run of the chain that retention moved out of the database:
// Dir/archive/audit-<first seq>-<last seq>.ndjson.gz, gzip-compressed NDJSON, one entry per
// line in the export's shape with its seq, prev_hash and hash, then one trailer line,
// {"archive_head": …}, naming the range and the chain head the archive ends on. Verification
// recomputes every line's hash and continues from the trailer's head into the next archive or
// into the database, whose first link must name that head as its prev_hash.

// ArchiveHead is an archive's trailer.
type ArchiveHead struct {
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
	Entries  int64 `json:"entries"`
	// PrevHash is the hash the archive's first link follows; Hash the head it ends on.
	PrevHash   Hash      `json:"prev_hash"`
	Hash       Hash      `json:"hash"`
	EntryID    int64     `json:"entry_id"` // the entry of the last link
	ArchivedAt time.Time `json:"archived_at"`
}

func archiveDir(dir string) string { return filepath.Join(dir, "archive") }

func archiveName(first, last int64) string {
	return fmt.Sprintf("audit-%020d-%020d.ndjson.gz", first, last)
}

// archiveFile is an archive found on disk.
type archiveFile struct {
	path        string
	first, last int64
}

// listArchives returns the archives under dir, in chain order.
func listArchives(dir string) ([]archiveFile, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(archiveDir(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: list archives: %w", err)
	}
	var out []archiveFile
	for _, e := range entries {
		var a archiveFile
		if _, err := fmt.Sscanf(e.Name(), "audit-%d-%d.ndjson.gz", &a.first, &a.last); err != nil || e.Name() != archiveName(a.first, a.last) {
			continue
		}
		a.path = filepath.Join(archiveDir(dir), e.Name())
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b archiveFile) int { return int(a.first - b.first) })
	return out, nil
}

// archiveWriter writes one archive.
type archiveWriter struct {
	file *atomicFile
	buf  *bufio.Writer
	gz   *gzip.Writer
	enc  *json.Encoder
	head ArchiveHead
}

func newArchiveWriter(dir string) (*archiveWriter, error) {
	f, err := createAtomic(archiveDir(dir))
	if err != nil {
		return nil, err
	}
	w := &archiveWriter{file: f, buf: bufio.NewWriterSize(f.f, 256<<10)}
	w.gz = gzip.NewWriter(w.buf)
	w.enc = json.NewEncoder(w.gz)
	w.enc.SetEscapeHTML(false)
	return w, nil
}

func (w *archiveWriter) add(r Row) error {
	if w.head.Entries == 0 {
		w.head.FirstSeq, w.head.PrevHash = *r.Seq, r.PrevHash
	}
	w.head.Entries++
	w.head.LastSeq, w.head.Hash, w.head.EntryID = *r.Seq, r.Hash, r.ID
	return w.enc.Encode(r)
}

// commit writes the trailer and puts the archive in place.
func (w *archiveWriter) commit(now time.Time) (string, error) {
	w.head.ArchivedAt = now.UTC()
	if err := w.enc.Encode(map[string]ArchiveHead{"archive_head": w.head}); err != nil {
		w.file.abort()
		return "", err
	}
	if err := w.gz.Close(); err != nil {
		w.file.abort()
		return "", err
	}
	if err := w.buf.Flush(); err != nil {
		w.file.abort()
		return "", err
	}
	name := archiveName(w.head.FirstSeq, w.head.LastSeq)
	if err := w.file.commit(name); err != nil {
		return "", err
	}
	return filepath.Join(w.file.dir, name), nil
}

func (w *archiveWriter) abort() { w.file.abort() }

// archiveLine is one line of an archive: an entry, or the trailer.
type archiveLine struct {
	Row
	ArchiveHead *ArchiveHead `json:"archive_head"`
}

// archive verifies one archive file, streaming it. Lines from dbFirst on are left to the
// database (an archive that retention wrote but had not deleted yet).
func (v *verifier) archive(a archiveFile, dbFirst *int64) error {
	f, err := os.Open(a.path)
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		v.fail(ProblemEdited, a.first, 0, "archive %s is unreadable: %v", a.path, err)
		return nil
	}
	dec := json.NewDecoder(gz)
	source := "archive " + a.path
	var trailer *ArchiveHead
	var last chainRow
	for {
		var line archiveLine
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) && trailer != nil {
				break
			}
			v.fail(ProblemEdited, v.next, 0, "archive %s is damaged after link %d: %v", a.path, v.next-1, err)
			return nil
		}
		if trailer != nil {
			v.fail(ProblemEdited, trailer.LastSeq, 0, "archive %s has lines after its trailer", a.path)
			return nil
		}
		if line.ArchiveHead != nil {
			trailer = line.ArchiveHead
			continue
		}
		if line.Seq == nil {
			v.fail(ProblemEdited, v.next, line.ID, "archive %s has an entry without a link after link %d", a.path, v.next-1)
			return nil
		}
		if dbFirst != nil && *line.Seq >= *dbFirst {
			continue
		}
		r := line.Row
		if r.Details, err = compactJSON(r.Details); err != nil {
			v.fail(ProblemEdited, *r.Seq, r.ID, "entry %d in %s has malformed details", r.ID, source)
			return nil
		}
		last = chainRow{seq: *r.Seq, entryID: r.ID, prev: r.PrevHash, hash: r.Hash, entry: &r}
		if !v.link(last, source) {
			return nil
		}
		v.report.Archived++
	}
	// The trailer must name what the lines hold, so that a file cut short and given a forged
	// trailer, or lines appended to one, do not pass.
	if trailer.FirstSeq != a.first || trailer.LastSeq != a.last ||
		(last.entry != nil && last.seq == trailer.LastSeq && !bytes.Equal(last.hash, trailer.Hash)) {
		v.fail(ProblemEdited, trailer.LastSeq, trailer.EntryID, "the trailer of archive %s does not match its name or its last link", a.path)
	}
	if last.entry != nil && last.seq != trailer.LastSeq && (dbFirst == nil || trailer.LastSeq < *dbFirst) {
		v.fail(ProblemRemoved, last.seq+1, 0, "archive %s ends at link %d but its trailer says %d", a.path, last.seq, trailer.LastSeq)
	}
	return nil
}
