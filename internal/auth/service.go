package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/httpx"
	"github.com/goforward/goforward/internal/mailer"
	"github.com/goforward/goforward/internal/ratelimit"
	"github.com/goforward/goforward/internal/security"
	"github.com/goforward/goforward/internal/sms"
)

// Prefix is the path every auth route lives under, as in Supabase.
const Prefix = "/auth/v1"

// OpenPaths are the routes reached without an apikey: links opened from e-mails and
// browsers, as Supabase's Kong configuration leaves them open, and the public keys, which
// whoever verifies a token needs.
var OpenPaths = []string{Prefix + "/verify", Prefix + "/callback", Prefix + "/authorize", Prefix + "/.well-known/jwks.json"}

// MailSender delivers e-mail; *mailer.SMTP and *mailer.LogSender implement it.
type MailSender interface {
	Send(ctx context.Context, m mailer.Message) error
}

// SMSSender delivers text messages and returns the provider's message id; *sms.Twilio and
// *sms.LogSender implement it.
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) (string, error)
}

// Deps are the service's collaborators.
type Deps struct {
	// Pool is the owner pool: the auth schema is the service's own, as GoTrue's is, so its SQL
	// never runs as an API role. Required.
	Pool *pgxpool.Pool
	// Keys signs access tokens, and a key derived from its secret encrypts TOTP secrets at
	// rest. Required.
	Keys *security.Keys
	// Mail sends e-mail. Nil: a mailer.LogSender, which only logs.
	Mail MailSender
	// Templates render e-mail. Nil: mailer.DefaultTemplates().
	Templates *mailer.Templates
	// SMS sends text messages. Nil: an sms.LogSender, which only logs.
	SMS SMSSender
	// RateLimits makes the service's rate limiters; with Redis they are shared by every node.
	// The caller runs it. Nil: in-process limiters, which the service's Run sweeps.
	RateLimits *ratelimit.Store
	// Providers are the custom providers served by grant_type=custom.
	Providers []CustomProvider
	// Hooks are the embedding program's auth hooks (hooks.go); the zero value sets none.
	Hooks Hooks
	// Logger receives the service's logs. Nil: slog.Default().
	Logger *slog.Logger
	// Clock tells the time. Nil: time.Now.
	Clock func() time.Time
}

// Service is the GoTrue-compatible auth API.
type Service struct {
	cfg       Config
	pool      *pgxpool.Pool
	keys      *security.Keys
	mail      MailSender
	templates *mailer.Templates
	sms       SMSSender
	smsText   *texttemplate.Template
	providers map[string]CustomProvider
	hooks     Hooks
	logger    *slog.Logger
	clock     func() time.Time
	passwords *passwords
	limits    *limiters
	allowList []*regexp.Regexp
	secrets   *secretBox
	oauth     map[string]*oauthProvider
}

// New checks cfg, applies its defaults and returns the service. It does no I/O.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if deps.Pool == nil || deps.Keys == nil {
		return nil, errors.New("auth: Deps.Pool and Deps.Keys are required")
	}
	s := &Service{
		cfg:       cfg,
		pool:      deps.Pool,
		keys:      deps.Keys,
		mail:      deps.Mail,
		templates: deps.Templates,
		sms:       deps.SMS,
		logger:    deps.Logger,
		clock:     deps.Clock,
		hooks:     deps.Hooks,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.mail == nil {
		s.mail = mailer.NewLogSender(s.logger)
	}
	if s.templates == nil {
		s.templates = mailer.DefaultTemplates()
	}
	if s.sms == nil {
		s.sms = sms.NewLogSender(s.logger)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	var err error
	if s.smsText, err = texttemplate.New("sms").Parse(cfg.SMSTemplate); err != nil {
		return nil, fmt.Errorf("auth: SMSTemplate: %w", err)
	}
	if s.providers, err = registerProviders(deps.Providers); err != nil {
		return nil, err
	}
	if s.allowList, err = compileAllowList(cfg.URIAllowList); err != nil {
		return nil, err
	}
	if s.passwords, err = newPasswords(cfg); err != nil {
		return nil, err
	}
	if s.secrets, err = newSecretBox(deps.Keys); err != nil {
		return nil, err
	}
	if s.oauth, err = newOAuthProviders(cfg); err != nil {
		return nil, err
	}
	s.limits = newLimiters(cfg.RateLimits, deps.RateLimits)
	return s, nil
}

// now is the service's clock in UTC, truncated to PostgreSQL's precision so that times read
// back compare equal.
func (s *Service) now() time.Time {
	return s.clock().UTC().Truncate(time.Microsecond)
}

// Mount registers every route on mux.
func (s *Service) Mount(mux *http.ServeMux) {
	routes := map[string]httpx.HandlerFunc{
		"GET /health":                s.health,
		"GET /settings":              s.settings,
		"GET /.well-known/jwks.json": s.jwks,
		"POST /signup":               s.signup,
		"POST /token":                s.token,
		"POST /otp":                  s.otp,
		"POST /magiclink":            s.magicLink,
		"GET /verify":                s.verifyLink,
		"POST /verify":               s.verifyCode,
		"POST /resend":               s.resend,
		"POST /recover":              s.recover,
		"GET /user":                  s.getUser,
		"PUT /user":                  s.updateUser,
		"GET /reauthenticate":        s.reauthenticate,
		"POST /logout":               s.logout,
	}
	maps.Copy(routes, s.mfaRoutes())
	maps.Copy(routes, s.adminRoutes())
	maps.Copy(routes, s.oauthRoutes())
	if s.cfg.DevInbox {
		routes["GET /dev/inbox"] = s.devInbox
	}
	for pattern, h := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+Prefix+path, httpx.Handle(renderError, h))
	}
}

// Run forgets idle rate-limit keys and removes expired flow states, one-time tokens and
// lockout records until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, l := range s.limits.all() {
		g.Go(func() error { return l.Run(ctx) })
	}
	g.Go(func() error { return s.cleanupLoop(ctx) })
	return g.Wait()
}
