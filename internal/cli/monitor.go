package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/alerts"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/ratelimit"
)

// securityMonitor is the security monitor as serve runs it: the gateway's guard, the monitor (one
// elected node works) and its notifier. All nil when alerts.enabled is false.
type securityMonitor struct {
	guard    *alerts.Guard
	monitor  *alerts.Monitor
	notifier *alerts.Notifier
}

// newSecurity builds the monitor from the configuration. users is auth's service, asked for
// only when a rule locks an account.
func newSecurity(cfg config.Config, dataDir string, pool *pgxpool.Pool, limits *ratelimit.Store, users func() (*auth.Service, error),
	now func() time.Time, logger *slog.Logger) (securityMonitor, error) {
	a := cfg.Alerts
	if !a.Enabled {
		return securityMonitor{}, nil
	}
	var mail mailer.Sender
	if a.Email.SystemAdmins && cfg.Auth.SMTP.Host != "" {
		smtp, err := mailer.NewSMTP(mailer.SMTPConfig{
			Host: cfg.Auth.SMTP.Host, Port: cfg.Auth.SMTP.Port, User: cfg.Auth.SMTP.User, Password: cfg.Auth.SMTP.Password,
			From: cfg.Auth.SMTP.From, TLS: cfg.Auth.SMTP.TLS,
		}, logger)
		if err != nil {
			return securityMonitor{}, fmt.Errorf("alerts.email: auth.smtp: %w", err)
		}
		mail = smtp
	}
	var sec securityMonitor
	sec.notifier = alerts.NewNotifier(alerts.NotifierConfig{
		WebhookURL: a.Webhook.URL, WebhookSecret: a.Webhook.Secret, Timeout: a.Webhook.Timeout, Retries: a.Webhook.Retries,
		MailSystemAdmins: a.Email.SystemAdmins,
	}, pool, mail, nil, logger)
	var rules []alerts.Rule
	for _, r := range a.Rules.RuleList() {
		if r.Enabled {
			rules = append(rules, alerts.Rule{Name: r.Name, Threshold: r.Threshold, Window: r.Window, Severity: r.Severity,
				Action: r.Action, ActionDuration: r.ActionDuration})
		}
	}
	var gc alerts.GuardConfig
	if b := a.Rules.UnauthorizedBurst; b.Enabled {
		gc = alerts.GuardConfig{Threshold: b.Threshold, Window: b.Window}
	}
	sec.guard = alerts.NewGuard(gc, limits, pool, logger)
	sec.monitor = alerts.NewMonitor(alerts.Config{
		Interval: a.Interval, BatchSize: a.BatchSize, VerifyEvery: a.VerifyEvery, AuditDir: audit.Dir(dataDir), Rules: rules,
	}, alerts.Deps{Pool: pool, Notifier: sec.notifier, Locker: banLocker{users: users}, Blocker: sec.guard, Logger: logger, Now: now})
	return sec, nil
}

// run is the monitor's and notifier's background work; nothing when the monitor is off.
func (s securityMonitor) run(ctx context.Context) error {
	if s.monitor == nil {
		return nil
	}
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return s.notifier.Run(ctx) })
	group.Go(func() error { return s.monitor.Run(ctx) })
	return group.Wait()
}

// banLocker locks an account by banning the user through auth's own admin function, in the
// monitor's transaction: sign-in and refresh then answer user_banned until the ban ends,
// and GoTrue's and Go Forward's audit logs record it like any ban.
type banLocker struct {
	users func() (*auth.Service, error)
}

// systemPrincipal is the monitor acting on its own.
var systemPrincipal = access.Principal{Kind: access.Kind(audit.ActorSystem), Level: access.SystemAdmin,
	Capabilities: access.For(access.SystemAdmin, nil, nil)}

func (b banLocker) LockAccount(ctx context.Context, tx pgx.Tx, userID string, d time.Duration, reason string) error {
	svc, err := b.users()
	if err != nil {
		return err
	}
	_, err = svc.AdminBanUser(ctx, tx, systemPrincipal, audit.Client{UserAgent: "goforward-alerts (" + reason + ")"}, userID, d.String())
	return err
}
