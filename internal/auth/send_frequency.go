package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channels of auth.send_frequency.
const (
	channelEmail = "email"
	channelSMS   = "sms"
)

// claimSend applies MaxFrequency to a request for a code sent to address (POST /recover,
// /otp, /magiclink, /resend), whether or not the address has an account: it records the send
// in auth.send_frequency, or answers the same 429 as checkFrequency when the last one to the
// address went out less than MaxFrequency ago. Callers run it first in the transaction that
// then looks the address up and sends, so a known and an unknown address take the same steps
// up to the send, and a send that fails rolls the record back. One record per address and
// channel is shared by the four endpoints, so no sequence of them answers differently for
// an address with an account.
func (s *Service) claimSend(ctx context.Context, tx pgx.Tx, channel, address string) error {
	if s.cfg.MaxFrequency <= 0 {
		return nil
	}
	now, key := s.now(), sha256Hex(address)
	// ON CONFLICT locks the row even when its WHERE refuses the update, so two requests for
	// one address cannot both pass.
	tag, err := tx.Exec(ctx, `INSERT INTO auth.send_frequency AS f (channel, address_hash, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT (channel, address_hash) DO UPDATE SET sent_at = excluded.sent_at WHERE f.sent_at <= $4`,
		channel, key, now, now.Add(-s.cfg.MaxFrequency))
	if err != nil {
		return fmt.Errorf("record send: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var last time.Time
	if err := tx.QueryRow(ctx, `SELECT sent_at FROM auth.send_frequency WHERE channel = $1 AND address_hash = $2`,
		channel, key).Scan(&last); err != nil {
		return fmt.Errorf("read last send: %w", err)
	}
	if err := s.checkFrequency(&last, channel == channelSMS, now); err != nil {
		return err
	}
	// Only at the very boundary, where PostgreSQL's microseconds and Go's nanoseconds round
	// differently: the send is allowed, so it is recorded.
	if _, err := tx.Exec(ctx, `UPDATE auth.send_frequency SET sent_at = $3 WHERE channel = $1 AND address_hash = $2`,
		channel, key, now); err != nil {
		return fmt.Errorf("record send: %w", err)
	}
	return nil
}
