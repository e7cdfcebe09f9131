package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"mailport/internal/config"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/server"
)

// maxRecipientsFile bounds the --recipients file of a relay domain.
const maxRecipientsFile = 16 << 20

// domainSDR is `mailport domain sdr DOMAIN --host H [--port P] | --off`;
// without either it shows the current setting.
func domainSDR() verb {
	var host, port *string
	var off *bool
	return verb{name: "sdr", usage: "DOMAIN --host HOST [--port PORT] | --off", min: 1, max: 1,
		flags: func(fs flagSet) {
			host = fs.String("host", "", "relay mail for unknown addresses of the domain to this host")
			port = fs.String("port", "25", "port of --host")
			off = fs.Bool("off", false, "turn split domain routing off")
		},
		run: func(c *cli, core *server.Core, a []string) error {
			switch {
			case *off && *host != "":
				return usagef("--host and --off exclude each other")
			case *off:
				if err := asCLI(core).ClearSDR(c.ctx, a[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "split domain routing of %s off\n", a[0])
				return nil
			case *host != "":
				p, err := parsePort(*port)
				if err != nil {
					return usagef("--port: %v", err)
				}
				if err := asCLI(core).SetSDR(c.ctx, a[0], *host, p); err != nil {
					return err
				}
			}
			d, err := asCLI(core).GetDomain(c.ctx, a[0])
			if err != nil {
				return err
			}
			if d.SDRHost == "" {
				fmt.Fprintf(c.stdout, "split domain routing of %s off\n", d.Name)
			} else {
				fmt.Fprintf(c.stdout, "%s: unknown addresses relayed to %s\n", d.Name, net.JoinHostPort(d.SDRHost, strconv.Itoa(d.SDRPort)))
			}
			return nil
		}}
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad port %q (1 to 65535)", s)
	}
	return p, nil
}

// parseHostPort reads HOST:PORT, [IPv6]:PORT, or HOST alone (port 25).
func parseHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && strings.Contains(ae.Err, "missing port") && s != "" {
			return s, 25, nil
		}
		return "", 0, fmt.Errorf("bad destination %q: %v", s, err)
	}
	p, err := parsePort(port)
	if err != nil {
		return "", 0, err
	}
	return host, p, nil
}

// readRecipients reads one address per line; blank lines and lines
// starting with # are skipped ('#' is allowed inside a local part, so
// only whole-line comments exist).
func readRecipients(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, maxRecipientsFile+1))
	read := 0
	for sc.Scan() {
		read += len(sc.Bytes()) + 1
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("recipients %s: %w", file, err)
	}
	if read > maxRecipientsFile {
		return nil, fmt.Errorf("recipients %s: larger than %d bytes", file, maxRecipientsFile)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("recipients %s: no addresses (leave --recipients out to accept any address)", file)
	}
	return out, nil
}

func cmdRelayDomain(c *cli, args []string) error {
	var to, rcptFile *string
	return c.dispatch("relay-domain", []verb{
		{name: "add", usage: "DOMAIN --to HOST:PORT [--recipients FILE]", min: 1, max: 1,
			flags: func(fs flagSet) {
				to = fs.String("to", "", "destination HOST:PORT the domain's mail is relayed to")
				rcptFile = fs.String("recipients", "", "file of accepted addresses, one per line (default: any address)")
			},
			run: func(c *cli, core *server.Core, a []string) error {
				if *to == "" {
					return usagef("--to HOST:PORT is required")
				}
				host, port, err := parseHostPort(*to)
				if err != nil {
					return usagef("--to: %v", err)
				}
				var rcpts []string
				if *rcptFile != "" {
					if rcpts, err = readRecipients(*rcptFile); err != nil {
						return err
					}
				}
				rd, err := asCLI(core).AddRelayDomain(c.ctx, a[0], host, port, rcpts)
				if err != nil {
					return err
				}
				who := "any address"
				if len(rd.Recipients) > 0 {
					who = fmt.Sprintf("%d recipients", len(rd.Recipients))
				}
				fmt.Fprintf(c.stdout, "relay domain %s -> %s (%s)\n", rd.Name, net.JoinHostPort(rd.Host, strconv.Itoa(rd.Port)), who)
				return nil
			}},
		{name: "list", min: 0, max: 0, run: func(c *cli, core *server.Core, a []string) error {
			rds, err := asCLI(core).ListRelayDomains(c.ctx)
			if err != nil {
				return err
			}
			rows := [][]string{{"DOMAIN", "DESTINATION", "RECIPIENTS"}}
			for _, rd := range rds {
				who := "any"
				if n := len(rd.Recipients); n > 0 {
					who = strconv.Itoa(n)
				}
				rows = append(rows, []string{rd.Name, net.JoinHostPort(rd.Host, strconv.Itoa(rd.Port)), who})
			}
			c.table(rows)
			return nil
		}},
		{name: "remove", usage: "DOMAIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveRelayDomain(c.ctx, a[0])
		}},
	}, args)
}

func cmdDKIM(c *cli, args []string) error {
	var alg, sel *string
	return c.dispatch("dkim", []verb{
		{name: "generate", usage: "DOMAIN [--algorithm rsa|ed25519] [--selector S]", min: 1, max: 1,
			flags: func(fs flagSet) {
				alg = fs.String("algorithm", "rsa", "key type: rsa (2048 bits) or ed25519")
				sel = fs.String("selector", "", "selector (default: mp + today's date)")
			},
			run: func(c *cli, core *server.Core, a []string) error {
				k, err := asCLI(core).GenerateDKIM(c.ctx, a[0], *alg, *sel)
				if err != nil {
					return err
				}
				recs, err := asCLI(core).DKIMRecords(c.ctx, k.Domain)
				if err != nil {
					return err
				}
				for _, r := range recs {
					if r.Name == k.Selector+"._domainkey."+k.Domain {
						fmt.Fprintln(c.stdout, r)
					}
				}
				if len(recs) > 1 {
					fmt.Fprintf(c.stdout, "# %s signs from now on; keep the older keys published until mail signed with them has arrived (a few days), then 'mailport dkim remove %s SELECTOR'\n",
						k.Selector, k.Domain)
				}
				return nil
			}},
		{name: "show", usage: "DOMAIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			recs, err := asCLI(core).DKIMRecords(c.ctx, a[0])
			if err != nil {
				return err
			}
			for _, r := range recs {
				fmt.Fprintln(c.stdout, r)
			}
			return nil
		}},
		{name: "list", usage: "DOMAIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			keys, err := asCLI(core).ListDKIM(c.ctx, a[0])
			if err != nil {
				return err
			}
			rows := [][]string{{"SELECTOR", "ALGORITHM", "SIGNING", "CREATED"}}
			for _, k := range keys {
				rows = append(rows, []string{k.Selector, k.Algorithm, strconv.FormatBool(k.Active), k.CreatedAt.Format(time.RFC3339)})
			}
			c.table(rows)
			return nil
		}},
		{name: "activate", usage: "DOMAIN SELECTOR", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).ActivateDKIM(c.ctx, a[0], a[1])
		}},
		{name: "remove", usage: "DOMAIN SELECTOR", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveDKIM(c.ctx, a[0], a[1])
		}},
	}, args)
}

// cmdDNS is `mailport dns DOMAIN [--check]`.
func cmdDNS(c *cli, args []string) error {
	fs, data := c.newFlags("dns")
	check := fs.Bool("check", false, "look each record up and report OK, MISSING, WRONG or FAILED")
	hard := fs.Bool("spf-hardfail", false, "SPF record ends in -all instead of ~all")
	dmarc := fs.String("dmarc-policy", "quarantine", "DMARC policy: none, quarantine or reject")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: mailport dns DOMAIN [--check] [--spf-hardfail] [--dmarc-policy P]")
	}
	switch *dmarc {
	case "none", "quarantine", "reject":
	default:
		return usagef("--dmarc-policy: %q is not none, quarantine or reject", *dmarc)
	}
	core, err := c.openCore(*data)
	if err != nil {
		return err
	}
	defer core.Close()
	srv := serverRecords(core.Config)
	recs, err := asCLI(core).DNSRecords(c.ctx, pos[0], srv, dnsrecords.Options{SPFHardFail: *hard, DMARCPolicy: *dmarc})
	if err != nil {
		return err
	}
	domain := recs[0].Name // the MX record is at the domain itself
	failed := false
	if *check {
		failed = !checkDNS(c.ctx, c.stdout, dns.NewResolver(core.Config.DNS.Servers), srv.Hostname, recs)
	} else {
		for _, r := range recs {
			fmt.Fprintln(c.stdout, r)
		}
	}
	fmt.Fprintf(c.stdout, "# MTA-STS policy, to be served at %s:\n", dnsrecords.MTASTSPolicyURL(domain))
	for _, l := range strings.Split(strings.TrimSpace(dnsrecords.MTASTSPolicy(srv.Hostname, "")), "\r\n") {
		fmt.Fprintln(c.stdout, "#   "+l)
	}
	if failed {
		return errors.New("some records are not published correctly")
	}
	return nil
}

// serverRecords describes this server for the records: its hostname and
// the ports of the client listeners that are on.
func serverRecords(cfg config.Config) dnsrecords.Server {
	port := func(name string) int {
		addr := cfg.ListenAddr(name)
		if addr == "" {
			return 0
		}
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	return dnsrecords.Server{
		Hostname:        cfg.Hostname,
		SubmissionPort:  port("submission"),
		SubmissionsPort: port("submissions"),
		IMAPSPort:       port("imaps"),
		POP3SPort:       port("pop3s"),
	}
}

// checkDNS looks up recs with r, prints one line per record and reports
// whether all are published correctly.
func checkDNS(ctx context.Context, w io.Writer, r dns.Resolver, hostname string, recs []dnsrecords.Record) bool {
	res := dnsrecords.Check(ctx, r, hostname, recs)
	for _, x := range res {
		fmt.Fprintln(w, x)
	}
	return dnsrecords.AllOK(res)
}
