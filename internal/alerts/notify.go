package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/mailer"
)

// Headers of a webhook delivery. The signature is HMAC-SHA256, keyed with the webhook's
// secret, over the timestamp, a dot and the body: "sha256=" and its hex.
const (
	SignatureHeader = "X-Goforward-Signature"
	TimestampHeader = "X-Goforward-Timestamp"
)

// Sign is the value of SignatureHeader for a body sent at timestamp (Unix seconds).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NotifierConfig configures where new alerts go. Zero values mean the stated defaults.
type NotifierConfig struct {
	// WebhookURL receives each new alert as a POST; "" sends none.
	WebhookURL string
	// WebhookSecret keys the signature.
	WebhookSecret string
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration
	// Retries are the further attempts after a failure. Default 0.
	Retries int
	// RetryBase is the wait before the first retry, doubled before each next one. Default 1s.
	RetryBase time.Duration
	// MailSystemAdmins mails each new alert to every active system admin through Mail.
	MailSystemAdmins bool
}

// Notifier delivers new alerts in the background, in order, so that a slow or failing
// receiver never holds the monitor up. Build it with NewNotifier and run Run.
type Notifier struct {
	cfg    NotifierConfig
	pool   *pgxpool.Pool
	mail   mailer.Sender
	client *http.Client
	logger *slog.Logger
	queue  chan Alert
}

// NewNotifier builds a notifier; mail may be nil (no SMTP configured), and client nil uses a
// client with no redirects.
func NewNotifier(cfg NotifierConfig, pool *pgxpool.Pool, mail mailer.Sender, client *http.Client, logger *slog.Logger) *Notifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Notifier{cfg: cfg, pool: pool, mail: mail, client: client, logger: logger, queue: make(chan Alert, 256)}
}

// Enqueue hands a new alert to Run. When the queue is full the alert is still in the table
// (and the log); only its notification is dropped, with an error logged.
func (n *Notifier) Enqueue(a Alert) {
	select {
	case n.queue <- a:
	default:
		n.logger.Error("security alerts: notification queue full, not notifying", "alert", a.ID, "rule", a.Rule)
	}
}

// Run delivers queued alerts until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-n.queue:
			n.Deliver(ctx, a)
		}
	}
}

// Deliver posts a to the webhook (with its retries) and mails it; each failure that remains
// is written to the audit log (alerts.webhook_failed, alerts.email_failed).
func (n *Notifier) Deliver(ctx context.Context, a Alert) {
	if n.cfg.WebhookURL != "" {
		if attempts, err := n.post(ctx, a); err != nil {
			n.failed(ctx, "alerts.webhook_failed", a, map[string]any{"attempts": attempts, "error": err.Error()})
		}
	}
	if n.cfg.MailSystemAdmins {
		n.mailAdmins(ctx, a)
	}
}

// webhookBody is what the receiver gets.
type webhookBody struct {
	Type  string `json:"type"`
	Alert Alert  `json:"alert"`
}

func (n *Notifier) post(ctx context.Context, a Alert) (int, error) {
	body, err := json.Marshal(webhookBody{Type: "security_alert", Alert: a})
	if err != nil {
		return 0, err
	}
	wait := n.cfg.RetryBase
	var last error
	for attempt := 1; ; attempt++ {
		if last = n.attempt(ctx, body); last == nil {
			return attempt, nil
		}
		if attempt > n.cfg.Retries || ctx.Err() != nil {
			return attempt, last
		}
		n.logger.Warn("security alerts: webhook delivery failed, retrying", "alert", a.ID, "attempt", attempt, "in", wait.String(), "error", last)
		select {
		case <-ctx.Done():
			return attempt, last
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (n *Notifier) attempt(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	return PostSigned(ctx, n.client, n.cfg.WebhookURL, n.cfg.WebhookSecret, "goforward-alerts", body, nil)
}

// PostSigned POSTs body as JSON to dest, signed with secret (TimestampHeader and
// SignatureHeader, see Sign), with extra headers added; any 2xx answer is success. The
// alerts webhook and the database webhooks (internal/webhooks) both send this way.
func PostSigned(ctx context.Context, client *http.Client, dest, secret, userAgent string, body []byte, extra http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign([]byte(secret), ts, body))
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		// url.Error repeats the URL, whose query may hold the receiver's own token: keep it
		// out of the audit log.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %d", res.StatusCode)
	}
	return nil
}

func (n *Notifier) mailAdmins(ctx context.Context, a Alert) {
	if n.mail == nil {
		n.failed(ctx, "alerts.email_failed", a, map[string]any{"error": "no SMTP server is configured (auth.smtp.host)"})
		return
	}
	rows, err := n.pool.Query(ctx, `SELECT u.email FROM goforward.admins a JOIN auth.users u ON u.id = a.user_id
WHERE a.level = 'system_admin' AND a.revoked_at IS NULL AND coalesce(u.email, '') <> '' ORDER BY u.email`)
	if err != nil {
		if ctx.Err() == nil {
			n.logger.Error("security alerts: read the system admins", "error", err)
		}
		return
	}
	to, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		n.logger.Error("security alerts: read the system admins", "error", err)
		return
	}
	subject := fmt.Sprintf("[Go Forward] %s security alert: %s", a.Severity, a.Rule)
	text := fmt.Sprintf("%s\n\nRule: %s\nSeverity: %s\nSubject: %s\nFirst seen: %s\nAlert id: %d\n\nAcknowledge it with: goforward alerts ack %d\n",
		a.Message, a.Rule, a.Severity, a.Subject, a.FirstSeen.Format(time.RFC3339), a.ID, a.ID)
	for _, addr := range to {
		err := n.mail.Send(ctx, mailer.Message{To: addr, Subject: subject, Text: text, HTML: "<pre>" + html.EscapeString(text) + "</pre>", Kind: "security_alert"})
		if err != nil {
			n.failed(ctx, "alerts.email_failed", a, map[string]any{"to": addr, "error": err.Error()})
		}
	}
}

// failed records a notification that did not arrive, detached from ctx so that shutting down
// does not erase it.
func (n *Notifier) failed(ctx context.Context, action string, a Alert, details map[string]any) {
	n.logger.Error("security alerts: notification failed", "action", action, "alert", a.ID, "details", details)
	details["rule"] = a.Rule
	e := audit.Entry{Actor: audit.Actor{Type: audit.ActorSystem}, Action: action, Outcome: audit.Error, Severity: audit.Warning,
		ResourceType: "security_alert", ResourceID: strconv.FormatInt(a.ID, 10), Details: details}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := audit.Record(ctx, n.pool, e); err != nil {
		n.logger.Error("security alerts: audit a failed notification", "error", err)
	}
}
