// Package webhooks delivers row changes to HTTP receivers configured in goforward.webhooks
// (Supabase Database Webhooks' role). The change feed writes one delivery per change and
// matching webhook into goforward.webhook_deliveries before the change counts as handled (an
// outbox), and every node's Deliverer posts due deliveries, signed as the security alerts'
// webhook is (alerts.Sign), retrying with doubling waits; a delivery that still fails after
// the last attempt is marked failed and audited (webhooks.delivery_failed).
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Webhook is one configured receiver. Secret is only filled in by Create's answer.
type Webhook struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Table     string    `json:"table"`
	Events    []string  `json:"events"`
	URL       string    `json:"url"`
	Secret    string    `json:"secret,omitempty"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrInvalid wraps a webhook that cannot be created as given; the text is for the client.
var ErrInvalid = errors.New("invalid webhook")

// ErrExists is returned by Create for a name already taken.
var ErrExists = errors.New("a webhook with this name exists")

var kinds = []string{"INSERT", "UPDATE", "DELETE"}

// Validate checks w and fills in defaults: every event when none is named, public for a
// table without a schema, a random secret when none is given.
func Validate(w *Webhook, allowHTTP bool) error {
	if w.Name == "" || len(w.Name) > 128 {
		return fmt.Errorf("%w: name is required (at most 128 characters)", ErrInvalid)
	}
	if !strings.Contains(w.Table, ".") {
		w.Table = "public." + w.Table
	}
	if s, t, _ := strings.Cut(w.Table, "."); s == "" || t == "" || strings.Contains(t, ".") {
		return fmt.Errorf("%w: table must be schema.table", ErrInvalid)
	}
	if len(w.Events) == 0 {
		w.Events = slices.Clone(kinds)
	}
	for i, e := range w.Events {
		w.Events[i] = strings.ToUpper(e)
		if !slices.Contains(kinds, w.Events[i]) {
			return fmt.Errorf("%w: events are INSERT, UPDATE and DELETE", ErrInvalid)
		}
	}
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(allowHTTP && u.Scheme == "http")) {
		if allowHTTP {
			return fmt.Errorf("%w: url must be an absolute http or https URL", ErrInvalid)
		}
		return fmt.Errorf("%w: url must be an absolute https URL", ErrInvalid)
	}
	if w.Secret == "" {
		b := make([]byte, 32)
		rand.Read(b)
		w.Secret = hex.EncodeToString(b)
	} else if len(w.Secret) < 16 {
		return fmt.Errorf("%w: secret must be at least 16 characters", ErrInvalid)
	}
	return nil
}

// Create stores w (validated) and returns it with its id, secret and creation time.
func Create(ctx context.Context, q Querier, w Webhook, allowHTTP bool) (Webhook, error) {
	if err := Validate(&w, allowHTTP); err != nil {
		return Webhook{}, err
	}
	err := q.QueryRow(ctx, `INSERT INTO goforward.webhooks (name, table_name, events, url, secret) VALUES ($1, $2, $3, $4, $5)
		RETURNING id::text, enabled, created_at`, w.Name, w.Table, w.Events, w.URL, w.Secret).Scan(&w.ID, &w.Enabled, &w.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Webhook{}, ErrExists
	}
	return w, err
}

// List returns every webhook, without secrets, by name.
func List(ctx context.Context, q Querier) ([]Webhook, error) {
	rows, err := q.Query(ctx, `SELECT id::text, name, table_name, events, url, enabled, created_at FROM goforward.webhooks ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		var w Webhook
		err := r.Scan(&w.ID, &w.Name, &w.Table, &w.Events, &w.URL, &w.Enabled, &w.CreatedAt)
		return w, err
	})
}

// Delete removes the webhook (and its pending deliveries); false when there was none.
func Delete(ctx context.Context, q Querier, id string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM goforward.webhooks WHERE id::text = $1`, id)
	return tag.RowsAffected() > 0, err
}

// Tables are the tables enabled webhooks follow.
func Tables(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT table_name FROM goforward.webhooks WHERE enabled ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Enqueue writes a delivery of payload (the change's JSON) for every enabled webhook of
// table and event.
func Enqueue(ctx context.Context, q Querier, table, event string, payload json.RawMessage) error {
	_, err := q.Exec(ctx, `INSERT INTO goforward.webhook_deliveries (webhook_id, payload)
		SELECT id, $3 FROM goforward.webhooks WHERE enabled AND table_name = $1 AND $2 = ANY (events)`, table, event, payload)
	return err
}
