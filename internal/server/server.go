// Package server assembles a running mailport from its configuration: it
// opens the store, blob files and change bus, builds the protocol servers
// and binds their listeners. `mailport serve`, `mailport demo` and the
// in-process integration tests all start mailport through Start.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"mailport/internal/api"
	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/certs"
	"mailport/internal/config"
	"mailport/internal/delivery"
	"mailport/internal/directory"
	"mailport/internal/dns"
	"mailport/internal/imapd"
	"mailport/internal/metrics"
	"mailport/internal/mtasts"
	"mailport/internal/notify"
	"mailport/internal/pop3d"
	"mailport/internal/queue"
	"mailport/internal/smtpd"
	"mailport/internal/srs"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// Core is the storage side of mailport, shared by the servers and the CLI.
type Core struct {
	Config    config.Config
	Store     store.Store
	Blobs     *blob.Store
	Directory *directory.Service
	Logger    *slog.Logger
}

// OpenCore opens the database and blob store of cfg.
func OpenCore(ctx context.Context, cfg config.Config, log *slog.Logger) (*Core, error) {
	if log == nil {
		log = slog.Default()
	}
	st, err := sqlite.Open(ctx, cfg.Path(cfg.Database.DSN))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	blobs, err := blob.Open(filepath.Join(cfg.Dir, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	dir := directory.New(st, blobs, directory.Options{PlusSeparator: cfg.Directory.PlusSeparator, Logger: log})
	return &Core{Config: cfg, Store: st, Blobs: blobs, Directory: dir, Logger: log}, nil
}

// Close closes the database.
func (c *Core) Close() error { return c.Store.Close() }

// Server is a running mailport.
type Server struct {
	*Core
	Bus     *notify.Bus
	Metrics *metrics.Metrics

	committer *delivery.Committer
	queue     *queue.Queue
	queueStop context.CancelFunc
	queueDone chan struct{}
	policies  *mtasts.Cache
	smtp      *smtpd.Server
	sub       *smtpd.Server
	pop3      *pop3d.Server
	imap      *imapd.Server
	http      *http.Server // plain HTTP: loopback clients, ACME, MTA-STS, monitoring
	https     *http.Server
	sweepStop context.CancelFunc
	sweepDone chan struct{}

	// live is the configuration in effect: Config as started, with
	// what Apply changed since.
	liveMu sync.Mutex
	live   config.Config
	// api holds the saved and running settings GET /settings reports;
	// Reload goes through it so both stay true.
	api *api.API

	mu    sync.Mutex
	addrs map[string]string
	wg    sync.WaitGroup
}

// dnsCacheEntries bounds the DNS cache: answers are small (a DKIM key
// record, the largest, is under 1 KB), so this is a few megabytes at
// most, and room for the domains of a busy day's mail.
const dnsCacheEntries = 10000

// Option changes how Start builds the server (for tests).
type Option func(*options)

type options struct {
	resolver     dns.Resolver
	mtastsClient *http.Client
	queueBackoff func(attempt int) time.Duration
}

// WithResolver makes the server ask r instead of the resolvers of the
// [dns] section (in-process tests use a dns.Mock).
func WithResolver(r dns.Resolver) Option { return func(o *options) { o.resolver = r } }

// WithMTASTSClient makes the queue fetch MTA-STS policies with c instead
// of a client that resolves names with the server's resolver and trusts
// the system's roots (tests point it at a local HTTPS server). c must not
// follow redirects (RFC 8461 section 3.3).
func WithMTASTSClient(c *http.Client) Option { return func(o *options) { o.mtastsClient = c } }

// WithQueueBackoff replaces the queue's wait between delivery rounds
// (queue.DefaultBackoff), so tests see retries within seconds.
func WithQueueBackoff(f func(attempt int) time.Duration) Option {
	return func(o *options) { o.queueBackoff = f }
}

// Start opens everything and binds every listener the configuration
// enables. Listen errors are returned at once (a port in use is reported
// here, not later in a log line).
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	core, err := OpenCore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	s := &Server{Core: core, Bus: notify.NewBus(), Metrics: metrics.New(), addrs: map[string]string{}}
	if err := s.start(o); err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) start(o options) error {
	cfg := s.Config
	s.live = cfg
	tlsConfig, err := certs.Load(cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile))
	if err != nil {
		return err
	}
	lim := cfg.Limits
	authn := &auth.Authenticator{Store: s.Store, Limiter: auth.NewLimiter(), Logger: s.Logger}
	s.committer = delivery.NewCommitter(s.Store, s.Blobs, s.Bus, s.Logger)
	bufferDir := filepath.Join(cfg.Dir, "tmp")
	if err := os.MkdirAll(bufferDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", bufferDir, err)
	}
	dlCfg := delivery.Config{
		Hostname:        cfg.Hostname,
		Store:           s.Store,
		Blobs:           s.Blobs,
		Committer:       s.committer,
		MaxMessageBytes: lim.MaxMessageBytes,
		BufferDir:       bufferDir,
		Logger:          s.Logger,
		Metrics:         s.Metrics,
	}
	deliverer := delivery.NewDeliverer(dlCfg)
	uncached := o.resolver
	if uncached == nil {
		uncached = dns.NewResolver(cfg.DNS.Servers)
	}
	// Mail asks through one cache (inbound SPF, DKIM and DMARC, the
	// queue's MX and address lookups, MTA-STS), so a burst of mail from
	// one domain costs its lookups once per TTL. The portal's live DNS
	// check asks live: an admin who just published a record must see it.
	resolver := dns.NewCache(uncached, dnsCacheEntries)
	// Inbound mail is authenticated (SPF, DKIM, DMARC) and submitted
	// mail signed before "spool", so both land in the one durable copy.
	if err := deliverer.InsertBefore("spool", delivery.AuthResults(resolver, cfg.Hostname)); err != nil {
		return err
	}
	if err := deliverer.InsertBefore("spool", delivery.DKIMSign(s.Directory.SigningKey)); err != nil {
		return err
	}
	srsKey, err := srs.LoadOrCreateKey(cfg.Dir)
	if err != nil {
		return err
	}
	rewriter, err := srs.New(srsKey, cfg.Hostname)
	if err != nil {
		return err
	}
	// Messages the queue delivers here (bounces to our own senders) pass
	// through a pipeline without the inbound checks: they were checked
	// when they entered.
	// Outbound delivery honours the MTA-STS policies of recipient
	// domains (RFC 8461), fetched and cached here.
	mtastsClient := o.mtastsClient
	if mtastsClient == nil {
		mtastsClient = mtasts.NewHTTPClient(resolver, nil)
	}
	policies := mtasts.NewCache(mtasts.CacheConfig{Resolver: resolver, Client: mtastsClient, Logger: s.Logger,
		Path: filepath.Join(cfg.Dir, mtasts.FileName)})
	s.policies = policies
	local := &localDelivery{dir: s.Directory, dl: delivery.NewDeliverer(dlCfg), host: cfg.Hostname}
	rt, err := queueRouting(cfg)
	if err != nil {
		return err
	}
	s.queue, err = queue.New(queue.Config{
		Smarthost:       rt.Smarthost,
		Dir:             cfg.Dir,
		Blobs:           s.Blobs,
		Resolver:        resolver,
		Hostname:        cfg.Hostname,
		SMTPPort:        rt.SMTPPort,
		SourceAddress:   rt.SourceAddress,
		Policy:          policies,
		Backoff:         o.queueBackoff,
		MaxMessageBytes: rt.MaxMessageBytes,
		DelayWarning:    rt.DelayWarning,
		IsLocal:         local.isLocal,
		LocalDeliver:    local.deliver,
		Logger:          s.Logger,
		Metrics:         queue.NewMetrics(s.Metrics.Registry),
	})
	if err != nil {
		return err
	}
	qctx, qstop := context.WithCancel(context.Background())
	s.queueStop, s.queueDone = qstop, make(chan struct{})
	go func() {
		defer close(s.queueDone)
		if err := s.queue.Run(qctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, queue.ErrClosed) {
			s.Logger.Error("outbound queue stopped", "err", err)
		}
	}()
	out := &outbound{q: s.queue, dir: s.Directory, srs: rewriter, log: s.Logger}
	smtpCfg := smtpd.Config{
		Hostname:  cfg.Hostname,
		TLS:       tlsConfig,
		Directory: s.Directory,
		Deliverer: deliverer,
		Auth:      authn,
		Metrics:   s.Metrics,
		Logger:    s.Logger,
		Outbound:  out,
		SRS:       rewriter,
	}
	s.smtp = smtpd.New(smtpCfg)
	s.smtp.SetLimits(smtpLimits(cfg, false))
	subCfg := smtpCfg
	subCfg.Submission = true
	s.sub = smtpd.New(subCfg)
	s.sub.SetLimits(smtpLimits(cfg, true))
	s.pop3 = pop3d.NewServer(pop3d.Config{
		Hostname: cfg.Hostname,
		TLS:      tlsConfig,
		Auth:     authn,
		Store:    s.Store,
		Blobs:    s.Blobs,
		Bus:      s.Bus,
		Logger:   s.Logger,
	})
	s.imap = imapd.New(imapd.Config{
		Hostname:       cfg.Hostname,
		TLS:            tlsConfig,
		Auth:           authn,
		Store:          s.Store,
		Blobs:          s.Blobs,
		Bus:            s.Bus,
		Committer:      s.committer,
		Logger:         s.Logger,
		Metrics:        s.Metrics,
		MaxLiteralSize: lim.MaxMessageBytes,
	})
	s.setConnLimits(cfg.Limits)
	if err := s.startHTTP(authn, uncached); err != nil {
		return err
	}

	// Each listener: name, serve function. ManageSieve comes with the
	// sieve issue; its name stays unbound until then.
	type listener struct {
		name  string
		serve func(net.Listener) error
	}
	listeners := []listener{
		{"smtp", s.smtp.Serve},
		{"submission", s.sub.Serve},
		{"submissions", s.sub.ServeTLS},
		{"imap", s.imap.Serve},
		{"imaps", s.imap.ServeTLS},
		{"pop3", s.pop3.Serve},
		{"pop3s", s.pop3.ServeTLS},
		{"http", s.http.Serve},
		{"https", func(ln net.Listener) error {
			return s.https.Serve(tls.NewListener(ln, tlsConfig))
		}},
	}
	for _, l := range listeners {
		addr := cfg.ListenAddr(l.name)
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s on %s: %w", l.name, addr, err)
		}
		s.addrs[l.name] = ln.Addr().String()
		s.wg.Add(1)
		go func(name string, serve func(net.Listener) error) {
			defer s.wg.Done()
			if err := serve(ln); err != nil && !isClosed(err) {
				s.Logger.Error("listener stopped", "listener", name, "err", err)
			}
		}(l.name, l.serve)
	}
	return nil
}

// isClosed reports whether a Serve error only says Shutdown ran.
func isClosed(err error) bool {
	for _, closed := range []error{net.ErrClosed, http.ErrServerClosed, pop3d.ErrServerClosed, imapd.ErrServerClosed} {
		if errors.Is(err, closed) {
			return true
		}
	}
	return false
}

// Queue returns the outbound queue (for `mailport queue` style control
// and tests).
func (s *Server) Queue() *queue.Queue { return s.queue }

// Addr returns the bound address of listener name ("" if not listening).
func (s *Server) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

// Addrs lists the bound listeners, sorted by name.
func (s *Server) Addrs() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]string
	for n, a := range s.addrs {
		out = append(out, [2]string{n, a})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Shutdown stops accepting, lets in-flight deliveries finish (until ctx
// ends), then drains the committer and closes the database.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	var srvs []interface{ Shutdown(context.Context) error }
	if s.smtp != nil {
		srvs = append(srvs, s.smtp, s.sub, s.imap, s.pop3, s.http, s.https)
	}
	if s.sweepStop != nil {
		s.sweepStop()
		<-s.sweepDone
	}
	for _, srv := range srvs {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	// The queue stops after the SMTP servers, which may still have been
	// queueing; Close waits for deliveries in progress to record results.
	if s.queue != nil {
		if err := s.queue.Close(); err != nil {
			errs = append(errs, err)
		}
		s.queueStop()
		<-s.queueDone
	}
	if s.policies != nil {
		s.policies.Close()
	}
	if s.committer != nil {
		s.committer.Close()
	}
	if err := s.Core.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Init creates a data directory: mailport.toml, a self-signed certificate,
// the database and the MasterAdmin login "admin". It refuses to overwrite
// an existing configuration.
func Init(ctx context.Context, dir string, cfg config.Config, adminPassword string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, config.FileName)); err == nil {
		return fmt.Errorf("%s already holds a %s; refusing to overwrite", dir, config.FileName)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cfg.Dir = abs
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := certs.GenerateSelfSigned(cfg.Hostname, cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile)); err != nil {
		return err
	}
	core, err := OpenCore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer core.Close()
	if err := core.Directory.EnsureAdmin(ctx, "admin", adminPassword); err != nil {
		return err
	}
	// The config is written last: its presence means init completed.
	return cfg.Save(abs)
}
