package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
)

// Export formats.
const (
	// FormatNDJSON writes one JSON object per line, the shape of Row: what archives hold,
	// and enough to verify the chain offline.
	FormatNDJSON = "ndjson"
	// FormatCSV writes a header and one row per entry, for spreadsheets.
	FormatCSV = "csv"
)

// ContentType is the media type of an export format.
func ContentType(format string) string {
	if format == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// csvHeader names the CSV columns, in Row's order.
var csvHeader = []string{"id", "occurred_at", "actor_type", "actor_id", "actor_email", "action", "resource_type",
	"resource_id", "outcome", "severity", "ip", "user_agent", "request_id", "session_id", "details", "seq",
	"prev_hash", "hash"}

// Export writes every entry f selects to w in format, oldest first, without holding more than
// one chunk in memory; flush, when not nil, runs after every chunk so the bytes leave at once.
// It returns how many entries it wrote.
func Export(ctx context.Context, q Querier, f Filter, format string, w io.Writer, flush func() error) (int64, error) {
	if format != FormatNDJSON && format != FormatCSV {
		return 0, filterError("format must be %s or %s", FormatCSV, FormatNDJSON)
	}
	var write func(Row) error
	var drain func() error // hands what the encoder buffered to w
	if format == FormatCSV {
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return 0, err
		}
		write = func(r Row) error { return cw.Write(csvRecord(r)) }
		drain = func() error {
			cw.Flush()
			return cw.Error()
		}
	} else {
		buf := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		write = func(r Row) error { return enc.Encode(r) }
		drain = buf.Flush
	}
	chunkDone := func() error {
		if err := drain(); err != nil {
			return err
		}
		if flush != nil {
			return flush()
		}
		return nil
	}
	var n int64
	err := Each(ctx, q, f, func(r Row) error {
		n++
		return write(r)
	}, chunkDone)
	if err != nil {
		return n, err
	}
	return n, chunkDone()
}

// csvRecord is r as CSV cells. A cell a spreadsheet would run as a formula (=, +, -, @, tab,
// carriage return first: user agents and details come from clients) is prefixed with ', the
// usual neutralisation; the NDJSON export is the faithful one.
func csvRecord(r Row) []string {
	seq := ""
	if r.Seq != nil {
		seq = strconv.FormatInt(*r.Seq, 10)
	}
	cells := []string{strconv.FormatInt(r.ID, 10), r.OccurredAt.UTC().Format(timeLayout), r.ActorType, r.ActorID,
		r.ActorEmail, r.Action, r.ResourceType, r.ResourceID, r.Outcome, r.Severity, r.IP, r.UserAgent, r.RequestID,
		r.SessionID, string(r.Details), seq, r.PrevHash.String(), r.Hash.String()}
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
