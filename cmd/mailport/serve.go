package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mailport/internal/config"
	"mailport/internal/directory"
	"mailport/internal/domainname"
	"mailport/internal/server"
)

func cmdInit(c *cli, args []string) error {
	fs, data := c.newFlags("init")
	hostname := fs.String("hostname", "", "the server's host name (required)")
	portsBase := fs.Int("ports-base", 0, "move every listener to N + its standard port")
	listen := fs.String("listen", "", "IP address to listen on (default all interfaces)")
	pwFile := fs.String("admin-password-file", "", "file holding the admin password (default: generate and print one)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *hostname == "" {
		return usagef("--hostname is required")
	}
	h, err := domainname.Normalize(*hostname)
	if err != nil {
		return fmt.Errorf("--hostname: %w", err)
	}
	cfg := config.Default(h)
	cfg.PortsBase = *portsBase
	cfg.ListenAddress = *listen
	pw, printed := "", false
	if *pwFile != "" {
		if pw, err = readPassword(nil, *pwFile); err != nil {
			return err
		}
	} else {
		pw, printed = randomPassword(), true
	}
	if err := server.Init(c.ctx, *data, cfg, pw); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "initialized %s for %s\n", *data, h)
	if printed {
		fmt.Fprintf(c.stdout, "MasterAdmin login: admin  password: %s  (shown once; change with 'mailport user passwd admin')\n", pw)
	}
	return nil
}

// randomPassword returns 16 characters from an unambiguous alphabet.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func cmdServe(c *cli, args []string) error {
	fs, data := c.newFlags("serve")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cfg, err := config.Load(*data)
	if err != nil {
		return err
	}
	return c.serve(cfg, nil)
}

// serve runs the server until the context (SIGINT/SIGTERM) ends, then
// shuts down gracefully: stop accepting, finish in-flight deliveries,
// close the database. banner, if set, is printed once listening.
func (c *cli) serve(cfg config.Config, banner func(s *server.Server)) error {
	log := newLogger(c, cfg.Log)
	// SIGHUP re-reads mailport.toml. Asked for before the listeners open,
	// so a SIGHUP sent once mailport is up never falls back to the
	// default action (terminating).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, err := server.Start(c.ctx, cfg, log)
	if err != nil {
		return err
	}
	for _, a := range s.Addrs() {
		log.Info("listening", "listener", a[0], "addr", a[1])
	}
	if banner != nil {
		banner(s)
	}
	for running := true; running; {
		select {
		case <-c.ctx.Done():
			running = false
		case <-hup:
			restart, err := s.Reload()
			if err != nil {
				log.Error("SIGHUP: mailport.toml not applied; the running settings stay", "err", err)
				continue
			}
			log.Info("SIGHUP: mailport.toml reloaded", "restart_required", restart)
		}
	}
	wait := time.Duration(cfg.Limits.ShutdownWaitSecs) * time.Second
	log.Info("shutting down", "wait", wait)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(c *cli, lc config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// Demo data: one domain, one mailbox, the admin.
const (
	demoDomain   = "example.test"
	demoUser     = "demo@example.test"
	demoHostname = "mail.example.test"
	demoCredFile = "demo-credentials.txt"
)

func cmdDemo(c *cli, args []string) error {
	fs, dir := c.newFlagsIn("demo", "mailport-demo")
	portsBase := fs.Int("ports-base", 10000, "ports base of the demo's listeners")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if _, err := os.Stat(filepath.Join(*dir, config.FileName)); errors.Is(err, os.ErrNotExist) {
		if err := c.createDemo(*dir, *portsBase); err != nil {
			return fmt.Errorf("create demo in %s: %w", *dir, err)
		}
	}
	cfg, err := config.Load(*dir)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "ports-base" {
			cfg.PortsBase = *portsBase
		}
	})
	creds, err := os.ReadFile(filepath.Join(*dir, demoCredFile))
	if err != nil {
		return fmt.Errorf("read demo credentials: %w", err)
	}
	return c.serve(cfg, func(s *server.Server) {
		fmt.Fprintf(c.stdout, "\nmailport demo is running (data in %s). Press Ctrl-C to stop.\n\n", cfg.Dir)
		for _, a := range s.Addrs() {
			fmt.Fprintf(c.stdout, "  %-12s %s\n", a[0], a[1])
		}
		fmt.Fprintf(c.stdout, "\n%s\n", strings.TrimSpace(string(creds)))
		fmt.Fprintf(c.stdout, "\nPortal and API: http://%s/ (API at /api/v1, OpenAPI document at /api/v1/openapi.json)\n", s.Addr("http"))
		fmt.Fprintf(c.stdout, "Try: swaks --server %s --to %s --from someone@elsewhere.test\n",
			s.Addr("smtp"), demoUser)
	})
}

func (c *cli) createDemo(dir string, portsBase int) error {
	cfg := config.Default(demoHostname)
	cfg.PortsBase = portsBase
	cfg.ListenAddress = "127.0.0.1"
	adminPW, userPW := randomPassword(), randomPassword()
	if err := server.Init(c.ctx, dir, cfg, adminPW); err != nil {
		return err
	}
	loaded, err := config.Load(dir)
	if err != nil {
		return err
	}
	core, err := server.OpenCore(c.ctx, loaded, nil)
	if err != nil {
		return err
	}
	defer core.Close()
	if _, err := core.Directory.AddDomain(c.ctx, demoDomain); err != nil {
		return err
	}
	if _, err := core.Directory.AddUser(c.ctx, directory.NewUser{Address: demoUser, Password: userPW, DisplayName: "Demo User"}); err != nil {
		return err
	}
	creds := fmt.Sprintf("MasterAdmin: login admin, password %s\nMailbox:     login %s, password %s\n", adminPW, demoUser, userPW)
	return os.WriteFile(filepath.Join(dir, demoCredFile), []byte(creds), 0o600)
}
