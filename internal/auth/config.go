package auth

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Defaults applied by New to zero Config fields. They are GoTrue's where GoTrue has one.
const (
	DefaultSiteURL                   = "http://localhost:3000"
	DefaultIssuer                    = "goforward"
	DefaultJWTExpiry                 = time.Hour
	DefaultPasswordMinLength         = 6
	DefaultBcryptCost                = 10
	DefaultRefreshTokenReuseInterval = 10 * time.Second
	DefaultEmailOTPExpiry            = time.Hour
	DefaultSMSOTPExpiry              = time.Minute
	DefaultOTPLength                 = 6
	DefaultOTPMaxAttempts            = 5
	DefaultMaxFrequency              = time.Minute
	DefaultFlowStateExpiry           = 5 * time.Minute
	DefaultLockoutAttempts           = 5
	DefaultLockoutAccountAttempts    = 20
	DefaultLockoutDuration           = time.Minute
	DefaultLockoutMaxDuration        = time.Hour
	DefaultDetectorAccounts          = 10
	DefaultDetectorWindow            = 10 * time.Minute
	DefaultDevInboxSize              = 200
	DefaultSMSTemplate               = "Your code is {{ .Code }}"
	DefaultMFARateLimit              = 15
)

// Password character classes accepted in Config.PasswordRequiredCharacters.
const (
	CharsLower   = "lower"
	CharsUpper   = "upper"
	CharsDigits  = "digits"
	CharsSymbols = "symbols"
)

// maxPasswordBytes is bcrypt's limit: it ignores everything after the 72nd byte, so GoTrue
// refuses longer passwords rather than silently truncating them.
const maxPasswordBytes = 72

// maxEmailLength is the width of auth.users.email.
const maxEmailLength = 255

// Config configures the auth service. Zero values mean the stated defaults.
type Config struct {
	// SiteURL is the application's URL: the default redirect after e-mail links and the host
	// that redirect_to may always point at. Default http://localhost:3000.
	SiteURL string
	// ExternalURL is the base URL clients reach this server at (without /auth/v1); e-mail
	// links point at ExternalURL + "/auth/v1/verify". Default http://localhost:8080.
	ExternalURL string
	// URIAllowList holds more redirect targets besides SiteURL's host: exact URLs or globs in
	// which "*" matches within one host label or path segment and "**" matches anything
	// (GoTrue's URI_ALLOW_LIST). Empty: only SiteURL's host.
	URIAllowList []string

	// Issuer is the iss claim of access tokens. Default "goforward".
	Issuer string
	// JWTExpiry is the lifetime of access tokens. Default 1h.
	JWTExpiry time.Duration
	// RefreshTokenReuseInterval is how long a rotated refresh token may still be exchanged
	// (concurrent refreshes from several tabs). Default 10s; negative: no grace at all.
	RefreshTokenReuseInterval time.Duration

	// MailerAutoconfirm signs e-mail users up without a confirmation mail. Default false:
	// confirmation required (the auth config's "auto" turns it on in development only).
	MailerAutoconfirm bool
	// PhoneAutoconfirm does the same for phone sign-ups. Default false.
	PhoneAutoconfirm bool
	// DisableSignup refuses new users on every path (signup, OTP, custom providers).
	DisableSignup bool
	// AnonymousUsers allows POST /signup without e-mail or phone. Default false, as GoTrue.
	AnonymousUsers bool
	// UpdatePasswordRequireReauthentication makes PUT /user demand a nonce from
	// GET /reauthenticate to change the password of a session older than 24 hours.
	UpdatePasswordRequireReauthentication bool

	// PasswordMinLength is the shortest password accepted. Default 6.
	PasswordMinLength int
	// PasswordRequiredCharacters lists classes (lower, upper, digits, symbols) a password must
	// each contain at least one character of. Empty: none.
	PasswordRequiredCharacters []string
	// BcryptCost is the bcrypt work factor for new hashes. Default 10.
	BcryptCost int

	// EmailOTPExpiry bounds e-mail codes and links. Default 1h, as on Supabase.
	EmailOTPExpiry time.Duration
	// SMSOTPExpiry bounds SMS codes. Default 60s.
	SMSOTPExpiry time.Duration
	// OTPLength is the number of digits of one-time codes (6 to 10). Default 6.
	OTPLength int
	// OTPMaxAttempts is how many wrong codes a pending code survives before it is voided.
	// Default 5.
	OTPMaxAttempts int
	// MaxFrequency is the shortest gap between two mails or SMS of the same kind to one
	// address. Default 60s; negative: no gap.
	MaxFrequency time.Duration
	// FlowStateExpiry bounds a PKCE auth code. Default 5m.
	FlowStateExpiry time.Duration

	// LockoutAttempts is how many wrong passwords in a row from one client address lock the
	// account for that address. Default 5; negative: no lockout.
	LockoutAttempts int
	// LockoutAccountAttempts is how many wrong passwords from all addresses together lock the
	// account for every address it has not signed in from before. Default 20; negative: off.
	LockoutAccountAttempts int
	// LockoutDuration is the first lock's length; each further lock doubles it. Default 1m.
	LockoutDuration time.Duration
	// LockoutMaxDuration caps a lock's length. Default 1h.
	LockoutMaxDuration time.Duration
	// DetectorAccounts is how many distinct accounts failing to sign in from one IP within
	// DetectorWindow raise a suspicious_activity event. Default 10; negative: off.
	DetectorAccounts int
	// DetectorWindow is the detector's window. Default 10m.
	DetectorWindow time.Duration

	// RateLimits are the per-IP and per-address request limits.
	RateLimits RateLimits

	// MFAPhone allows phone (SMS) factors. Default false, as GoTrue's
	// MFA_PHONE_ENROLL_ENABLED: enrolling one is then 422 mfa_phone_enroll_not_enabled.
	MFAPhone bool

	// SMSTemplate is the text of OTP messages; {{ .Code }} is the code. Default
	// "Your code is {{ .Code }}".
	SMSTemplate string
	// SMSProvider names the SMS provider in GET /settings ("twilio"; "" for the log sender).
	SMSProvider string

	// DevInbox keeps a copy of every message sent in auth.dev_inbox, readable with the
	// service-role key at GET /auth/v1/dev/inbox. For development only.
	DevInbox bool
	// DevInboxSize is how many messages the inbox keeps. Default 200.
	DevInboxSize int

	// Version is reported by GET /auth/v1/health. Default "dev".
	Version string

	// External are the OAuth / OpenID Connect providers by name (oauth_config.go): github,
	// gitlab, discord, google, azure and apple have their specifics; any other name is a
	// generic OpenID Connect provider.
	External map[string]ExternalProvider
	// ManualLinking serves GET /user/identities/authorize and DELETE /user/identities/{id}
	// (GoTrue's SECURITY_MANUAL_LINKING_ENABLED). Default false: 404 manual_linking_disabled.
	ManualLinking bool
}

// RateLimits configures the request limits. Each applies per client IP and, where the request
// names one, per e-mail address or phone number. Zero values mean GoTrue's defaults; a
// negative value turns that limit off.
type RateLimits struct {
	// OTP limits /signup, /otp, /recover, /resend and PUT /user, per 5 minutes. Default 30.
	OTP int
	// Verify limits /verify, per 5 minutes. Default 30.
	Verify int
	// Token limits /token, per 5 minutes (bursts of up to 30). Default 150.
	Token int
	// AnonymousUsers limits anonymous sign-ups per IP, per hour. Default 30.
	AnonymousUsers int
	// EmailSent limits e-mails sent by the whole node, per hour. Default 30.
	EmailSent int
	// SMSSent limits SMS sent by the whole node, per hour. Default 30.
	SMSSent int
	// MFA limits MFA challenges and verifications (TOTP, phone and backup codes), per minute
	// (GoTrue's MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY). Default 15.
	MFA int
}

func (c Config) withDefaults() Config {
	setDefault(&c.SiteURL, DefaultSiteURL)
	setDefault(&c.ExternalURL, "http://localhost:8080")
	setDefault(&c.Issuer, DefaultIssuer)
	setDefault(&c.SMSTemplate, DefaultSMSTemplate)
	setDefault(&c.Version, "dev")
	setDefault(&c.JWTExpiry, DefaultJWTExpiry)
	setDefault(&c.RefreshTokenReuseInterval, DefaultRefreshTokenReuseInterval)
	setDefault(&c.PasswordMinLength, DefaultPasswordMinLength)
	setDefault(&c.BcryptCost, DefaultBcryptCost)
	setDefault(&c.EmailOTPExpiry, DefaultEmailOTPExpiry)
	setDefault(&c.SMSOTPExpiry, DefaultSMSOTPExpiry)
	setDefault(&c.OTPLength, DefaultOTPLength)
	setDefault(&c.OTPMaxAttempts, DefaultOTPMaxAttempts)
	setDefault(&c.MaxFrequency, DefaultMaxFrequency)
	setDefault(&c.FlowStateExpiry, DefaultFlowStateExpiry)
	setDefault(&c.LockoutAttempts, DefaultLockoutAttempts)
	setDefault(&c.LockoutAccountAttempts, DefaultLockoutAccountAttempts)
	setDefault(&c.LockoutDuration, DefaultLockoutDuration)
	setDefault(&c.LockoutMaxDuration, DefaultLockoutMaxDuration)
	setDefault(&c.DetectorAccounts, DefaultDetectorAccounts)
	setDefault(&c.DetectorWindow, DefaultDetectorWindow)
	setDefault(&c.DevInboxSize, DefaultDevInboxSize)
	setDefault(&c.RateLimits.OTP, 30)
	setDefault(&c.RateLimits.Verify, 30)
	setDefault(&c.RateLimits.Token, 150)
	setDefault(&c.RateLimits.AnonymousUsers, 30)
	setDefault(&c.RateLimits.EmailSent, 30)
	setDefault(&c.RateLimits.SMSSent, 30)
	setDefault(&c.RateLimits.MFA, DefaultMFARateLimit)
	return c
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// validate checks a Config after defaults were applied.
func (c Config) validate() error {
	var errs []error
	for name, raw := range map[string]string{"SiteURL": c.SiteURL, "ExternalURL": c.ExternalURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL, got %q", name, raw))
		}
	}
	for _, pattern := range c.URIAllowList {
		if pattern == "" {
			errs = append(errs, errors.New("URIAllowList must not contain an empty entry"))
		}
	}
	for _, class := range c.PasswordRequiredCharacters {
		if _, ok := characterClasses[class]; !ok {
			errs = append(errs, fmt.Errorf("PasswordRequiredCharacters: unknown class %q (known: lower, upper, digits, symbols)", class))
		}
	}
	if c.PasswordMinLength > maxPasswordBytes {
		errs = append(errs, fmt.Errorf("PasswordMinLength must be at most %d (bcrypt's limit), got %d", maxPasswordBytes, c.PasswordMinLength))
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		errs = append(errs, fmt.Errorf("BcryptCost must be between 4 and 31, got %d", c.BcryptCost))
	}
	if c.OTPLength < 6 || c.OTPLength > 10 {
		errs = append(errs, fmt.Errorf("OTPLength must be between 6 and 10, got %d", c.OTPLength))
	}
	if c.JWTExpiry < 0 || c.EmailOTPExpiry < 0 || c.SMSOTPExpiry < 0 || c.FlowStateExpiry < 0 ||
		c.LockoutDuration < 0 || c.LockoutMaxDuration < 0 || c.DetectorWindow < 0 {
		errs = append(errs, errors.New("durations other than RefreshTokenReuseInterval and MaxFrequency must not be negative"))
	}
	if c.OTPMaxAttempts < 0 || c.DevInboxSize < 0 {
		errs = append(errs, errors.New("OTPMaxAttempts and DevInboxSize must not be negative"))
	}
	errs = append(errs, validateExternal(c.External)...)
	return errors.Join(errs...)
}
