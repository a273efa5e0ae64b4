package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
	"github.com/goforward/goforward/internal/audit"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/sms"
)

// authService builds the GoTrue-compatible /auth/v1 service.
func authService() serviceBuilder {
	return serviceBuilder{name: "auth", build: func(d serviceDeps) (builtService, error) {
		svc, err := d.authService()
		if err != nil {
			return builtService{}, err
		}
		if d.emb != nil && d.emb.Auth != nil {
			d.emb.Auth(func(ctx context.Context, body json.RawMessage) (out json.RawMessage, err error) {
				// The program's own code acts as the service role does at the admin API, and
				// is recorded so in the audit log.
				err = db.InTx(ctx, d.admin, func(tx pgx.Tx) error {
					out, err = svc.AdminCreateUser(ctx, tx, access.Principal{Kind: access.KindServiceRole}, audit.Client{}, body)
					return err
				})
				return out, err
			})
		}
		return builtService{
			Service: gateway.Service{Name: "auth", Prefix: auth.Prefix, Mount: svc.Mount, Open: auth.OpenPaths},
			run:     svc.Run,
		}, nil
	}}
}

// authService is the one auth service of this server: the /auth/v1 service and admin
// sign-in share it, and with it its rate-limit buckets and bcrypt slots.
func (d serviceDeps) authService() (*auth.Service, error) {
	if d.sharedAuth != nil {
		return d.sharedAuth()
	}
	return newAuthService(d)
}

// newAuthService builds an auth service from the configuration.
func newAuthService(d serviceDeps) (*auth.Service, error) {
	deps := auth.Deps{Pool: d.admin, Keys: d.keys, Logger: d.logger, RateLimits: d.limits, Clock: d.clock, Providers: d.emb.providers(), Hooks: d.emb.authHooks()}
	a := d.cfg.Auth
	templates, err := mailer.LoadTemplates(a.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("auth.templates_dir: %w", err)
	}
	deps.Templates = templates
	if a.SMTP.Host != "" {
		smtp, err := mailer.NewSMTP(mailer.SMTPConfig{
			Host: a.SMTP.Host, Port: a.SMTP.Port, User: a.SMTP.User, Password: a.SMTP.Password,
			From: a.SMTP.From, TLS: a.SMTP.TLS,
		}, d.logger)
		if err != nil {
			return nil, fmt.Errorf("auth.smtp: %w", err)
		}
		deps.Mail = smtp
	}
	if a.SMS.Provider == "twilio" {
		twilio, err := sms.NewTwilio(sms.TwilioConfig{
			AccountSID: a.SMS.Twilio.AccountSID, AuthToken: a.SMS.Twilio.AuthToken,
			From: a.SMS.Twilio.From, BaseURL: a.SMS.Twilio.BaseURL,
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("auth.sms.twilio: %w", err)
		}
		deps.SMS = twilio
	}
	return auth.New(authConfig(d.cfg), deps)
}

// authConfig maps the auth section onto the service's Config. The configuration says "0 turns
// it off" where the service's zero means its default, so zeros become -1 here.
func authConfig(cfg config.Config) auth.Config {
	a := cfg.Auth
	off := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	offDuration := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	smsProvider := ""
	if a.SMS.Provider == "twilio" {
		smsProvider = "twilio"
	}
	return auth.Config{
		SiteURL:                               a.SiteURL,
		ExternalURL:                           cfg.APIURL(),
		URIAllowList:                          a.URIAllowList,
		Issuer:                                cfg.JWT.Issuer,
		JWTExpiry:                             cfg.JWT.Expiry,
		RefreshTokenReuseInterval:             offDuration(a.RefreshTokenReuseInterval),
		MailerAutoconfirm:                     cfg.Autoconfirm(a.MailerAutoconfirm),
		PhoneAutoconfirm:                      cfg.Autoconfirm(a.PhoneAutoconfirm),
		DisableSignup:                         a.DisableSignup,
		AnonymousUsers:                        a.AnonymousUsers,
		UpdatePasswordRequireReauthentication: a.UpdatePasswordRequireReauthentication,
		PasswordMinLength:                     a.PasswordMinLength,
		PasswordRequiredCharacters:            a.PasswordRequiredCharacters,
		BcryptCost:                            a.BcryptCost,
		EmailOTPExpiry:                        a.OTP.EmailExpiry,
		SMSOTPExpiry:                          a.OTP.SMSExpiry,
		OTPLength:                             a.OTP.Length,
		OTPMaxAttempts:                        a.OTP.MaxAttempts,
		MaxFrequency:                          offDuration(a.OTP.MaxFrequency),
		LockoutAttempts:                       off(a.Lockout.Attempts),
		LockoutAccountAttempts:                off(a.Lockout.AccountAttempts),
		LockoutDuration:                       a.Lockout.Duration,
		LockoutMaxDuration:                    a.Lockout.MaxDuration,
		DetectorAccounts:                      off(a.Lockout.DetectorAccounts),
		DetectorWindow:                        a.Lockout.DetectorWindow,
		RateLimits: auth.RateLimits{
			OTP: off(a.RateLimit.OTP), Verify: off(a.RateLimit.Verify), Token: off(a.RateLimit.Token),
			AnonymousUsers: off(a.RateLimit.AnonymousUsers), EmailSent: off(a.RateLimit.EmailSent),
			SMSSent: off(a.RateLimit.SMSSent), MFA: off(a.RateLimit.MFA),
		},
		MFAPhone:      a.MFA.PhoneEnabled,
		SMSTemplate:   a.SMS.Template,
		SMSProvider:   smsProvider,
		DevInbox:      cfg.IsDevelopment(),
		Version:       version,
		External:      externalProviders(a.External),
		ManualLinking: a.ManualLinkingEnabled,
	}
}

// externalProviders maps auth.external onto the service's providers by name.
func externalProviders(e config.AuthExternalConfig) map[string]auth.ExternalProvider {
	out := map[string]auth.ExternalProvider{}
	for name, p := range map[string]config.AuthProviderConfig{"github": e.Github, "gitlab": e.Gitlab, "discord": e.Discord, "google": e.Google, "azure": e.Azure} {
		if p.Enabled {
			out[name] = auth.ExternalProvider{Enabled: true, ClientID: p.ClientID, Secret: p.Secret, RedirectURI: p.RedirectURI,
				URL: p.URL, Issuer: p.Issuer, Scopes: p.Scopes, SkipNonceCheck: p.SkipNonceCheck, EmailOptional: p.EmailOptional}
		}
	}
	if a := e.Apple; a.Enabled {
		out["apple"] = auth.ExternalProvider{Enabled: true, ClientID: a.ClientID, Secret: a.Secret, RedirectURI: a.RedirectURI,
			Issuer: a.Issuer, SkipNonceCheck: a.SkipNonceCheck, EmailOptional: a.EmailOptional,
			AppleTeamID: a.TeamID, AppleKeyID: a.KeyID, ApplePrivateKey: a.PrivateKey}
	}
	if o := e.OIDC; o.Enabled {
		out[o.Name] = auth.ExternalProvider{Enabled: true, ClientID: o.ClientID, Secret: o.Secret, RedirectURI: o.RedirectURI,
			Issuer: o.Issuer, Scopes: o.Scopes, SkipNonceCheck: o.SkipNonceCheck, EmailOptional: o.EmailOptional}
	}
	return out
}
