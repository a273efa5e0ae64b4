package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
)

// stream reads the slot from its confirmed position until ctx ends or something fails, and
// reports whether the stream started.
func (s *Source) stream(ctx context.Context, emit EmitFunc) (bool, error) {
	if err := s.prepareSlot(ctx); err != nil {
		return false, err
	}
	cfg := s.pool.Config().ConnConfig.Config.Copy()
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = ApplicationName()
	// The reader waits for messages with a deadline (its next status report) and expects an
	// expired deadline to leave the stream as it was. The pool's connections answer a context
	// that ends with a cancel request (db.KeepConnectionOnCancel), which on a replication
	// connection ends the stream itself: this one only times out its read.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("open replication connection: %w", err)
	}
	defer s.release(ctx, conn)

	// LSN 0 resumes from the slot's confirmed position. Protocol version 1 delivers each
	// transaction whole, after it committed, which is the order subscribers must see.
	err = pglogrepl.StartReplication(ctx, conn, s.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", fmt.Sprintf("publication_names '%s'", s.cfg.Publication)},
	})
	if err != nil {
		return false, fmt.Errorf("start replication from slot %s: %w", s.cfg.Slot, err)
	}
	s.notify(ctx, true)
	defer s.notify(ctx, false)
	r := &streamReader{source: s, conn: conn, emit: emit, decoder: newDecoder(s.catalog)}
	return true, r.run(ctx)
}

// release closes the replication connection and, when this process is stopping, waits a
// moment for the server to let go of the slot, so that whoever comes next (another node, or a
// DROP DATABASE) finds it free.
func (s *Source) release(ctx context.Context, conn *pgconn.PgConn) {
	bg := context.WithoutCancel(ctx)
	pid := conn.PID()
	_ = conn.Close(bg)
	if ctx.Err() == nil {
		return
	}
	waitCtx, cancel := context.WithTimeout(bg, releaseWait)
	defer cancel()
	for waitCtx.Err() == nil {
		var held bool
		err := s.pool.QueryRow(waitCtx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots
			WHERE slot_name = $1 AND active_pid = $2)`, s.cfg.Slot, int32(pid)).Scan(&held)
		if err != nil || !held {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// releaseWait bounds how long a stopping reader waits for the server to free the slot.
const releaseWait = 2 * time.Second

// transaction is what a BEGIN message tells about the transaction whose changes follow.
type transaction struct {
	xid        uint32
	commitTime time.Time
	finalLSN   pglogrepl.LSN // where it commits: the same in every session that reads it
	changes    int           // how many of its changes were read so far
}

// streamReader is the state of one replication session.
type streamReader struct {
	source  *Source
	conn    *pgconn.PgConn
	emit    EmitFunc
	decoder *decoder

	inTx       bool
	tx         transaction   // the transaction being read
	confirmed  pglogrepl.LSN // everything before it was handed on
	nextStatus time.Time
	nextLag    time.Time
}

func (r *streamReader) run(ctx context.Context) error {
	s := r.source
	now := time.Now()
	r.nextStatus = now.Add(s.cfg.StatusInterval)
	r.nextLag = now.Add(s.cfg.LagCheckInterval)
	for {
		now := time.Now()
		if !now.Before(r.nextLag) {
			if err := s.checkLag(ctx); err != nil {
				return err
			}
			r.nextLag = now.Add(s.cfg.LagCheckInterval)
		}
		if !now.Before(r.nextStatus) {
			if err := r.sendStatus(); err != nil {
				return err
			}
		}
		wake := r.nextStatus
		if r.nextLag.Before(wake) {
			wake = r.nextLag
		}
		recvCtx, cancel := context.WithDeadline(ctx, wake)
		msg, err := r.conn.ReceiveMessage(recvCtx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive from replication stream: %w", err)
		}
		switch msg := msg.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyData:
			if err := r.handle(ctx, msg.Data); err != nil {
				return err
			}
		}
	}
}

func (r *streamReader) handle(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parse keepalive: %w", err)
		}
		// Between transactions everything up to the keepalive's position has been sent and
		// handed on: WAL of other databases and unpublished tables can be released too.
		if !r.inTx && ka.ServerWALEnd > r.confirmed {
			r.confirmed = ka.ServerWALEnd
		}
		if ka.ReplyRequested {
			r.nextStatus = time.Now()
		}
		return nil
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parse xlog data: %w", err)
		}
		return r.logical(ctx, xld.WALData)
	}
	return nil
}

func (r *streamReader) logical(ctx context.Context, data []byte) error {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return fmt.Errorf("parse logical message: %w", err)
	}
	var ch *Change
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		return r.decoder.relation(ctx, m)
	case *pglogrepl.BeginMessage:
		r.inTx, r.tx = true, transaction{xid: m.Xid, commitTime: m.CommitTime, finalLSN: m.FinalLSN}
		return nil
	case *pglogrepl.CommitMessage:
		r.inTx = false
		if m.CommitLSN > r.source.handedOn.commitLSN { // a transaction read again leaves it
			r.source.handedOn.commitLSN, r.source.handedOn.changes = m.CommitLSN, 0
		}
		r.confirmed = m.TransactionEndLSN
		// Confirm soon, but batched: the next wake-up sends it.
		if soon := time.Now().Add(confirmDelay); soon.Before(r.nextStatus) {
			r.nextStatus = soon
		}
		return nil
	case *pglogrepl.InsertMessage:
		ch, err = r.decoder.change(Insert, m.RelationID, r.tx, m.Tuple, nil, 0)
	case *pglogrepl.UpdateMessage:
		ch, err = r.decoder.change(Update, m.RelationID, r.tx, m.NewTuple, m.OldTuple, m.OldTupleType)
	case *pglogrepl.DeleteMessage:
		ch, err = r.decoder.change(Delete, m.RelationID, r.tx, nil, m.OldTuple, m.OldTupleType)
	default:
		// Truncate, type, origin and logical messages carry nothing Realtime delivers.
		return nil
	}
	if err != nil {
		return err
	}
	r.tx.changes++
	ch.LSN, ch.Seq = uint64(r.tx.finalLSN), r.tx.changes
	if r.source.handedOn.covers(r.tx) {
		return nil
	}
	if err := r.emit(ctx, ch); err != nil {
		return fmt.Errorf("hand on a change of %s.%s: %w", ch.Schema, ch.Table, err)
	}
	r.source.handedOn.inTx, r.source.handedOn.changes = r.tx.finalLSN, r.tx.changes
	return nil
}

// handedOn is how far this process handed changes on, kept across replication sessions. A new
// session starts at the slot's confirmed position, which lags what was handed on (positions
// are confirmed in batches, and a server that crashed keeps only the position it last wrote to
// disk), so it sends some transactions again, or the start of one that was being read when the
// session broke. Positions in the WAL only grow, even across crash recovery, so comparing
// them leaves each change handed on once.
type handedOn struct {
	commitLSN pglogrepl.LSN // the commit of the last transaction handed on whole
	inTx      pglogrepl.LSN // the commit position of the transaction handed on in part
	changes   int           // how many of inTx's changes were handed on
}

// covers reports whether the change just read (tx.changes-th of tx) was handed on before.
func (h handedOn) covers(tx transaction) bool {
	if h.commitLSN != 0 && tx.finalLSN <= h.commitLSN {
		return true
	}
	return tx.finalLSN == h.inTx && tx.changes <= h.changes
}

// sendStatus reports the confirmed position, which lets the server discard older WAL and is
// where the next reader resumes.
func (r *streamReader) sendStatus() error {
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), r.conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: r.confirmed})
	if err != nil {
		return fmt.Errorf("confirm replication position: %w", err)
	}
	r.nextStatus = time.Now().Add(r.source.cfg.StatusInterval)
	return nil
}
