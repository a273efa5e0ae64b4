// Package changefeed hands the row changes of chosen tables to Go code (the root package's
// App.OnChange), at least once and in commit order, from a logical replication slot of its
// own read by internal/realtime/replication: one node at a time reads it (the replication
// reader lock), and the position of the last change handled is kept in
// goforward.change_feed_positions, so a reader that stops or a node that takes over resumes
// right after it.
//
// The feed has its own slot and publication rather than sharing realtime's: a handler that
// fails or is slow holds back only this slot (and its WAL), never realtime's subscribers, a
// table with a change hook need not be published to realtime's clients, and the feed runs
// whether or not this node serves realtime.
package changefeed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/realtime/replication"
)

// Publication is the publication the feed reads; Prepare adds the hooked tables to it.
const Publication = "goforward_changes"

// Handler receives each change of a table in the publication. An error stops the stream
// before the change counts as handled: it is handed on again after RetryInterval.
type Handler func(ctx context.Context, ch *replication.Change) error

// Config configures a Feed.
type Config struct {
	// Tables are the tables to follow, "schema.table".
	Tables []string
	// Slot is the replication slot; default SlotName of the pool's database.
	Slot string
	// RetryInterval is the pause after a handler failed or the stream broke. Default 2s.
	RetryInterval time.Duration
}

// Feed streams the changes of Config.Tables to a Handler.
type Feed struct {
	cfg    Config
	pool   *pgxpool.Pool
	logger *slog.Logger
	handle Handler
	src    *replication.Source

	// reload is set when a stream starts: another node may have handled changes since this
	// one last read the position.
	reload atomic.Bool
	// lsn and seq are the position of the last change handled; only the stream touches them.
	lsn uint64
	seq int
}

// SlotName is the feed's replication slot for database: goforward_changes_<name>, as
// realtime names its own, since slots are shared by every database of a server.
func SlotName(database string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(database) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	name := "goforward_changes_" + b.String()
	if len(name) > 63 {
		sum := sha256.Sum256([]byte(database))
		name = name[:50] + "_" + hex.EncodeToString(sum[:6])
	}
	return name
}

// New returns a Feed reading through pool (a superuser or a role with REPLICATION that owns
// the tables). Nothing happens until Prepare and Run.
func New(cfg Config, pool *pgxpool.Pool, logger *slog.Logger, handle Handler) (*Feed, error) {
	if cfg.Slot == "" {
		cfg.Slot = SlotName(pool.Config().ConnConfig.Database)
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = replication.DefaultRetryInterval
	}
	f := &Feed{cfg: cfg, pool: pool, logger: logger, handle: handle}
	src, err := replication.New(replication.Config{Slot: cfg.Slot, Publication: Publication, RetryInterval: cfg.RetryInterval}, pool, logger)
	if err != nil {
		return nil, fmt.Errorf("changefeed: %w", err)
	}
	src.OnStream(func(streaming bool) {
		if streaming {
			f.reload.Store(true)
		}
	})
	f.src = src
	f.reload.Store(true)
	return f, nil
}

// Slot is the feed's replication slot.
func (f *Feed) Slot() string { return f.cfg.Slot }

// Prepare makes the publication hold every table of Config.Tables and creates the slot, so
// that every change committed from now on reaches the handler, even one made before Run's
// stream starts. A table without a replica identity (no primary key) is refused: once
// published, its UPDATEs and DELETEs would fail.
func (f *Feed) Prepare(ctx context.Context) error {
	// The slot first: a table published before the slot exists could see changes that no
	// slot keeps.
	if err := f.createSlot(ctx); err != nil {
		return err
	}
	for _, table := range f.cfg.Tables {
		if err := f.publish(ctx, table); err != nil {
			return err
		}
	}
	return nil
}

func (f *Feed) createSlot(ctx context.Context) error {
	if _, err := f.pool.Exec(ctx, `INSERT INTO goforward.change_feed_positions (slot) VALUES ($1) ON CONFLICT DO NOTHING`, f.cfg.Slot); err != nil {
		return fmt.Errorf("changefeed: record the position: %w", err)
	}
	var exists bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`, f.cfg.Slot).Scan(&exists); err != nil {
		return fmt.Errorf("changefeed: read replication slots: %w", err)
	}
	if exists {
		return nil
	}
	_, err := f.pool.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, f.cfg.Slot)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" { // another node created it meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("changefeed: create replication slot %s: %w", f.cfg.Slot, err)
	}
	return nil
}

// publish adds table to the publication (creating it), unless it is there already. Tables are
// never removed: a node still running older code may follow them, and changes of tables no
// handler follows are skipped.
func (f *Feed) publish(ctx context.Context, table string) error {
	schema, name, ok := strings.Cut(table, ".")
	if !ok || schema == "" || name == "" {
		return fmt.Errorf("changefeed: table %q must be schema.table", table)
	}
	var identity string
	err := f.pool.QueryRow(ctx, `SELECT CASE
			WHEN c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) THEN 'none'
			WHEN c.relreplident = 'n' THEN 'none' ELSE 'ok' END
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, name).Scan(&identity)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("changefeed: table %s does not exist", table)
	}
	if err != nil {
		return fmt.Errorf("changefeed: read table %s: %w", table, err)
	}
	if identity == "none" {
		return fmt.Errorf("changefeed: table %s has no primary key (or replica identity): its changes cannot be followed", table)
	}
	ident := pgx.Identifier{schema, name}.Sanitize()
	var pubExists, published bool
	err = f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1),
			EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)`,
		Publication, schema, name).Scan(&pubExists, &published)
	if err != nil {
		return fmt.Errorf("changefeed: read publication: %w", err)
	}
	switch {
	case published:
		return nil
	case !pubExists:
		_, err = f.pool.Exec(ctx, "CREATE PUBLICATION "+pgx.Identifier{Publication}.Sanitize()+" FOR TABLE "+ident)
	default:
		_, err = f.pool.Exec(ctx, "ALTER PUBLICATION "+pgx.Identifier{Publication}.Sanitize()+" ADD TABLE "+ident)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505") { // another node did it meanwhile
		return f.publish(ctx, table)
	}
	if err != nil {
		return fmt.Errorf("changefeed: publish %s: %w", table, err)
	}
	return nil
}

// Follow adds table to the publication while the feed runs: its changes committed from now
// on are handed on too.
func (f *Feed) Follow(ctx context.Context, table string) error { return f.publish(ctx, table) }

// Run reads the stream while this node holds the reader lock, until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	return f.src.Run(ctx, f.emit)
}

func (f *Feed) emit(ctx context.Context, ch *replication.Change) error {
	if f.reload.Swap(false) {
		var lsn int64
		err := f.pool.QueryRow(ctx, `SELECT commit_lsn, seq FROM goforward.change_feed_positions WHERE slot = $1`, f.cfg.Slot).Scan(&lsn, &f.seq)
		if err != nil {
			f.reload.Store(true)
			return fmt.Errorf("read the change feed's position: %w", err)
		}
		f.lsn = uint64(lsn)
	}
	if ch.CommitLSN < f.lsn || (ch.CommitLSN == f.lsn && ch.Seq <= f.seq) {
		return nil // handled before the stream was read again
	}
	if err := f.handle(ctx, ch); err != nil {
		f.logger.ErrorContext(ctx, "change hook failed; the change is handed on again", "table", ch.Schema+"."+ch.Table,
			"type", ch.Type, "retry_in", f.cfg.RetryInterval.String(), "error", err)
		return err
	}
	_, err := f.pool.Exec(ctx, `UPDATE goforward.change_feed_positions SET commit_lsn = $2, seq = $3, updated_at = now() WHERE slot = $1`,
		f.cfg.Slot, int64(ch.CommitLSN), ch.Seq)
	if err != nil {
		return fmt.Errorf("record the change feed's position: %w", err)
	}
	f.lsn, f.seq = ch.CommitLSN, ch.Seq
	return nil
}
