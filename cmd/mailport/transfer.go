package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"mailport/internal/directory"
)

// cmdExport writes the directory (domains, mailboxes with their password
// hashes, aliases, ...) in the form `mailport import` and POST
// /api/v1/import read, so a server can be moved or backed up as a file.
func cmdExport(c *cli, args []string) error {
	fs, data := c.newFlags("export")
	format := fs.String("format", "csv", "csv or json")
	kinds := fs.String("kinds", "", "comma-separated kinds (domains, domain_aliases, relay_domains, mailboxes, aliases, sender_addresses, forwards); default all")
	out := fs.String("out", "", "write to this file instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: mailport export --format csv|json [--kinds K1,K2] [--out FILE]")
	}
	f, err := transferFormat(*format)
	if err != nil {
		return err
	}
	ks, err := directory.ParseKinds(*kinds)
	if err != nil {
		return usagef("--kinds: %v", err)
	}
	core, err := c.openCore(*data)
	if err != nil {
		return err
	}
	defer core.Close()
	b, err := asCLI(core).Export(c.ctx, f, ks)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = c.stdout.Write(b)
		return err
	}
	// 0600: the export holds password hashes.
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// cmdImport creates the objects of an export file, all or none, and
// prints the report; a rejected file lists each bad row with its line and
// exits 1 with nothing changed.
func cmdImport(c *cli, args []string) error {
	fs, data := c.newFlags("import")
	format := fs.String("format", "csv", "csv or json")
	dryRun := fs.Bool("dry-run", false, "validate and report, changing nothing")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: mailport import --format csv|json [--dry-run] FILE (- for standard input)")
	}
	f, err := transferFormat(*format)
	if err != nil {
		return err
	}
	file, err := c.openImportFile(pos[0])
	if err != nil {
		return err
	}
	defer file.Close()
	core, err := c.openCore(*data)
	if err != nil {
		return err
	}
	defer core.Close()
	rep, err := asCLI(core).Import(c.ctx, f, file, directory.ImportOptions{DryRun: *dryRun})
	printImportReport(c.stdout, rep, err)
	return err
}

// openImportFile opens FILE, or standard input for "-".
func (c *cli) openImportFile(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(c.stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open import file: %w", err)
	}
	return f, nil
}

func transferFormat(s string) (directory.Format, error) {
	switch directory.Format(s) {
	case directory.FormatCSV, directory.FormatJSON:
		return directory.Format(s), nil
	}
	return "", usagef("--format: %q is not csv or json", s)
}

func printImportReport(w io.Writer, rep directory.ImportReport, err error) {
	for _, e := range rep.Errors {
		name := ""
		if e.Name != "" {
			name = " " + e.Name
		}
		kind := ""
		if e.Kind != "" {
			kind = " " + string(e.Kind)
		}
		fmt.Fprintf(w, "line %d:%s%s: %s\n", e.Line, kind, name, e.Message)
	}
	if err != nil {
		if errors.Is(err, directory.ErrImportRejected) {
			fmt.Fprintf(w, "%d rows, %d rejected; nothing imported\n", rep.Rows, len(rep.Errors))
		}
		return
	}
	verb := "imported"
	if rep.DryRun {
		verb = "would import (dry run)"
	}
	n := rep.Created
	fmt.Fprintf(w, "%d rows %s: %d domains, %d domain aliases, %d relay domains, %d mailboxes, %d aliases, %d sender addresses, %d forwards\n",
		rep.Rows, verb, n.Domains, n.DomainAliases, n.RelayDomains, n.Mailboxes, n.Aliases, n.SenderAddresses, n.Forwards)
}
