package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// errLagExceeded stops the stream so the next reader drops and recreates the slot.
var errLagExceeded = errors.New("replication slot lag exceeds the configured maximum")

// slotState is the slot as pg_replication_slots shows it.
type slotState struct {
	plugin      string
	sameDB      bool
	activePID   *int32
	lagBytes    *int64
	logicalSlot bool
}

func (s *Source) slotState(ctx context.Context) (*slotState, error) {
	var st slotState
	err := s.pool.QueryRow(ctx, `SELECT coalesce(plugin::text, ''), database = current_database(), slot_type = 'logical', active_pid,
			pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::int8
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).
		Scan(&st.plugin, &st.sameDB, &st.logicalSlot, &st.activePID, &st.lagBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read replication slot %s: %w", s.cfg.Slot, err)
	}
	return &st, nil
}

// prepareSlot makes the slot ready for this reader: created if missing, dropped and created
// again if it holds back more WAL than allowed, and freed from a stale reader (a session of a
// process that lost the lock, which PostgreSQL has not noticed yet).
func (s *Source) prepareSlot(ctx context.Context) error {
	st, err := s.slotState(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return s.createSlot(ctx)
	}
	if !st.logicalSlot || st.plugin != "pgoutput" || !st.sameDB {
		return fmt.Errorf("replication slot %s exists but is not a pgoutput slot of this database; drop it or choose another slot name", s.cfg.Slot)
	}
	if st.lagBytes != nil {
		s.lag.Store(*st.lagBytes)
	}
	if st.activePID != nil {
		if err := s.endStaleReader(ctx, *st.activePID); err != nil {
			return err
		}
	}
	if s.cfg.MaxLagBytes > 0 && st.lagBytes != nil && *st.lagBytes > s.cfg.MaxLagBytes {
		s.logger.ErrorContext(ctx, "realtime: replication slot held back too much WAL; dropping and recreating it. Changes committed while no reader kept up are lost",
			"slot", s.cfg.Slot, "lag_bytes", *st.lagBytes, "max_lag_bytes", s.cfg.MaxLagBytes)
		if _, err := s.pool.Exec(ctx, "SELECT pg_drop_replication_slot($1)", s.cfg.Slot); err != nil {
			return fmt.Errorf("drop replication slot %s: %w", s.cfg.Slot, err)
		}
		return s.createSlot(ctx)
	}
	return nil
}

func (s *Source) createSlot(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", s.cfg.Slot); err != nil {
		return fmt.Errorf("create replication slot %s: %w", s.cfg.Slot, err)
	}
	s.lag.Store(0)
	s.logger.InfoContext(ctx, "realtime: created replication slot", "slot", s.cfg.Slot)
	return nil
}

// endStaleReader terminates the session still attached to the slot and waits until the slot
// is free. Only the lock holder calls it, so that session cannot be a legitimate reader.
func (s *Source) endStaleReader(ctx context.Context, pid int32) error {
	s.logger.WarnContext(ctx, "realtime: ending a stale replication session", "slot", s.cfg.Slot, "pid", pid)
	if _, err := s.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		return fmt.Errorf("end stale replication session %d: %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var active bool
		err := s.pool.QueryRow(ctx, "SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", s.cfg.Slot).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read replication slot %s: %w", s.cfg.Slot, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("replication slot %s is still in use by session %d", s.cfg.Slot, pid)
}

// checkLag measures the slot's lag, warns above the alert threshold and stops the stream
// above the maximum.
func (s *Source) checkLag(ctx context.Context) error {
	st, err := s.slotState(ctx)
	if err != nil || st == nil || st.lagBytes == nil {
		return err
	}
	lag := *st.lagBytes
	s.lag.Store(lag)
	switch {
	case s.cfg.MaxLagBytes > 0 && lag > s.cfg.MaxLagBytes:
		return fmt.Errorf("%w: %d bytes", errLagExceeded, lag)
	case s.cfg.LagAlertBytes > 0 && lag > s.cfg.LagAlertBytes:
		s.logger.WarnContext(ctx, "realtime: replication slot lag is high; changes are not being confirmed fast enough",
			"slot", s.cfg.Slot, "lag_bytes", lag, "alert_bytes", s.cfg.LagAlertBytes, "max_lag_bytes", s.cfg.MaxLagBytes)
	}
	return nil
}
