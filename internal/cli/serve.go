package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/goforward/goforward/internal/apikeys"
	"github.com/goforward/goforward/internal/auth"
	"github.com/goforward/goforward/internal/config"
	"github.com/goforward/goforward/internal/datadir"
	"github.com/goforward/goforward/internal/db"
	"github.com/goforward/goforward/internal/gateway"
	"github.com/goforward/goforward/internal/tablesecurity"
)

func newServeCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		host     string
		port     int
		services []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the server (and its own PostgreSQL unless DATABASE_URL is set)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			overrides := map[string]any{}
			if cmd.Flags().Changed("host") {
				overrides["server.host"] = host
			}
			if cmd.Flags().Changed("port") {
				overrides["server.port"] = port
			}
			if cmd.Flags().Changed("services") {
				overrides["services"] = services
			}
			cfg, err := loadConfig(cmd, g, overrides)
			if err != nil {
				return err
			}
			setDefaultGCPercent(os.LookupEnv)
			return serve(cmd.Context(), cfg, stdout, g.emb.logger(cfg.Log, stderr), g.emb)
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "interface to listen on (default 127.0.0.1)")
	cmd.Flags().IntVar(&port, "port", 0, "port to listen on (default 8080)")
	cmd.Flags().StringSliceVar(&services, "services", nil, "services to run, out of "+strings.Join(config.KnownServices(), ",")+" (default all)")
	return cmd
}

// serve is the composition root: it builds every part from the configuration, runs them until
// ctx ends, then drains HTTP before stopping PostgreSQL.
func serve(ctx context.Context, cfg config.Config, stdout io.Writer, logger *slog.Logger, emb *Embedding) error {
	if cfg.Environment == "production" {
		if problems := cfg.ProductionProblems(); len(problems) > 0 {
			return &exitError{code: 2, err: fmt.Errorf("refusing to start in production:\n  - %s", strings.Join(problems, "\n  - "))}
		}
	}
	dir, err := datadir.New(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := dir.Ensure(); err != nil {
		return err
	}
	state, err := dir.LoadOrCreateState()
	if err != nil {
		return err
	}
	keys, secretSource, err := nodeKeys(cfg, state)
	if err != nil {
		return fmt.Errorf("jwt secret from the %s: %w", secretSource, err)
	}

	database, err := openDatabase(ctx, cfg, dir, state, logger, emb.pool())
	if err != nil {
		return err
	}
	defer database.close(logger)
	replicas, err := openReplicas(ctx, cfg, database, state, logger)
	if err != nil {
		return err
	}
	defer replicas.Close()
	if err := emb.bootstrap(ctx, cfg, database, keys, logger); err != nil {
		return err
	}
	changes, err := newChangeFeed(ctx, database, emb, logger)
	if err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		db.NewPoolCollector(map[string]*pgxpool.Pool{"admin": database.admin, "request": database.request}),
	)
	limits, closeLimits, err := rateLimitStore(cfg, logger)
	if err != nil {
		return err
	}
	defer closeLimits()
	registry.MustRegister(limits.Collector())
	gwCfg, err := gatewayConfig(cfg)
	if err != nil {
		return err
	}
	if err := resealMFASecrets(ctx, database.admin, keys, logger); err != nil {
		return err
	}
	signingKeys, err := startSigningKeys(ctx, database.admin, keys, state, logger)
	if err != nil {
		return err
	}
	// Every node holds the live API keys in memory and learns of changes by NOTIFY; a first
	// load that fails stops the start, since every key would be refused.
	apiKeys := apikeys.NewVerifier(database.admin, apikeys.VerifierConfig{Issuer: cfg.JWT.Issuer}, logger.With("component", "apikeys"))
	if err := apiKeys.Load(ctx); err != nil {
		return err
	}
	deps := gateway.Deps{Keys: keys, APIKeys: apiKeys, Ready: database.ready, Metrics: registry, Logger: logger}
	if rl := cfg.Server.RateLimit; rl.RequestsPerSecond > 0 {
		deps.Limiter = limits.Limiter("gateway", rl.RequestsPerSecond, rl.Burst)
	}
	tables := tablesecurity.NewRegistry(database.admin, logger)
	tables.Limits = limits
	if len(cfg.REST.Schemas) > 0 {
		tables.DefaultSchema = cfg.REST.Schemas[0]
	}
	deps.Tables = tables
	sd := serviceDeps{
		cfg: cfg, dir: dir.Root(), keys: keys, admin: database.admin, runner: database.runner, logger: logger,
		limits: limits, tables: tables, apiKeys: apiKeys, signingKeys: signingKeys, emb: emb, replicas: replicas,
	}
	sd.sharedAuth = sync.OnceValues(func() (*auth.Service, error) { return newAuthService(sd) })
	monitor, err := newSecurity(cfg, dir.Root(), database.admin, limits, sd.authService, nil, logger)
	if err != nil {
		return err
	}
	if monitor.guard != nil {
		deps.Guard = monitor.guard
		sd.guard = monitor.guard
	}
	services, err := buildServices(sd)
	if err != nil {
		return err
	}
	mounted := make([]gateway.Service, len(services))
	names := make([]string, len(services))
	for i, s := range services {
		mounted[i] = s.Service
		names[i] = s.Name
	}
	gw, err := gateway.New(gwCfg, deps, mounted...)
	if err != nil {
		return err
	}
	srv, err := emb.serve(ctx, cfg, gw)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr(), err)
	}

	rt := datadir.Runtime{
		PID:            os.Getpid(),
		APIURL:         cfg.APIURL(),
		LocalURL:       localURL(cfg.Server.Host, ln.Addr()),
		DBURL:          database.dsn,
		ManagedCluster: database.managed != nil,
		Services:       names,
		StartedAt:      time.Now().UTC(),
		JWTSecretSet:   cfg.JWT.Secret != "",
	}
	rt.AnonKey, rt.ServiceRoleKey = legacyKeys(keys)
	if err := dir.WriteRuntime(rt); err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := dir.RemoveRuntime(rt.PID); err != nil {
			logger.Warn("remove runtime record", "error", err)
		}
	}()
	banner := bannerInfo{environment: cfg.Environment, secrets: cfg.IsDevelopment()}
	if database.ownerRequests {
		banner.warnings = append(banner.warnings, ownerRequestsWarning)
	}
	printBanner(stdout, rt, dir, banner)

	group, gctx := errgroup.WithContext(ctx)
	group.Go(func() error { return gw.ServeServer(gctx, srv, ln) })
	group.Go(func() error { return limits.Run(gctx) })
	if replicas != nil {
		group.Go(func() error { return replicas.Run(gctx) })
	}
	group.Go(func() error { return auditSealer(cfg, dir.Root(), database.admin, logger).Run(gctx) })
	group.Go(func() error { return tables.Run(gctx) })
	group.Go(func() error { return monitor.run(gctx) })
	group.Go(func() error { return apiKeys.Run(gctx) })
	group.Go(func() error { return signingKeys.Run(gctx) })
	group.Go(func() error { return changes.run(gctx) })
	if bg := emb.background(); bg != nil {
		group.Go(func() error { return bg(gctx) })
	}
	for _, s := range services {
		if s.run != nil {
			group.Go(func() error { return s.run(gctx) })
		}
	}
	if database.managed != nil {
		// A server that dies is restarted (crash recovery); meanwhile /ready and requests
		// answer 503. Only repeated failures stop goforward, with the log's path.
		group.Go(func() error {
			return database.managed.Supervise(gctx, db.SuperviseConfig{
				MaxFailures: cfg.Database.Restart.MaxFailures,
				Window:      cfg.Database.Restart.Window,
			})
		})
	}
	err = group.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	logger.Info("http server stopped")
	return errors.Join(err, emb.terminate())
}

// localURL is how a command on this host reaches the listener: its own address, with a
// listen-on-everything host replaced by loopback.
func localURL(host string, addr net.Addr) string {
	port := 0
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = tcp.Port
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// gatewayConfig maps the configuration onto the gateway's own settings.
func gatewayConfig(cfg config.Config) (gateway.Config, error) {
	s := cfg.Server
	proxies := make([]netip.Prefix, 0, len(s.TrustedProxies))
	for _, p := range s.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return gateway.Config{}, fmt.Errorf("server.trusted_proxies: %w", err)
		}
		proxies = append(proxies, prefix)
	}
	return gateway.Config{
		Development:       cfg.IsDevelopment(),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		ShutdownTimeout:   s.ShutdownTimeout,
		MaxBodyBytes:      s.MaxBodyBytes,
		Gzip:              s.Gzip,
		TrustedProxies:    proxies,
		CORS: gateway.CORSConfig{
			AllowedOrigins:   s.CORS.AllowedOrigins,
			AllowCredentials: s.CORS.AllowCredentials,
			MaxAge:           s.CORS.MaxAge,
		},
		RateLimitServiceRole: !s.RateLimit.ExemptServiceRole,
		ProtectMetrics:       !cfg.IsDevelopment(),
	}, nil
}

// newLogger builds the process logger from the log section of the configuration.
func newLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
