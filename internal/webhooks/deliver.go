package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/audit"
)

// Headers of a delivery: the same scheme as the security alerts' webhook, so one receiver
// verifies both (HMAC-SHA256 over "timestamp.body", "sha256=<hex>").
const (
	SignatureHeader = alerts.SignatureHeader
	TimestampHeader = alerts.TimestampHeader
	// IDHeader carries the delivery's id, the same on every attempt, for receivers to drop
	// a delivery they already handled.
	IDHeader = "X-Goforward-Delivery"
)

// Config configures a Deliverer. Zero values mean the stated defaults.
type Config struct {
	// Poll is how often due deliveries are looked for. Default 1s.
	Poll time.Duration
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is marked failed. Default 8.
	MaxAttempts int
	// RetryBase is the wait after the first failed attempt, doubled after each next one.
	// Default 10s.
	RetryBase time.Duration
}

// Deliverer posts due deliveries. Every node may run one: a delivery is locked while it is
// being posted, so it goes out from one node at a time.
type Deliverer struct {
	cfg    Config
	pool   *pgxpool.Pool
	client *http.Client
	logger *slog.Logger
}

// NewDeliverer returns a Deliverer; client nil uses one that follows no redirects.
func NewDeliverer(cfg Config, pool *pgxpool.Pool, client *http.Client, logger *slog.Logger) *Deliverer {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 10 * time.Second
	}
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Deliverer{cfg: cfg, pool: pool, client: client, logger: logger}
}

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.cfg.Poll)
	defer ticker.Stop()
	for {
		for {
			done, err := d.DeliverOne(ctx)
			if err != nil && ctx.Err() == nil {
				d.logger.ErrorContext(ctx, "webhooks: deliver", "error", err)
			}
			if !done || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// DeliverOne posts one due delivery, if there is one, and reports whether there was.
func (d *Deliverer) DeliverOne(ctx context.Context) (bool, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var (
		id                 int64
		payload            []byte
		attempts           int
		hookID, name, dest string
		secret             string
	)
	err = tx.QueryRow(ctx, `SELECT d.id, d.payload::text::bytea, d.attempts, w.id::text, w.name, w.url, w.secret
		FROM goforward.webhook_deliveries d JOIN goforward.webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= now() ORDER BY d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED`).
		Scan(&id, &payload, &attempts, &hookID, &name, &dest, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	attempts++
	postErr := d.post(ctx, id, dest, secret, payload)
	bg := context.WithoutCancel(ctx)
	switch {
	case postErr == nil:
		_, err = tx.Exec(bg, `UPDATE goforward.webhook_deliveries SET status = 'delivered', attempts = $2, delivered_at = now(), last_error = NULL WHERE id = $1`, id, attempts)
	case attempts >= d.cfg.MaxAttempts:
		d.logger.ErrorContext(ctx, "webhooks: delivery failed for good", "webhook", name, "delivery", id, "attempts", attempts, "error", postErr)
		_, err = tx.Exec(bg, `UPDATE goforward.webhook_deliveries SET status = 'failed', attempts = $2, last_error = $3 WHERE id = $1`, id, attempts, postErr.Error())
		if err == nil {
			err = audit.Record(bg, tx, audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: "webhooks.delivery_failed",
				Outcome: audit.Error, Severity: audit.Warning, ResourceType: "webhook", ResourceID: hookID,
				Details: map[string]any{"webhook": name, "delivery": id, "attempts": attempts, "error": postErr.Error()}})
		}
	default:
		wait := d.cfg.RetryBase << min(attempts-1, 20)
		d.logger.WarnContext(ctx, "webhooks: delivery failed, retrying", "webhook", name, "delivery", id, "attempt", attempts, "in", wait.String(), "error", postErr)
		_, err = tx.Exec(bg, `UPDATE goforward.webhook_deliveries SET attempts = $2, last_error = $3, next_attempt_at = now() + $4 * interval '1 microsecond' WHERE id = $1`,
			id, attempts, postErr.Error(), wait.Microseconds())
	}
	if err != nil {
		return true, err
	}
	return true, tx.Commit(bg)
}

func (d *Deliverer) post(ctx context.Context, id int64, dest, secret string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	return alerts.PostSigned(ctx, d.client, dest, secret, "goforward-webhooks", body,
		http.Header{IDHeader: {strconv.FormatInt(id, 10)}})
}
