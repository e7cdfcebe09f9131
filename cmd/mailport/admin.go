package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailport/internal/directory"
	"mailport/internal/server"
	"mailport/internal/store"
)

func cmdToken(c *cli, args []string) error {
	var name, expires *string
	return c.dispatch("token", []verb{
		{name: "create", usage: "LOGIN [--name NAME] [--expires DURATION]", min: 1, max: 1,
			flags: func(fs flagSet) {
				name = fs.String("name", "", "what the token is for")
				expires = fs.String("expires", "", "lifetime such as 720h; empty = no expiry")
			},
			run: func(c *cli, core *server.Core, a []string) error {
				var exp *time.Time
				if *expires != "" {
					d, err := time.ParseDuration(*expires)
					if err != nil || d <= 0 {
						return usagef("--expires: want a positive duration such as 720h, got %q", *expires)
					}
					t := time.Now().Add(d)
					exp = &t
				}
				secret, tok, err := asCLI(core).CreateToken(c.ctx, a[0], *name, exp)
				if err != nil {
					return err
				}
				// The secret is printed alone on stdout so a script can
				// capture it; it cannot be shown again.
				fmt.Fprintln(c.stdout, secret)
				fmt.Fprintf(c.stderr, "token %d (%s) for %s created; store it now, it is not shown again\n", tok.ID, tok.Prefix, tok.Login)
				return nil
			}},
		{name: "list", usage: "LOGIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			toks, err := asCLI(core).ListTokens(c.ctx, a[0])
			if err != nil {
				return err
			}
			rows := [][]string{{"ID", "NAME", "PREFIX", "CREATED", "LAST-USED", "EXPIRES"}}
			for _, t := range toks {
				used, exp := "never", "never"
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.Format(time.RFC3339)
				}
				if t.ExpiresAt != nil {
					exp = t.ExpiresAt.Format(time.RFC3339)
				}
				rows = append(rows, []string{strconv.FormatInt(t.ID, 10), t.Name, t.Prefix, t.CreatedAt.Format(time.RFC3339), used, exp})
			}
			c.table(rows)
			return nil
		}},
		{name: "revoke", usage: "LOGIN ID", min: 2, max: 2, run: func(c *cli, core *server.Core, a []string) error {
			id, err := strconv.ParseInt(a[1], 10, 64)
			if err != nil || id <= 0 {
				return usagef("bad token id %q", a[1])
			}
			if err := asCLI(core).RevokeToken(c.ctx, a[0], id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "token %d of %s revoked\n", id, a[0])
			return nil
		}},
	}, args)
}

// splitList reads "a,b, c" ("" is no items).
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func formatLimit(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func cmdAdmin(c *cli, args []string) error {
	var role, domains, pwFile *string
	var pwStdin *bool
	lim := map[string]*string{}
	limitFlags := []struct{ name, usage string }{
		{"domains", "how many domains it may hold when it adds domains itself"},
		{"mailboxes", "how many mailboxes"},
		{"aliases", "how many aliases and sender addresses"},
		{"domain-aliases", "how many domain aliases"},
		{"storage", "total of the mailboxes' quotas (K, M, G suffixes)"},
	}
	return c.dispatch("admin", []verb{
		{name: "add", usage: "LOGIN --role domainadmin|masteradmin --password-stdin [--domains a,b]", min: 1, max: 1,
			flags: func(fs flagSet) {
				role = fs.String("role", "", "domainadmin or masteradmin")
				domains = fs.String("domains", "", "comma-separated domains a DomainAdmin administers")
				pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
				pwFile = fs.String("password-file", "", "read the password from a file")
			},
			run: func(c *cli, core *server.Core, a []string) error {
				r := store.Role(strings.ToLower(*role))
				if r != store.RoleDomainAdmin && r != store.RoleMasterAdmin {
					return usagef("--role must be domainadmin or masteradmin")
				}
				if !*pwStdin && *pwFile == "" {
					return usagef("give the password with --password-stdin or --password-file")
				}
				pw, err := readPassword(c.stdin, *pwFile)
				if err != nil {
					return err
				}
				ad, err := asCLI(core).CreateAdmin(c.ctx, directory.NewAdmin{Login: a[0], Password: pw, Role: r, Domains: splitList(*domains)})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s %s added\n", ad.Role, ad.Login)
				return nil
			}},
		{name: "list", min: 0, max: 0, run: func(c *cli, core *server.Core, a []string) error {
			ads, err := asCLI(core).ListAdmins(c.ctx)
			if err != nil {
				return err
			}
			rows := [][]string{{"LOGIN", "ROLE", "ENABLED", "DOMAINS", "MAILBOXES", "ALIASES", "DOMAIN-ALIASES", "STORAGE"}}
			for _, ad := range ads {
				if ad.Role != store.RoleDomainAdmin {
					rows = append(rows, []string{ad.Login, string(ad.Role), strconv.FormatBool(ad.Enabled), "all", "", "", "", ""})
					continue
				}
				u, l := ad.Usage, ad.Limits
				rows = append(rows, []string{ad.Login, string(ad.Role), strconv.FormatBool(ad.Enabled),
					fmt.Sprintf("%s (%d/%d)", strings.Join(ad.Domains, ","), u.Domains, l.MaxDomains),
					fmt.Sprintf("%d/%s", u.Mailboxes, formatLimit(l.MaxMailboxes)),
					fmt.Sprintf("%d/%s", u.Aliases, formatLimit(l.MaxAliases)),
					fmt.Sprintf("%d/%s", u.DomainAliases, formatLimit(l.MaxDomainAliases)),
					fmt.Sprintf("%d/%s", u.QuotaBytes, formatLimit(l.MaxStorageBytes))})
			}
			c.table(rows)
			return nil
		}},
		{name: "limits", usage: "LOGIN [--mailboxes N] [--aliases N] [--domains N] [--domain-aliases N] [--storage SIZE] " +
			"(0 = unlimited, except --domains 0: the DomainAdmin may not add domains)", min: 1, max: 1,
			flags: func(fs flagSet) {
				for _, f := range limitFlags {
					zero := "; 0 = unlimited"
					if f.name == "domains" {
						// directory.Scope.AddDomain: max_domains 0 allows no domains.
						zero = "; 0 (the default) = it may not add domains, only run those assigned to it"
					}
					lim[f.name] = fs.String(f.name, "", f.usage+zero)
				}
			},
			run: func(c *cli, core *server.Core, a []string) error {
				sc := asCLI(core)
				ad, err := sc.GetAdmin(c.ctx, a[0])
				if err != nil {
					return err
				}
				l := ad.Limits
				changed := false
				for name, dst := range map[string]*int64{"domains": &l.MaxDomains, "mailboxes": &l.MaxMailboxes,
					"aliases": &l.MaxAliases, "domain-aliases": &l.MaxDomainAliases, "storage": &l.MaxStorageBytes} {
					v := *lim[name]
					if v == "" {
						continue
					}
					n, err := parseSize(v)
					if err != nil || (name != "storage" && strings.ContainsAny(strings.ToUpper(v), "KMG")) {
						return usagef("--%s: bad number %q", name, v)
					}
					*dst, changed = n, true
				}
				if changed {
					if ad, err = sc.UpdateAdmin(c.ctx, a[0], directory.AdminUpdate{Limits: &l}); err != nil {
						return err
					}
				}
				l, u := ad.Limits, ad.Usage
				c.table([][]string{
					{"LIMIT", "USED", "MAX"},
					{"domains", strconv.FormatInt(u.Domains, 10), strconv.FormatInt(l.MaxDomains, 10)},
					{"mailboxes", strconv.FormatInt(u.Mailboxes, 10), formatLimit(l.MaxMailboxes)},
					{"aliases", strconv.FormatInt(u.Aliases, 10), formatLimit(l.MaxAliases)},
					{"domain-aliases", strconv.FormatInt(u.DomainAliases, 10), formatLimit(l.MaxDomainAliases)},
					{"storage", strconv.FormatInt(u.QuotaBytes, 10), formatLimit(l.MaxStorageBytes)},
				})
				return nil
			}},
		{name: "domains", usage: "LOGIN DOMAIN,DOMAIN...  (replaces the DomainAdmin's domains; \"\" for none)", min: 2, max: 2,
			run: func(c *cli, core *server.Core, a []string) error {
				ds := splitList(a[1])
				ad, err := asCLI(core).UpdateAdmin(c.ctx, a[0], directory.AdminUpdate{Domains: &ds})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s administers: %s\n", ad.Login, strings.Join(ad.Domains, ", "))
				return nil
			}},
		{name: "remove", usage: "LOGIN", min: 1, max: 1, run: func(c *cli, core *server.Core, a []string) error {
			if err := asCLI(core).RemoveAdmin(c.ctx, a[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "admin %s removed\n", a[0])
			return nil
		}},
	}, args)
}
