package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/server"
)

// sub dispatches `mailport NOUN VERB ...` to the verb's function, which
// gets the opened core and the positional arguments.
type verb struct {
	name  string
	usage string
	min   int // positional arguments, at least
	max   int // and at most; -1 = no limit
	flags func(fs flagSet)
	run   func(c *cli, core *server.Core, args []string) error
}

// flagSet is the part of *flag.FlagSet verbs use to declare flags.
type flagSet interface {
	Bool(name string, value bool, usage string) *bool
	String(name, value, usage string) *string
}

func (c *cli) dispatch(noun string, verbs []verb, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("missing subcommand: %s", verbNames(verbs))
	}
	for _, v := range verbs {
		if v.name != args[0] {
			continue
		}
		fs, data := c.newFlags(noun + " " + v.name)
		if v.flags != nil {
			v.flags(fs)
		}
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) < v.min || (v.max >= 0 && len(pos) > v.max) {
			return usagef("usage: mailport %s %s %s", noun, v.name, v.usage)
		}
		core, err := c.openCore(*data)
		if err != nil {
			return err
		}
		defer core.Close()
		return v.run(c, core, pos)
	}
	return usagef("unknown subcommand %q: %s", args[0], verbNames(verbs))
}

func verbNames(verbs []verb) string {
	var n []string
	for _, v := range verbs {
		n = append(n, v.name)
	}
	return strings.Join(n, "|")
}

func (c *cli) table(rows [][]string) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

func cmdDomain(c *cli, args []string) error {
	return c.dispatch("domain", []verb{
		{name: "add", usage: "DOMAIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			d, err := asCLI(core).AddDomain(c.ctx, a[0])
			if err == nil {
				fmt.Fprintf(c.stdout, "domain %s added\n", d.Name)
			}
			return err
		}},
		{name: "list", min: 0, max: 0, run: func(c *cli, core *server.Core, a []string) error {
			ds, err := asCLI(core).ListDomains(c.ctx)
			if err != nil {
				return err
			}
			for _, d := range ds {
				fmt.Fprintln(c.stdout, d.Name)
			}
			return nil
		}},
		{name: "remove", usage: "DOMAIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveDomain(c.ctx, a[0])
		}},
		domainSDR(),
	}, args)
}

func cmdDomainAlias(c *cli, args []string) error {
	return c.dispatch("domain-alias", []verb{
		{name: "add", usage: "ALIAS DOMAIN", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).AddDomainAlias(c.ctx, a[0], a[1])
		}},
		{name: "list", min: 0, max: 0, run: func(c *cli, core *server.Core, a []string) error {
			das, err := asCLI(core).ListDomainAliases(c.ctx)
			if err != nil {
				return err
			}
			rows := [][]string{{"ALIAS", "DOMAIN"}}
			for _, d := range das {
				rows = append(rows, []string{d.Alias, d.Domain})
			}
			c.table(rows)
			return nil
		}},
		{name: "remove", usage: "ALIAS", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveDomainAlias(c.ctx, a[0])
		}},
	}, args)
}

func cmdUser(c *cli, args []string) error {
	var pwStdin *bool
	var pwFile, name, quota *string
	pwFlags := func(fs flagSet) {
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
		pwFile = fs.String("password-file", "", "read the password from a file")
	}
	password := func(c *cli) (string, error) {
		if !*pwStdin && *pwFile == "" {
			return "", usagef("give the password with --password-stdin or --password-file")
		}
		return readPassword(c.stdin, *pwFile)
	}
	return c.dispatch("user", []verb{
		{name: "add", usage: "ADDRESS --password-stdin [--name NAME] [--quota SIZE]", min: 1, max: 1,
			flags: func(fs flagSet) {
				pwFlags(fs)
				name = fs.String("name", "", "display name")
				quota = fs.String("quota", "0", "quota in bytes, or with a K, M, G suffix; 0 = unlimited")
			},
			run: func(c *cli, core *server.Core, a []string) error {
				q, err := parseSize(*quota)
				if err != nil {
					return usagef("--quota: %v", err)
				}
				pw, err := password(c)
				if err != nil {
					return err
				}
				acct, err := asCLI(core).AddMailbox(c.ctx, directory.NewUser{Address: a[0], Password: pw, DisplayName: *name, QuotaBytes: q})
				if err == nil {
					fmt.Fprintf(c.stdout, "mailbox %s added\n", acct.Address)
				}
				return err
			}},
		{name: "list", usage: "[DOMAIN]", min: 0, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			domain := ""
			if len(a) == 1 {
				domain = a[0]
			}
			us, err := core.Directory.ListUsers(c.ctx, domain)
			if err != nil {
				return err
			}
			rows := [][]string{{"ADDRESS", "NAME", "QUOTA", "USED", "ENABLED"}}
			for _, u := range us {
				rows = append(rows, []string{u.Address, u.DisplayName, formatSize(u.QuotaBytes), strconv.FormatInt(u.UsedBytes, 10), strconv.FormatBool(u.Enabled)})
			}
			c.table(rows)
			return nil
		}},
		{name: "remove", usage: "ADDRESS", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveMailbox(c.ctx, a[0])
		}},
		{name: "passwd", usage: "LOGIN --password-stdin", min: 1, max: 1, flags: pwFlags,
			run: func(c *cli, core *server.Core, a []string) error {
				pw, err := password(c)
				if err != nil {
					return err
				}
				return asCLI(core).ChangePassword(c.ctx, a[0], pw)
			}},
	}, args)
}

func cmdAlias(c *cli, args []string) error {
	return c.dispatch("alias", []verb{
		{name: "add", usage: "ADDRESS TARGET...", min: 2, max: -1, run: func(c *cli, core *server.Core, a []string) error {
			al, err := asCLI(core).AddAlias(c.ctx, a[0], a[1:])
			if err == nil {
				fmt.Fprintf(c.stdout, "alias %s -> %s\n", al.Address, strings.Join(al.Targets, ", "))
			}
			return err
		}},
		{name: "list", usage: "[DOMAIN]", min: 0, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			domain := ""
			if len(a) == 1 {
				domain = a[0]
			}
			as, err := asCLI(core).ListAliases(c.ctx, domain)
			if err != nil {
				return err
			}
			rows := [][]string{{"ALIAS", "TARGETS"}}
			for _, al := range as {
				rows = append(rows, []string{al.Address, strings.Join(al.Targets, ", ")})
			}
			c.table(rows)
			return nil
		}},
		{name: "remove", usage: "ADDRESS", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveAlias(c.ctx, a[0])
		}},
	}, args)
}

func cmdSender(c *cli, args []string) error {
	return c.dispatch("sender", []verb{
		{name: "add", usage: "MAILBOX ADDRESS", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).AddSender(c.ctx, a[0], a[1])
		}},
		{name: "list", usage: "MAILBOX", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			ss, err := asCLI(core).ListSenders(c.ctx, a[0])
			if err != nil {
				return err
			}
			for _, s := range ss {
				fmt.Fprintln(c.stdout, s.Address)
			}
			return nil
		}},
		{name: "remove", usage: "MAILBOX ADDRESS", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveSender(c.ctx, a[0], a[1])
		}},
	}, args)
}

func cmdForward(c *cli, args []string) error {
	var keep *bool
	return c.dispatch("forward", []verb{
		{name: "add", usage: "MAILBOX TARGET [--keep-copy]", min: 2, max: 2,
			flags: func(fs flagSet) { keep = fs.Bool("keep-copy", false, "keep a copy in the mailbox too") },
			run: func(c *cli, core *server.Core, a []string) error {
				return asCLI(core).AddForward(c.ctx, a[0], a[1], *keep)
			}},
		{name: "list", usage: "MAILBOX", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			fs, err := asCLI(core).ListForwards(c.ctx, a[0])
			if err != nil {
				return err
			}
			rows := [][]string{{"TARGET", "KEEP-COPY"}}
			for _, f := range fs {
				rows = append(rows, []string{f.Target, strconv.FormatBool(f.KeepCopy)})
			}
			c.table(rows)
			return nil
		}},
		{name: "remove", usage: "MAILBOX TARGET", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			return asCLI(core).RemoveForward(c.ctx, a[0], a[1])
		}},
	}, args)
}

// parseSize reads "1048576", "512K", "100M" or "2G" (powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}

// asCLI is the directory as the mailport command acts on it: with the
// rights of a MasterAdmin, audited with actor "cli".
func asCLI(core *server.Core) *directory.Scope { return core.Directory.As(access.CLI()) }
