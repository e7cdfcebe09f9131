// Command mailport is the whole mail server in one binary: `init` creates a
// data directory, `serve` runs it, `demo` does both for a try-out, and the
// other subcommands administer domains, mailboxes and addresses through the
// same service functions the API uses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailport/internal/config"
	"mailport/internal/server"
)

// exitUsage is returned for bad command-line words, exitFail for errors.
const (
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli carries a command's streams so tests run commands in-process.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"init", "create a data directory: config, TLS certificate, database, admin login", cmdInit},
		{"serve", "run the mail server", cmdServe},
		{"demo", "create ./mailport-demo on first run and serve it on 127.0.0.1 (ports 10000+)", cmdDemo},
		{"domain", "add|list|remove hosted domains; sdr DOMAIN: split domain routing", cmdDomain},
		{"domain-alias", "add ALIAS DOMAIN | list | remove ALIAS", cmdDomainAlias},
		{"user", "add|list|remove|passwd mailboxes", cmdUser},
		{"alias", "add ADDRESS TARGET... | list | remove ADDRESS", cmdAlias},
		{"sender", "add|list|remove extra sender addresses of a mailbox", cmdSender},
		{"forward", "add|list|remove forwards of a mailbox", cmdForward},
		{"queue", "list | show ID | retry ID | remove ID: the outbound queue", cmdQueue},
		{"relay-domain", "add DOMAIN --to HOST:PORT [--recipients FILE] | list | remove DOMAIN", cmdRelayDomain},
		{"dkim", "generate DOMAIN [--algorithm rsa|ed25519] [--selector S] | show | list | activate | remove", cmdDKIM},
		{"dns", "DOMAIN [--check]: the DNS records the domain needs, and whether they are published", cmdDNS},
		{"admin", "add LOGIN --role domainadmin|masteradmin | list | limits LOGIN | domains LOGIN D,D | remove LOGIN", cmdAdmin},
		{"token", "create LOGIN [--name N] | list LOGIN | revoke LOGIN ID: API tokens", cmdToken},
		{"export", "--format csv|json [--kinds K1,K2] [--out FILE]: domains, mailboxes, addresses", cmdExport},
		{"import", "--format csv|json [--dry-run] FILE: create what an export holds, all or none", cmdImport},
	}
}

// usageError is a mistake in the command-line words (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		c.usage()
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, cmd := range commands {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(c, args[1:])
		if err == nil {
			return 0
		}
		fmt.Fprintf(stderr, "mailport %s: %v\n", cmd.name, err)
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(stderr, "mailport: unknown command %q (try 'mailport help')\n", args[0])
	return exitUsage
}

func (c *cli) usage() {
	fmt.Fprintln(c.stdout, "usage: mailport COMMAND [--data DIR] [ARGS]\n\ncommands:")
	for _, cmd := range commands {
		fmt.Fprintf(c.stdout, "  %-13s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(c.stdout, "\nEvery command takes --data DIR (default $MAILPORT_DATA or /var/lib/mailport).")
}

// defaultDataDir is where --data points when not given.
func defaultDataDir() string {
	if d := os.Getenv("MAILPORT_DATA"); d != "" {
		return d
	}
	return "/var/lib/mailport"
}

// newFlags returns a flag set with --data, printing errors to stderr.
func (c *cli) newFlags(name string) (*flag.FlagSet, *string) {
	return c.newFlagsIn(name, defaultDataDir())
}

func (c *cli) newFlagsIn(name, dataDir string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("mailport "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	data := fs.String("data", dataDir, "data directory")
	return fs, data
}

// parse parses flags anywhere among the arguments (`user add ADDR
// --password-stdin` as well as `user add --password-stdin ADDR`) and
// returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, nil
}

// openCore loads DIR/mailport.toml and opens the database for a command.
func (c *cli) openCore(dir string) (*server.Core, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return server.OpenCore(c.ctx, cfg, log)
}

// readPassword reads a password from stdin (first line) or a file.
func readPassword(r io.Reader, file string) (string, error) {
	var data []byte
	var err error
	if file != "" {
		data, err = os.ReadFile(file)
	} else {
		data, err = io.ReadAll(io.LimitReader(r, 4096))
	}
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw, _, _ := strings.Cut(string(data), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}
