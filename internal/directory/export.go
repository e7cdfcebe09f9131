package directory

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mailport/internal/auth"
	"mailport/internal/store"
)

// Kind is a kind of directory object that Export writes and Import reads.
type Kind string

// The kinds, as the CSV "kind" column spells them.
const (
	KindDomain        Kind = "domain"
	KindDomainAlias   Kind = "domain_alias"
	KindRelayDomain   Kind = "relay_domain"
	KindMailbox       Kind = "mailbox"
	KindAlias         Kind = "alias"
	KindSenderAddress Kind = "sender_address"
	KindForward       Kind = "forward"
)

// AllKinds lists every kind in dependency order (a kind only refers to
// kinds before it), the order exports are written and imports applied in.
var AllKinds = []Kind{KindDomain, KindDomainAlias, KindRelayDomain, KindMailbox, KindAlias, KindSenderAddress, KindForward}

// kindKeys are the JSON document's keys of each kind (also accepted by
// ParseKinds).
var kindKeys = map[Kind]string{
	KindDomain: "domains", KindDomainAlias: "domain_aliases", KindRelayDomain: "relay_domains",
	KindMailbox: "mailboxes", KindAlias: "aliases", KindSenderAddress: "sender_addresses", KindForward: "forwards",
}

// ErrInvalidKind is an unknown kind name.
var ErrInvalidKind = errors.New("unknown kind")

// ParseKinds reads a comma-separated list of kinds, singular ("mailbox",
// as in the CSV kind column) or plural ("mailboxes", as in the JSON
// document); "" means all kinds. The result is in AllKinds order.
func ParseKinds(s string) ([]Kind, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(AllKinds), nil
	}
	want := map[Kind]bool{}
	for _, name := range strings.Split(s, ",") {
		k, ok := kindByName(strings.ToLower(strings.TrimSpace(name)))
		if !ok {
			return nil, fmt.Errorf("%w %q (use %s)", ErrInvalidKind, name, kindNames())
		}
		want[k] = true
	}
	var out []Kind
	for _, k := range AllKinds {
		if want[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

func kindByName(name string) (Kind, bool) {
	for _, k := range AllKinds {
		if name == string(k) || name == kindKeys[k] {
			return k, true
		}
	}
	return "", false
}

func kindNames() string {
	names := make([]string, len(AllKinds))
	for i, k := range AllKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Format is the file format of an export or import.
type Format string

const (
	FormatCSV  Format = "csv"
	FormatJSON Format = "json"
)

// ErrInvalidFormat is a format other than csv or json.
var ErrInvalidFormat = errors.New("unknown format (use csv or json)")

// The records below are one object each, the same in both formats. The
// JSON document (ExportData) holds them under the kinds' plural keys; in
// CSV they are rows of one file, described at csvColumns.

// DomainRecord is a hosted domain with its split domain routing.
type DomainRecord struct {
	Name    string `json:"name"`
	SDRHost string `json:"sdr_host,omitempty"`
	SDRPort int    `json:"sdr_port,omitempty"`
}

// DomainAliasRecord makes Alias another name of the hosted domain Domain.
type DomainAliasRecord struct {
	Alias  string `json:"alias"`
	Domain string `json:"domain"`
}

// RelayDomainRecord is a relay domain; empty Recipients accept any address.
type RelayDomainRecord struct {
	Name       string   `json:"name"`
	Host       string   `json:"host"`
	Port       int      `json:"port"`
	Recipients []string `json:"recipients,omitempty"`
}

// MailboxRecord is a mailbox. Exports carry PasswordHash in Dovecot's
// "{SCHEME}hash" form ({ARGON2ID}$argon2id$...), so a re-import keeps the
// password, and SCRAMSHA256, the SCRAM-SHA-256 credential in Dovecot's
// "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey" form, so it keeps SCRAM
// logins working too. An import takes either Password (plaintext,
// strength-checked, hashed and given a SCRAM credential) or PasswordHash
// ({ARGON2ID}, {BLF-CRYPT}, {SHA512-CRYPT}) with an optional SCRAMSHA256
// (without one, the first PLAIN or LOGIN login makes it). Enabled absent
// in an import means true.
type MailboxRecord struct {
	Address      string `json:"address"`
	DisplayName  string `json:"display_name,omitempty"`
	QuotaBytes   int64  `json:"quota_bytes"`
	Enabled      *bool  `json:"enabled,omitempty"`
	Password     string `json:"password,omitempty"`
	PasswordHash string `json:"password_hash,omitempty"`
	SCRAMSHA256  string `json:"scram_sha256,omitempty"`
}

// AliasRecord is an alias with its targets.
type AliasRecord struct {
	Address string   `json:"address"`
	Targets []string `json:"targets"`
}

// ForwardRecord is a forward of a mailbox; KeepCopy absent in an import
// means true (the mailbox keeps its copy: the choice that loses no mail).
type ForwardRecord struct {
	Mailbox  string `json:"mailbox"`
	Target   string `json:"target"`
	KeepCopy *bool  `json:"keep_copy,omitempty"`
}

// ExportData is the JSON form of an export, and what a JSON import reads.
// Version is 1; an import accepts 1 or absent.
type ExportData struct {
	Version         int                 `json:"version"`
	Domains         []DomainRecord      `json:"domains,omitempty"`
	DomainAliases   []DomainAliasRecord `json:"domain_aliases,omitempty"`
	RelayDomains    []RelayDomainRecord `json:"relay_domains,omitempty"`
	Mailboxes       []MailboxRecord     `json:"mailboxes,omitempty"`
	Aliases         []AliasRecord       `json:"aliases,omitempty"`
	SenderAddresses []SenderAddress     `json:"sender_addresses,omitempty"`
	Forwards        []ForwardRecord     `json:"forwards,omitempty"`
}

// exportVersion is ExportData.Version.
const exportVersion = 1

// csvColumns is the header of a CSV export, the columns an import knows.
// Every row is one object; its "kind" says which, and the other columns
// mean, per kind:
//
//	kind            name              target                          other columns
//	domain          domain name       -                               host, port: split domain routing (empty: off)
//	domain_alias    alias domain      the hosted domain it stands for -
//	relay_domain    relay domain      accepted recipients, space-     host, port: where mail is relayed
//	                                  separated (empty: any address)
//	mailbox         address           -                               display_name, quota_bytes (0: unlimited),
//	                                                                  enabled (true/false), password or password_hash
//	                                                                  (with scram_sha256, if any)
//	alias           alias address     targets, space-separated        -
//	sender_address  mailbox address   the address it may send as      -
//	forward         mailbox address   the forward's target address    keep_copy (true/false)
//
// One file with a kind column, rather than one file per kind, because an
// import must see every object at once to check references (a mailbox
// of a domain in the same file) and report line numbers of one file, and
// because it opens as one sheet. An import finds columns by their header
// name in any order and may leave out columns it does not use; a cell
// that does not apply to its row's kind must be empty. Lists in a cell
// may be separated by spaces, commas or semicolons.
var csvColumns = []string{"kind", "name", "target", "host", "port", "display_name", "quota_bytes", "enabled", "keep_copy", "password", "password_hash", "scram_sha256"}

// Export writes the objects of the given kinds (nil: all) that the
// principal administers: everything for a MasterAdmin; a DomainAdmin's
// domains with their mailboxes, aliases, sender addresses and forwards,
// the domain aliases pointing at them and the relay domains below them.
// MailUsers may not export. Objects are sorted by name within each kind,
// kinds in AllKinds order, so an export of the same state is the same
// bytes. Mailboxes carry their password hash (see MailboxRecord): the
// result is as secret as the password database.
func (sc *Scope) Export(ctx context.Context, format Format, kinds []Kind) ([]byte, error) {
	if format != FormatCSV && format != FormatJSON {
		return nil, fmt.Errorf("%w: %q", ErrInvalidFormat, format)
	}
	if kinds == nil {
		kinds = AllKinds
	}
	for _, k := range kinds {
		if _, ok := kindKeys[k]; !ok {
			return nil, fmt.Errorf("%w %q (use %s)", ErrInvalidKind, k, kindNames())
		}
	}
	data, err := sc.exportData(ctx, kinds)
	if err != nil {
		return nil, err
	}
	if format == FormatJSON {
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		return append(b, '\n'), nil
	}
	return data.csv()
}

// exportData collects what Export writes.
func (sc *Scope) exportData(ctx context.Context, kinds []Kind) (ExportData, error) {
	all, own, err := sc.ownedDomains("export the directory")
	if err != nil {
		return ExportData{}, err
	}
	want := func(k Kind) bool { return slices.Contains(kinds, k) }
	out := ExportData{Version: exportVersion}

	domains, err := sc.s.st.ListDomains(ctx)
	if err != nil {
		return ExportData{}, fmt.Errorf("export: %w", err)
	}
	if !all {
		domains = slices.DeleteFunc(domains, func(d store.Domain) bool { return !slices.Contains(own, d.Name) })
	}
	if want(KindDomain) {
		for _, d := range domains {
			out.Domains = append(out.Domains, DomainRecord{Name: d.Name, SDRHost: d.SDRHost, SDRPort: d.SDRPort})
		}
	}
	if want(KindDomainAlias) {
		das, err := sc.ListDomainAliases(ctx)
		if err != nil {
			return ExportData{}, fmt.Errorf("export: %w", err)
		}
		for _, da := range das {
			out.DomainAliases = append(out.DomainAliases, DomainAliasRecord{Alias: da.Alias, Domain: da.Domain})
		}
	}
	if want(KindRelayDomain) {
		rds, err := sc.ListRelayDomains(ctx)
		if err != nil {
			return ExportData{}, fmt.Errorf("export: %w", err)
		}
		for _, r := range rds {
			out.RelayDomains = append(out.RelayDomains, RelayDomainRecord{Name: r.Name, Host: r.Host, Port: r.Port, Recipients: r.Recipients})
		}
	}
	needAccounts := want(KindMailbox) || want(KindSenderAddress) || want(KindForward)
	for _, d := range domains {
		if want(KindAlias) {
			as, err := sc.s.st.ListAliases(ctx, d.Name)
			if err != nil {
				return ExportData{}, fmt.Errorf("export: aliases of %s: %w", d.Name, err)
			}
			for _, a := range as {
				out.Aliases = append(out.Aliases, AliasRecord{Address: a.Address, Targets: a.Targets})
			}
		}
		if !needAccounts {
			continue
		}
		accts, err := sc.s.st.ListAccounts(ctx, d.Name)
		if err != nil {
			return ExportData{}, fmt.Errorf("export: mailboxes of %s: %w", d.Name, err)
		}
		for _, a := range accts {
			if err := out.addAccount(ctx, sc.s.st, a, want); err != nil {
				return ExportData{}, err
			}
		}
	}
	// Lists of several domains are sorted as a whole, so the order does
	// not depend on how the domains were walked.
	slices.SortFunc(out.Mailboxes, func(a, b MailboxRecord) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(out.Aliases, func(a, b AliasRecord) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(out.SenderAddresses, func(a, b SenderAddress) int {
		return cmpPair(a.Mailbox, a.Address, b.Mailbox, b.Address)
	})
	slices.SortFunc(out.Forwards, func(a, b ForwardRecord) int { return cmpPair(a.Mailbox, a.Target, b.Mailbox, b.Target) })
	return out, nil
}

func cmpPair(a1, a2, b1, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// addAccount adds a mailbox account with its sender addresses and
// forwards, as far as they are wanted.
func (out *ExportData) addAccount(ctx context.Context, st store.Store, a store.Account, want func(Kind) bool) error {
	if a.DomainID == 0 {
		return nil
	}
	if want(KindMailbox) {
		h, err := auth.ExportHash(a.PasswordHash)
		if err != nil {
			// An account whose hash mailport cannot read cannot log in
			// either; exporting it without a password would make the
			// import fail, so say which one.
			return fmt.Errorf("export: mailbox %s: stored password hash: %w", a.Address, err)
		}
		// A SCRAM credential mailport cannot read is one no login
		// uses (the exchange treats it as missing); it stays behind
		// rather than make the re-import fail.
		scram, err := auth.NormalizeImportedSCRAM(a.SCRAMSHA256)
		if err != nil {
			scram = ""
		}
		enabled := a.Enabled
		out.Mailboxes = append(out.Mailboxes, MailboxRecord{
			Address: a.Address, DisplayName: a.DisplayName, QuotaBytes: a.QuotaBytes, Enabled: &enabled, PasswordHash: h, SCRAMSHA256: scram,
		})
	}
	if want(KindSenderAddress) {
		ss, err := st.ListSenderAddresses(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("export: sender addresses of %s: %w", a.Address, err)
		}
		for _, s := range ss {
			out.SenderAddresses = append(out.SenderAddresses, SenderAddress{Mailbox: a.Address, Address: s.Address})
		}
	}
	if want(KindForward) {
		fs, err := st.ListForwards(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("export: forwards of %s: %w", a.Address, err)
		}
		for _, f := range fs {
			keep := f.KeepCopy
			out.Forwards = append(out.Forwards, ForwardRecord{Mailbox: a.Address, Target: f.Target, KeepCopy: &keep})
		}
	}
	return nil
}

// csv writes the data as one CSV file (RFC 4180: CRLF line ends, quotes
// where needed) with the csvColumns header.
func (d ExportData) csv() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	col := map[string]int{}
	for i, c := range csvColumns {
		col[c] = i
	}
	_ = w.Write(csvColumns)
	row := func(kind Kind, cells map[string]string) {
		rec := make([]string, len(csvColumns))
		rec[0] = string(kind)
		for name, v := range cells {
			rec[col[name]] = guardCell(v)
		}
		_ = w.Write(rec)
	}
	port := func(p int) string {
		if p == 0 {
			return ""
		}
		return strconv.Itoa(p)
	}
	for _, r := range d.Domains {
		row(KindDomain, map[string]string{"name": r.Name, "host": r.SDRHost, "port": port(r.SDRPort)})
	}
	for _, r := range d.DomainAliases {
		row(KindDomainAlias, map[string]string{"name": r.Alias, "target": r.Domain})
	}
	for _, r := range d.RelayDomains {
		row(KindRelayDomain, map[string]string{"name": r.Name, "target": strings.Join(r.Recipients, " "), "host": r.Host, "port": port(r.Port)})
	}
	for _, r := range d.Mailboxes {
		row(KindMailbox, map[string]string{
			"name": r.Address, "display_name": r.DisplayName, "quota_bytes": strconv.FormatInt(r.QuotaBytes, 10),
			"enabled": strconv.FormatBool(r.Enabled == nil || *r.Enabled), "password_hash": r.PasswordHash,
			"scram_sha256": r.SCRAMSHA256,
		})
	}
	for _, r := range d.Aliases {
		row(KindAlias, map[string]string{"name": r.Address, "target": strings.Join(r.Targets, " ")})
	}
	for _, r := range d.SenderAddresses {
		row(KindSenderAddress, map[string]string{"name": r.Mailbox, "target": r.Address})
	}
	for _, r := range d.Forwards {
		row(KindForward, map[string]string{"name": r.Mailbox, "target": r.Target, "keep_copy": strconv.FormatBool(r.KeepCopy == nil || *r.KeepCopy)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("export: csv: %w", err)
	}
	return buf.Bytes(), nil
}

// formulaStart are the first characters that make a spreadsheet read a
// cell as a formula (OWASP "CSV injection"). A display name is chosen by
// the mailbox's user, so an export opened in a spreadsheet must not run
// it: such cells are written with a leading apostrophe, which spreadsheets
// take as "text", and which an import removes again.
const formulaStart = "=+-@\t\r"

func guardCell(v string) string {
	if v != "" && strings.ContainsRune(formulaStart, rune(v[0])) {
		return "'" + v
	}
	return v
}

func unguardCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.ContainsRune(formulaStart, rune(v[1])) {
		return v[1:]
	}
	return v
}
