package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ModerationPrefix starts the actions of content moderation ("moderation.report.resolve"),
// which the basic logs moderators see include whoever acted.
const ModerationPrefix = "moderation."

// ActorTypes lists every actor type an entry may have.
var ActorTypes = []string{ActorAdmin, ActorServiceRole, ActorEmergency, ActorCLI, ActorUser, ActorAnon, ActorSystem}

// Filter selects entries; zero fields select everything.
type Filter struct {
	Actor     string // an actor id or e-mail address, exactly
	ActorType string
	// Action matches exactly, or as a prefix when it ends in "*" ("auth.*").
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      string
	Severity     string
	From         time.Time // inclusive
	To           time.Time // exclusive
	// After keeps entries with a greater id only (following the log as it grows).
	After int64
	// BasicFor, when set, limits the selection to the basic logs of the admin with this user
	// id: its own actions and content moderation.
	BasicFor string
}

// ErrInvalidFilter matches (errors.Is) every FilterError.
var ErrInvalidFilter = errors.New("audit: invalid filter")

// FilterError says what is wrong with a filter, a cursor or a format, in words for the
// client who sent it.
type FilterError struct{ Msg string }

func (e *FilterError) Error() string { return e.Msg }

// Is makes every FilterError match ErrInvalidFilter.
func (e *FilterError) Is(target error) bool { return target == ErrInvalidFilter }

func filterError(format string, args ...any) error {
	return &FilterError{Msg: fmt.Sprintf(format, args...)}
}

// Validate reports a value no entry can have, so that a typo is an error rather than an
// empty answer.
func (f Filter) Validate() error {
	bad := filterError
	if f.ActorType != "" && !slices.Contains(ActorTypes, f.ActorType) {
		return bad("actor_type must be one of %s", strings.Join(ActorTypes, ", "))
	}
	if f.Outcome != "" && !slices.Contains([]string{Success, Denied, Error}, f.Outcome) {
		return bad("outcome must be success, denied or error")
	}
	if f.Severity != "" && !slices.Contains([]string{Info, Warning, Critical}, f.Severity) {
		return bad("severity must be info, warning or critical")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return bad("from must be before to")
	}
	return nil
}

// where builds the filter's conditions on goforward.audit_log l, appending their arguments.
func (f Filter) where(args *[]any) string {
	conds := []string{"true"}
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	if f.Actor != "" {
		p := arg(f.Actor)
		conds = append(conds, "(l.actor_id = "+p+" OR l.actor_email = "+p+")")
	}
	eq := map[string]string{"l.actor_type": f.ActorType, "l.resource_type": f.ResourceType,
		"l.resource_id": f.ResourceID, "l.outcome": f.Outcome, "l.severity": f.Severity}
	for _, col := range []string{"l.actor_type", "l.resource_type", "l.resource_id", "l.outcome", "l.severity"} {
		if v := eq[col]; v != "" {
			conds = append(conds, col+" = "+arg(v))
		}
	}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		conds = append(conds, "l.action LIKE "+arg(likePrefix(prefix)))
	} else if f.Action != "" {
		conds = append(conds, "l.action = "+arg(f.Action))
	}
	if !f.From.IsZero() {
		conds = append(conds, "l.occurred_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "l.occurred_at < "+arg(f.To))
	}
	if f.After > 0 {
		conds = append(conds, "l.id > "+arg(f.After))
	}
	if f.BasicFor != "" {
		conds = append(conds, "(l.actor_id = "+arg(f.BasicFor)+" OR l.action LIKE "+arg(likePrefix(ModerationPrefix))+")")
	}
	return strings.Join(conds, " AND ")
}

// likePrefix is a LIKE pattern matching strings that start with prefix.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(prefix) + "%"
}

// Page is one page of List.
type Page struct {
	Entries []Row `json:"entries"`
	// NextCursor continues after the last entry; nil on the last page.
	NextCursor *string `json:"next_cursor"`
}

// MaxPageSize bounds List's limit.
const MaxPageSize = 1000

// List returns up to limit entries f selects, newest first (oldest first when ascending),
// after cursor (a Page's NextCursor, "" for the first page). Pages are keyed on the entry id,
// so entries written meanwhile neither repeat nor shift a page.
func List(ctx context.Context, q Querier, f Filter, cursor string, limit int, ascending bool) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if limit <= 0 || limit > MaxPageSize {
		return Page{}, filterError("limit must be between 1 and %d", MaxPageSize)
	}
	var args []any
	where := f.where(&args)
	order, cmp := "DESC", "<"
	if ascending {
		order, cmp = "ASC", ">"
	}
	if cursor != "" {
		after, err := decodeCursor(cursor, ascending)
		if err != nil {
			return Page{}, err
		}
		args = append(args, after)
		where += " AND l.id " + cmp + " $" + strconv.Itoa(len(args))
	}
	args = append(args, limit+1)
	rows, err := q.Query(ctx, `SELECT `+rowColumns+` FROM goforward.audit_log l
`+linkOfEntry+`
WHERE `+where+` ORDER BY l.id `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) { return scanRow(r, true) })
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	page := Page{Entries: entries}
	if len(entries) > limit {
		page.Entries = entries[:limit]
		next := encodeCursor(entries[limit-1].ID, ascending)
		page.NextCursor = &next
	}
	if page.Entries == nil {
		page.Entries = []Row{}
	}
	return page, nil
}

// A cursor is opaque to clients: the direction and the last id, base64url-encoded.
func encodeCursor(id int64, ascending bool) string {
	dir := "d"
	if ascending {
		dir = "a"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(dir + strconv.FormatInt(id, 10)))
}

func decodeCursor(cursor string, ascending bool) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	want := "d"
	if ascending {
		want = "a"
	}
	if err != nil || len(raw) < 2 || string(raw[:1]) != want {
		return 0, filterError("the cursor is not one this listing returned (with this order)")
	}
	id, err := strconv.ParseInt(string(raw[1:]), 10, 64)
	if err != nil {
		return 0, filterError("the cursor is malformed")
	}
	return id, nil
}

// LastID is the newest entry's id, 0 for an empty log.
func LastID(ctx context.Context, q Querier) (int64, error) {
	var id int64
	if err := q.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM goforward.audit_log`).Scan(&id); err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	return id, nil
}

// eachChunk is how many entries Each reads per query.
const eachChunk = 1000

// Each calls fn for every entry f selects, oldest first, reading a chunk at a time so that
// memory stays flat whatever the size; after each chunk it calls chunkDone (when not nil).
// Entries written after Each started are left out.
func Each(ctx context.Context, q Querier, f Filter, fn func(Row) error, chunkDone func() error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	var upTo *int64
	if err := q.QueryRow(ctx, `SELECT max(id) FROM goforward.audit_log`).Scan(&upTo); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	if upTo == nil {
		return nil
	}
	var args []any
	where := f.where(&args)
	n := len(args)
	query := `SELECT ` + rowColumns + ` FROM goforward.audit_log l
` + linkOfEntry + `
WHERE ` + where + ` AND l.id > $` + strconv.Itoa(n+1) + ` AND l.id <= $` + strconv.Itoa(n+2) +
		` ORDER BY l.id LIMIT ` + strconv.Itoa(eachChunk)
	after := int64(0)
	for {
		rows, err := q.Query(ctx, query, append(args, after, *upTo)...)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		count := 0
		for rows.Next() {
			r, err := scanRow(rows, true)
			if err == nil {
				err = fn(r)
			}
			if err != nil {
				rows.Close()
				return err
			}
			after = r.ID
			count++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		if chunkDone != nil && count > 0 {
			if err := chunkDone(); err != nil {
				return err
			}
		}
		if count < eachChunk {
			return nil
		}
	}
}
