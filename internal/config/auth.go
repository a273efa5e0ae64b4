package config

import (
	"strings"
	"time"
)

// AuthConfig configures the auth service. Its fields mirror GoTrue's settings where one
// exists (SITE_URL → site_url, …) so that Supabase's documentation maps over.
type AuthConfig struct {
	SiteURL                               string              `koanf:"site_url" doc:"URL of the application using this backend: the default redirect after e-mail links, and the base that redirect_to values are checked against (GoTrue's SITE_URL)."`
	URIAllowList                          []string            `koanf:"uri_allow_list" doc:"More URLs that redirect_to may name besides site_url's host: exact URLs or globs where * matches within a host label or path segment and ** matches anything (GoTrue's URI_ALLOW_LIST)."`
	MailerAutoconfirm                     string              `koanf:"mailer_autoconfirm" doc:"Sign e-mail users up without a confirmation mail: true, false, or auto (true in development, false in staging and production)."`
	PhoneAutoconfirm                      string              `koanf:"phone_autoconfirm" doc:"Sign phone users up without a confirmation SMS: true, false, or auto (true in development, false otherwise)."`
	DisableSignup                         bool                `koanf:"disable_signup" doc:"Refuse new users on every path (sign-up, one-time codes, custom providers)."`
	AnonymousUsers                        bool                `koanf:"anonymous_users" doc:"Allow anonymous sign-ins (supabase.auth.signInAnonymously)."`
	PasswordMinLength                     int                 `koanf:"password_min_length" doc:"Shortest password accepted, in characters (at most 72, bcrypt's limit)."`
	PasswordRequiredCharacters            []string            `koanf:"password_required_characters" doc:"Character classes a password must each contain one of: lower, upper, digits, symbols. Empty: none."`
	BcryptCost                            int                 `koanf:"bcrypt_cost" doc:"bcrypt work factor of password hashes (4 to 31); each step doubles the time a sign-in takes."`
	RefreshTokenReuseInterval             time.Duration       `koanf:"refresh_token_reuse_interval" doc:"How long a rotated refresh token may still be exchanged, for concurrent refreshes from several tabs; 0 allows no reuse."`
	UpdatePasswordRequireReauthentication bool                `koanf:"update_password_require_reauthentication" doc:"Require a nonce from GET /auth/v1/reauthenticate to change the password of a session older than 24 hours."`
	LegacyKeys                            bool                `koanf:"legacy_keys" doc:"Accept the legacy JWT API keys (the anon and service-role keys, and any JWT whose role is anon or service_role) as apikey or Bearer; false leaves only publishable and secret keys (goforward keys create) and users' tokens; once an asymmetric signing key signs sessions (goforward keys rotate-signing-key, the default of a new data directory), false also refuses every HS256 token, users' included."`
	TemplatesDir                          string              `koanf:"templates_dir" doc:"Directory of e-mail templates overriding the built-in ones: <kind>.html bodies and <kind>.subject lines for confirmation, recovery, magic_link, invite, email_change and reauthentication; empty uses the built-in ones."`
	OTP                                   AuthOTPConfig       `koanf:"otp" doc:"One-time codes and links sent by e-mail and SMS."`
	Lockout                               AuthLockoutConfig   `koanf:"lockout" doc:"Locking accounts after repeated wrong passwords (and wrong second-factor codes), and flagging addresses that try many accounts."`
	MFA                                   AuthMFAConfig       `koanf:"mfa" doc:"Multi-factor authentication: TOTP factors and backup codes are always available."`
	RateLimit                             AuthRateLimitConfig `koanf:"rate_limit" doc:"Request limits per client IP and per e-mail address or phone number (GoTrue's defaults); 0 turns a limit off."`
	SMTP                                  AuthSMTPConfig      `koanf:"smtp" doc:"Outgoing e-mail. Without a host, mails are only logged (and kept in the development inbox in development)."`
	SMS                                   AuthSMSConfig       `koanf:"sms" doc:"Outgoing text messages."`
	External                              AuthExternalConfig  `koanf:"external" doc:"OAuth 2.0 / OpenID Connect sign-in providers (GoTrue's GOTRUE_EXTERNAL_<NAME>_*)."`
	ManualLinkingEnabled                  bool                `koanf:"manual_linking_enabled" doc:"Let signed-in users link and unlink identities (supabase.auth.linkIdentity / unlinkIdentity; GoTrue's SECURITY_MANUAL_LINKING_ENABLED)."`
}

// AuthOTPConfig configures one-time codes.
type AuthOTPConfig struct {
	EmailExpiry  time.Duration `koanf:"email_expiry" doc:"Lifetime of codes and links sent by e-mail (GoTrue's MAILER_OTP_EXP)."`
	SMSExpiry    time.Duration `koanf:"sms_expiry" doc:"Lifetime of codes sent by SMS (GoTrue's SMS_OTP_EXP)."`
	Length       int           `koanf:"length" doc:"Digits of a one-time code, 6 to 10."`
	MaxAttempts  int           `koanf:"max_attempts" doc:"Wrong codes a pending code survives before it is voided and a new one must be requested."`
	MaxFrequency time.Duration `koanf:"max_frequency" doc:"Shortest time between two mails or SMS of one kind to one address (GoTrue's SMTP_MAX_FREQUENCY); 0 means no minimum."`
}

// AuthLockoutConfig configures account lockout and the suspicious-activity detector.
type AuthLockoutConfig struct {
	Attempts         int           `koanf:"attempts" doc:"Wrong passwords in a row from one client address (an IPv4 address or an IPv6 /64) that lock an account (or an unknown address) for that client address; 0 turns lockout off."`
	AccountAttempts  int           `koanf:"account_attempts" doc:"Wrong passwords from all client addresses together that lock an account for every address it has not signed in from in the last 90 days; its owner still gets in from a known address. 0 turns this account-wide lock off."`
	Duration         time.Duration `koanf:"duration" doc:"Length of the first lock; each further lock of the same account doubles it."`
	MaxDuration      time.Duration `koanf:"max_duration" doc:"Longest a lock can grow to."`
	DetectorAccounts int           `koanf:"detector_accounts" doc:"Distinct accounts failing to sign in from one IP address within detector_window that raise a suspicious_activity security event; 0 turns the detector off."`
	DetectorWindow   time.Duration `koanf:"detector_window" doc:"Window of the suspicious-activity detector."`
}

// AuthRateLimitConfig are GoTrue's rate limits.
type AuthRateLimitConfig struct {
	OTP            int `koanf:"otp" doc:"Requests per 5 minutes to /signup, /otp, /recover, /resend and e-mail or phone changes (GoTrue's RATE_LIMIT_OTP)."`
	Verify         int `koanf:"verify" doc:"Requests per 5 minutes to /verify (GoTrue's RATE_LIMIT_VERIFY)."`
	Token          int `koanf:"token" doc:"Requests per 5 minutes to /token, in bursts of at most 30 (GoTrue's RATE_LIMIT_TOKEN_REFRESH)."`
	AnonymousUsers int `koanf:"anonymous_users" doc:"Anonymous sign-ins per hour per IP (GoTrue's RATE_LIMIT_ANONYMOUS_USERS)."`
	EmailSent      int `koanf:"email_sent" doc:"E-mails this node sends per hour in all (GoTrue's RATE_LIMIT_EMAIL_SENT)."`
	SMSSent        int `koanf:"sms_sent" doc:"Text messages this node sends per hour in all (GoTrue's RATE_LIMIT_SMS_SENT)."`
	MFA            int `koanf:"mfa" doc:"MFA challenges and verifications (TOTP, SMS and backup codes) per minute (GoTrue's MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY)."`
}

// AuthMFAConfig configures multi-factor authentication.
type AuthMFAConfig struct {
	PhoneEnabled bool `koanf:"phone_enabled" doc:"Allow phone factors, whose codes go out by SMS (GoTrue's MFA_PHONE_ENROLL_ENABLED); off, enrolling one answers 422 mfa_phone_enroll_not_enabled."`
}

// AuthSMTPConfig configures the SMTP server mail goes through.
type AuthSMTPConfig struct {
	Host     string `koanf:"host" doc:"SMTP server host; empty logs mails instead of sending them."`
	Port     int    `koanf:"port" doc:"SMTP server port; 0 means 465 when auth.smtp.tls is tls, and 587 otherwise."`
	User     string `koanf:"user" doc:"SMTP user name; empty sends without authenticating."`
	Password string `koanf:"password" redact:"value" doc:"SMTP password."`
	From     string `koanf:"from" doc:"Sender address, optionally with a name: Go Forward <noreply@example.com>. Required with a host."`
	TLS      string `koanf:"tls" doc:"starttls, tls (implicit, port 465) or none (loopback only); empty picks tls for port 465 and starttls otherwise."`
}

// AuthSMSConfig configures text messages.
type AuthSMSConfig struct {
	Provider string           `koanf:"provider" doc:"log (messages are only logged, and kept in the development inbox in development) or twilio (Twilio's Messages API or a compatible one)."`
	Template string           `koanf:"template" doc:"Text of one-time code messages; {{ .Code }} is the code."`
	Twilio   AuthTwilioConfig `koanf:"twilio" doc:"The Twilio-compatible provider."`
}

// AuthTwilioConfig configures the Twilio-compatible SMS provider.
type AuthTwilioConfig struct {
	AccountSID string `koanf:"account_sid" doc:"Account SID (AC…)."`
	AuthToken  string `koanf:"auth_token" redact:"value" doc:"Account auth token."`
	From       string `koanf:"from" doc:"Sender: a phone number in E.164 form, an alphanumeric sender id, or a Messaging Service SID (MG…)."`
	BaseURL    string `koanf:"base_url" doc:"API origin, for a Twilio-compatible service; empty means https://api.twilio.com."`
}

// Values of auth.mailer_autoconfirm and auth.phone_autoconfirm.
const (
	AutoconfirmAuto  = "auto"
	AutoconfirmTrue  = "true"
	AutoconfirmFalse = "false"
)

// Autoconfirm resolves an autoconfirm setting: "auto" is true only in development.
func (c Config) Autoconfirm(setting string) bool {
	switch strings.ToLower(setting) {
	case AutoconfirmTrue:
		return true
	case AutoconfirmFalse:
		return false
	}
	return c.IsDevelopment()
}

func defaultAuth() AuthConfig {
	return AuthConfig{
		SiteURL:                   "http://localhost:3000",
		LegacyKeys:                true,
		MailerAutoconfirm:         AutoconfirmAuto,
		PhoneAutoconfirm:          AutoconfirmAuto,
		PasswordMinLength:         6,
		BcryptCost:                10,
		RefreshTokenReuseInterval: 10 * time.Second,
		OTP: AuthOTPConfig{
			EmailExpiry:  time.Hour,
			SMSExpiry:    time.Minute,
			Length:       6,
			MaxAttempts:  5,
			MaxFrequency: time.Minute,
		},
		Lockout: AuthLockoutConfig{
			Attempts:         5,
			AccountAttempts:  20,
			Duration:         time.Minute,
			MaxDuration:      time.Hour,
			DetectorAccounts: 10,
			DetectorWindow:   10 * time.Minute,
		},
		RateLimit: AuthRateLimitConfig{OTP: 30, Verify: 30, Token: 150, AnonymousUsers: 30, EmailSent: 30, SMSSent: 30, MFA: 15},
		SMS:       AuthSMSConfig{Provider: "log", Template: "Your code is {{ .Code }}"},
		External:  AuthExternalConfig{OIDC: AuthOIDCConfig{Name: "oidc"}},
	}
}

func validateAuth(errs *fieldErrors, a AuthConfig) {
	if reason := checkPublicURL(a.SiteURL); reason != "" {
		errs.add("auth.site_url", reason, a.SiteURL)
	}
	for _, entry := range a.URIAllowList {
		if strings.TrimSpace(entry) == "" {
			errs.add("auth.uri_allow_list", "must not contain an empty entry", entry)
		}
	}
	autoconfirm := []string{AutoconfirmAuto, AutoconfirmTrue, AutoconfirmFalse}
	oneOf(errs, "auth.mailer_autoconfirm", strings.ToLower(a.MailerAutoconfirm), autoconfirm)
	oneOf(errs, "auth.phone_autoconfirm", strings.ToLower(a.PhoneAutoconfirm), autoconfirm)
	if a.PasswordMinLength < 1 || a.PasswordMinLength > 72 {
		errs.add("auth.password_min_length", "must be between 1 and 72 (bcrypt reads at most 72 bytes)", a.PasswordMinLength)
	}
	for _, class := range a.PasswordRequiredCharacters {
		oneOf(errs, "auth.password_required_characters", class, []string{"lower", "upper", "digits", "symbols"})
	}
	if a.BcryptCost < 4 || a.BcryptCost > 31 {
		errs.add("auth.bcrypt_cost", "must be between 4 and 31", a.BcryptCost)
	}
	notNegative(errs, "auth.refresh_token_reuse_interval", a.RefreshTokenReuseInterval)
	positive(errs, "auth.otp.email_expiry", a.OTP.EmailExpiry)
	positive(errs, "auth.otp.sms_expiry", a.OTP.SMSExpiry)
	if a.OTP.Length < 6 || a.OTP.Length > 10 {
		errs.add("auth.otp.length", "must be between 6 and 10", a.OTP.Length)
	}
	if a.OTP.MaxAttempts < 1 {
		errs.add("auth.otp.max_attempts", "must be at least 1", a.OTP.MaxAttempts)
	}
	notNegative(errs, "auth.otp.max_frequency", a.OTP.MaxFrequency)
	if a.Lockout.Attempts < 0 {
		errs.add("auth.lockout.attempts", "must not be negative (0 turns lockout off)", a.Lockout.Attempts)
	}
	if a.Lockout.AccountAttempts < 0 {
		errs.add("auth.lockout.account_attempts", "must not be negative (0 turns the account-wide lock off)", a.Lockout.AccountAttempts)
	}
	positive(errs, "auth.lockout.duration", a.Lockout.Duration)
	if a.Lockout.MaxDuration < a.Lockout.Duration {
		errs.add("auth.lockout.max_duration", "must be at least auth.lockout.duration", a.Lockout.MaxDuration)
	}
	if a.Lockout.DetectorAccounts < 0 {
		errs.add("auth.lockout.detector_accounts", "must not be negative (0 turns the detector off)", a.Lockout.DetectorAccounts)
	}
	positive(errs, "auth.lockout.detector_window", a.Lockout.DetectorWindow)
	limits := []struct {
		key string
		n   int
	}{
		{"auth.rate_limit.otp", a.RateLimit.OTP}, {"auth.rate_limit.verify", a.RateLimit.Verify},
		{"auth.rate_limit.token", a.RateLimit.Token}, {"auth.rate_limit.anonymous_users", a.RateLimit.AnonymousUsers},
		{"auth.rate_limit.email_sent", a.RateLimit.EmailSent}, {"auth.rate_limit.sms_sent", a.RateLimit.SMSSent},
		{"auth.rate_limit.mfa", a.RateLimit.MFA},
	}
	for _, l := range limits {
		if l.n < 0 {
			errs.add(l.key, "must not be negative (0 turns the limit off)", l.n)
		}
	}
	validateSMTP(errs, a.SMTP)
	validateSMS(errs, a.SMS)
	validateExternalProviders(errs, a.External)
}

func validateSMTP(errs *fieldErrors, s AuthSMTPConfig) {
	if s.Host == "" {
		return
	}
	if s.From == "" {
		errs.add("auth.smtp.from", "must be set when auth.smtp.host is (the sender address)", s.From)
	}
	if s.Port < 0 || s.Port > 65535 {
		errs.add("auth.smtp.port", "must be between 0 (the default for the TLS mode) and 65535", s.Port)
	}
	oneOf(errs, "auth.smtp.tls", s.TLS, []string{"", "starttls", "tls", "none"})
}

func validateSMS(errs *fieldErrors, s AuthSMSConfig) {
	oneOf(errs, "auth.sms.provider", s.Provider, []string{"log", "twilio"})
	if strings.TrimSpace(s.Template) == "" {
		errs.add("auth.sms.template", "must not be empty", s.Template)
	}
	if s.Provider != "twilio" {
		return
	}
	if s.Twilio.AccountSID == "" {
		errs.add("auth.sms.twilio.account_sid", "must be set when auth.sms.provider is twilio", s.Twilio.AccountSID)
	}
	if s.Twilio.AuthToken == "" {
		errs.add("auth.sms.twilio.auth_token", "must be set when auth.sms.provider is twilio", nil)
	}
	if s.Twilio.From == "" {
		errs.add("auth.sms.twilio.from", "must be set when auth.sms.provider is twilio", s.Twilio.From)
	}
}
