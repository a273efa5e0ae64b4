package auth

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// The development inbox (Go Forward): with Config.DevInbox every e-mail and SMS the service
// sends is also kept in auth.dev_inbox (the newest DevInboxSize), so that a person or a test
// can finish a sign-in flow without a real mailbox. GET /auth/v1/dev/inbox lists it for the
// admin roles (service_role, supabase_admin); the route does not exist unless DevInbox is on.

// keepInInbox stores a sent message. It runs outside the request's transaction: the message
// has gone out even if the request later fails. A failure here is logged, never fatal.
func (s *Service) keepInInbox(ctx context.Context, channel, to, kind, subject, text, html string, data map[string]any) {
	if !s.cfg.DevInbox {
		return
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO auth.dev_inbox (channel, recipient, kind, subject, body, html, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, channel, to, kind, subject, text, html, data, s.now())
	b.Queue(`DELETE FROM auth.dev_inbox WHERE id <= (SELECT id FROM auth.dev_inbox ORDER BY id DESC OFFSET $1 LIMIT 1)`, s.cfg.DevInboxSize)
	if err := runBatch(context.WithoutCancel(ctx), s.pool, b); err != nil {
		s.logger.WarnContext(ctx, "keeping a message in the dev inbox failed", "error", err)
	}
}

// inboxMessage is one message of GET /dev/inbox.
type inboxMessage struct {
	ID        int64          `json:"id"`
	Channel   string         `json:"channel"`
	To        string         `json:"to"`
	Kind      string         `json:"kind"`
	Subject   string         `json:"subject,omitempty"`
	Text      string         `json:"text"`
	HTML      string         `json:"html,omitempty"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
}

// devInbox answers GET /dev/inbox?to=&limit=: the newest messages first, optionally only those
// to one address (an e-mail address, or a phone number in any format ValidPhone accepts).
func (s *Service) devInbox(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	limit := 50
	if raw := r.URL.Query().Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > s.cfg.DevInboxSize {
			return badRequest(CodeValidationFailed, "limit must be a number between 1 and %d", s.cfg.DevInboxSize)
		}
		limit = n
	}
	to := r.URL.Query().Get("to")
	if to != "" {
		if email, err := normaliseEmail(to); err == nil {
			to = email
		} else if phone, err := normalisePhone(to); err == nil {
			to = "+" + phone
		}
	}
	rows, err := s.pool.Query(r.Context(), `SELECT id, channel, recipient, kind, subject, body, html, data, created_at
		FROM auth.dev_inbox WHERE $1 = '' OR recipient = $1 ORDER BY id DESC LIMIT $2`, to, limit)
	if err != nil {
		return internalError("Database error reading the inbox", err)
	}
	messages, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (inboxMessage, error) {
		var m inboxMessage
		err := row.Scan(&m.ID, &m.Channel, &m.To, &m.Kind, &m.Subject, &m.Text, &m.HTML, &m.Data, &m.CreatedAt)
		m.CreatedAt = m.CreatedAt.UTC()
		return m, err
	})
	if err != nil {
		return internalError("Database error reading the inbox", err)
	}
	if messages == nil {
		messages = []inboxMessage{}
	}
	return writeJSON(w, map[string]any{"messages": messages})
}
