package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/domainname"
	"mailport/internal/store"
)

// Import limits: one import is one store transaction and, for plaintext
// passwords, one argon2id hash per mailbox, so both are bounded. Larger
// directories import in several files (domains first).
const (
	MaxImportBytes = 32 << 20
	MaxImportRows  = 50000
	// maxImportErrors bounds the report of a file that is wrong
	// throughout (say, the wrong file): the first errors say enough.
	maxImportErrors = 1000
	// maxAliasTargets is the store's bound on one alias's targets.
	maxAliasTargets = 10000
	// defaultRelayPort is the port of a relay domain or split domain
	// routing destination whose port is left empty.
	defaultRelayPort = 25
)

// Errors of Import. ErrInvalidImport is a file that cannot be read as a
// whole (format, size, header, JSON syntax): the API answers 400 or 413.
// ErrImportRejected comes with a report whose Errors name each bad row:
// the API answers 422 with the report.
var (
	ErrInvalidImport  = errors.New("invalid import file")
	ErrImportRejected = errors.New("import rejected: some rows are invalid, nothing was changed")
)

// ImportOptions tune Import.
type ImportOptions struct {
	// DryRun validates every row and reports what would be created,
	// changing nothing (the portal's preview).
	DryRun bool
}

// RowError is one bad row: its line in the file (CSV: the line the record
// starts on, header = line 1; JSON: the line the object starts on), its
// kind and object name as far as they could be read, and why.
type RowError struct {
	Line    int    `json:"line"`
	Kind    Kind   `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Message string `json:"message"`
}

// ImportCounts counts objects by kind.
type ImportCounts struct {
	Domains         int `json:"domains"`
	DomainAliases   int `json:"domain_aliases"`
	RelayDomains    int `json:"relay_domains"`
	Mailboxes       int `json:"mailboxes"`
	Aliases         int `json:"aliases"`
	SenderAddresses int `json:"sender_addresses"`
	Forwards        int `json:"forwards"`
}

// ImportReport is the outcome of an import. Rows is the number of object
// rows read. Errors lists every bad row by line; when it is not empty
// nothing was created. Created counts what was created (with DryRun:
// what would be).
type ImportReport struct {
	DryRun  bool         `json:"dry_run"`
	Rows    int          `json:"rows"`
	Errors  []RowError   `json:"errors"`
	Created ImportCounts `json:"created"`
}

// Import reads objects in the format Export writes (CSV or JSON, see
// csvColumns and ExportData) and creates them, all or none.
//
// Every row is validated before anything is written: syntax; references
// (a mailbox's or alias's domain, a sender address's or forward's mailbox,
// a domain alias's domain must exist or be in the same file, in any
// order); duplicates within the file and objects that already exist
// (an import creates, it does not update); and the principal's
// permissions and a DomainAdmin's limits as if every row were created
// (domains the file creates count as the DomainAdmin's own). Each bad row
// is reported with its line; if there is any, Import returns the report
// with ErrImportRejected and changes nothing. Otherwise it writes every
// object in one store transaction (store.ImportStore), so a failure there
// (a concurrent change) also leaves nothing behind.
//
// Passwords are either plaintext (strength-checked, hashed with argon2id)
// or pre-hashed in Dovecot's {ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT}
// form, so users moving from a Dovecot-based server keep their passwords;
// bcrypt and SHA-crypt hashes are replaced by argon2id at each user's
// first login.
//
// The audit log gets one "import" entry per domain the import touched
// (relay domains count as their own), with the names of what was created
// there, rather than one entry per object: a large import is one change,
// and per-domain entries are what a DomainAdmin can read.
func (sc *Scope) Import(ctx context.Context, format Format, data io.Reader, opts ImportOptions) (ImportReport, error) {
	report := ImportReport{DryRun: opts.DryRun, Errors: []RowError{}}
	if _, _, err := sc.ownedDomains("import into the directory"); err != nil {
		return report, err
	}
	if format != FormatCSV && format != FormatJSON {
		return report, fmt.Errorf("%w: %w: %q", ErrInvalidImport, ErrInvalidFormat, format)
	}
	raw, err := io.ReadAll(io.LimitReader(data, MaxImportBytes+1))
	if err != nil {
		return report, fmt.Errorf("import: read: %w", err)
	}
	if len(raw) > MaxImportBytes {
		return report, fmt.Errorf("%w: larger than %d bytes; split it into several imports", ErrInvalidImport, MaxImportBytes)
	}
	var rows []*importRow
	if format == FormatCSV {
		rows, err = parseCSV(raw)
	} else {
		rows, err = parseJSON(raw)
	}
	if err != nil {
		return report, err
	}
	report.Rows = len(rows)

	if sc.p.IsDomainAdmin() {
		// The limit check covers the whole import and its writing.
		sc.s.limitMu.Lock()
		defer sc.s.limitMu.Unlock()
	}
	im, err := sc.newImporter(ctx)
	if err != nil {
		return report, err
	}
	if err := im.validate(rows); err != nil {
		return report, err
	}
	for _, r := range rows {
		if r.err != "" {
			report.Errors = append(report.Errors, RowError{Line: r.line, Kind: r.kind, Name: r.name, Message: r.err})
		}
	}
	slices.SortStableFunc(report.Errors, func(a, b RowError) int { return a.Line - b.Line })
	if len(report.Errors) > maxImportErrors {
		n := len(report.Errors)
		report.Errors = append(report.Errors[:maxImportErrors], RowError{
			Line:    report.Errors[maxImportErrors].Line,
			Message: fmt.Sprintf("%d more bad rows not listed", n-maxImportErrors),
		})
	}
	if len(report.Errors) > 0 {
		return report, fmt.Errorf("%w: %d of %d rows", ErrImportRejected, countBad(rows), len(rows))
	}
	report.Created = im.counts
	if opts.DryRun {
		return report, nil
	}
	if err := im.hashPasswords(ctx); err != nil {
		return report, err
	}
	if err := sc.s.st.Import(ctx, im.batch); err != nil {
		report.Created = ImportCounts{}
		return report, fmt.Errorf("import: %w", err)
	}
	if sc.p.IsDomainAdmin() {
		for _, d := range im.batch.Domains {
			sc.p.Domains = append(sc.p.Domains, d.Name)
		}
	}
	sc.s.log.Info("directory imported", "actor", sc.p.Login(), "rows", len(rows), "domains", im.counts.Domains, "mailboxes", im.counts.Mailboxes)
	im.audit(ctx)
	return report, nil
}

func countBad(rows []*importRow) int {
	n := 0
	for _, r := range rows {
		if r.err != "" {
			n++
		}
	}
	return n
}

// importRow is one object read from the file; exactly the record of its
// kind is set. err is the first problem found with it.
type importRow struct {
	line    int
	kind    Kind
	name    string
	domain  DomainRecord
	dalias  DomainAliasRecord
	relay   RelayDomainRecord
	mailbox MailboxRecord
	alias   AliasRecord
	sender  SenderAddress
	forward ForwardRecord
	err     string
}

func (r *importRow) fail(format string, args ...any) {
	if r.err == "" {
		r.err = fmt.Sprintf(format, args...)
	}
}

// rowError is a row's problem; other errors from a check are failures of
// the store and end the import.
type rowError struct{ msg string }

func (e rowError) Error() string { return e.msg }

func bad(format string, args ...any) error { return rowError{fmt.Sprintf(format, args...)} }

// badErr makes a row error of a validation function's error.
func badErr(err error) error { return rowError{err.Error()} }

// importer validates rows against the store and the rows before them, and
// collects the batch to write.
type importer struct {
	sc  *Scope
	ctx context.Context
	// p is the principal as it will be once the import's domains exist:
	// a DomainAdmin administers the domains it imports.
	p access.Principal

	limited bool
	limits  store.AdminLimits
	usage   store.AdminUsage

	// Names the file creates, with the line that creates them.
	domains      map[string]int
	domainAlias  map[string]int
	aliasTarget  map[string]string // imported domain alias -> its domain
	relays       map[string]int
	mailboxes    map[string]int
	aliases      map[string]int
	senders      map[[2]string]int
	forwards     map[[2]string]int
	storeAccount map[string]*store.Account // cache; nil value = none

	counts    ImportCounts
	batch     store.ImportBatch
	plaintext map[int]string // index in batch.Accounts -> password to hash
	audits    map[string]*importAudit
}

func (sc *Scope) newImporter(ctx context.Context) (*importer, error) {
	im := &importer{
		sc: sc, ctx: ctx, p: sc.p,
		domains: map[string]int{}, domainAlias: map[string]int{}, aliasTarget: map[string]string{},
		relays: map[string]int{}, mailboxes: map[string]int{}, aliases: map[string]int{},
		senders: map[[2]string]int{}, forwards: map[[2]string]int{}, storeAccount: map[string]*store.Account{},
		plaintext: map[int]string{}, audits: map[string]*importAudit{},
	}
	im.p.Domains = slices.Clone(sc.p.Domains)
	im.batch.Folders = DefaultFolders
	if sc.p.IsDomainAdmin() {
		im.limited = true
		im.batch.AssignTo = sc.p.Account.ID
		var err error
		if im.limits, err = sc.s.st.AdminLimits(ctx, sc.p.Account.ID); err != nil {
			return nil, fmt.Errorf("import: limits of %s: %w", sc.p.Login(), err)
		}
		if im.usage, err = sc.s.st.AdminUsage(ctx, sc.p.Account.ID); err != nil {
			return nil, fmt.Errorf("import: usage of %s: %w", sc.p.Login(), err)
		}
	}
	return im, nil
}

// validate checks every row, kind by kind in dependency order so that a
// row may refer to one further down the file.
func (im *importer) validate(rows []*importRow) error {
	checks := map[Kind]func(*importRow) error{
		KindDomain: im.checkDomain, KindDomainAlias: im.checkDomainAlias, KindRelayDomain: im.checkRelayDomain,
		KindMailbox: im.checkMailbox, KindAlias: im.checkAlias, KindSenderAddress: im.checkSender, KindForward: im.checkForward,
	}
	for _, k := range AllKinds {
		for _, r := range rows {
			if r.kind != k || r.err != "" {
				continue
			}
			if err := im.ctx.Err(); err != nil {
				return err
			}
			err := checks[k](r)
			var re rowError
			switch {
			case errors.As(err, &re):
				r.fail("%s", re.msg)
			case err != nil:
				return fmt.Errorf("import: line %d: %w", r.line, err)
			}
		}
	}
	return nil
}

// exists turns a store lookup's error into found / not found, keeping
// other errors.
func exists(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// dup reports a name the file already creates.
func dup(seen map[string]int, name string) error {
	if line, ok := seen[name]; ok {
		return bad("%s is already in line %d", name, line)
	}
	return nil
}

// nameInUse checks that a domain name is not yet a hosted domain, domain
// alias or relay domain, neither in the store nor in the file.
func (im *importer) nameInUse(name string) error {
	for _, c := range []struct {
		seen map[string]int
		what string
	}{{im.domains, "a domain"}, {im.domainAlias, "a domain alias"}, {im.relays, "a relay domain"}} {
		if line, ok := c.seen[name]; ok {
			return bad("%s is already %s in line %d", name, c.what, line)
		}
	}
	ctx, st := im.ctx, im.sc.s.st
	_, err := st.GetDomain(ctx, name)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("%s already exists as a hosted domain", name))
	}
	_, err = st.GetDomainAlias(ctx, name)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("%s already exists as a domain alias", name))
	}
	_, err = st.GetRelayDomain(ctx, name)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("%s already exists as a relay domain", name))
	}
	return nil
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// hosted checks that d is a hosted domain, existing or in the file.
func (im *importer) hosted(d string) error {
	if _, ok := im.domains[d]; ok {
		return nil
	}
	_, err := im.sc.s.st.GetDomain(im.ctx, d)
	if ok, err := exists(err); err != nil || ok {
		return err
	}
	if target, ok := im.aliasTarget[d]; ok {
		return bad("domain %s is an alias of %s, use that domain", d, target)
	}
	if da, err := im.sc.s.st.GetDomainAlias(im.ctx, d); err == nil {
		return bad("domain %s is an alias of %s, use that domain", d, da.Domain)
	}
	return bad("domain %s does not exist and is not in the file", d)
}

// localDomain is IsLocalDomain over the store and the file.
func (im *importer) localDomain(d string) (string, bool, error) {
	if _, ok := im.domains[d]; ok {
		return d, true, nil
	}
	if target, ok := im.aliasTarget[d]; ok {
		return target, true, nil
	}
	return im.sc.s.IsLocalDomain(im.ctx, d)
}

// account returns the existing mailbox account of addr, or nil.
func (im *importer) account(addr string) (*store.Account, error) {
	if a, ok := im.storeAccount[addr]; ok {
		return a, nil
	}
	a, err := im.sc.s.st.GetAccountByAddress(im.ctx, addr)
	found, err := exists(err)
	if err != nil {
		return nil, err
	}
	var ap *store.Account
	if found && a.DomainID != 0 {
		ap = &a
	}
	im.storeAccount[addr] = ap
	return ap, nil
}

// mailboxExists checks that mb is a mailbox, existing or in the file.
func (im *importer) mailboxExists(mb string) (*store.Account, error) {
	if _, ok := im.mailboxes[mb]; ok {
		return nil, nil
	}
	a, err := im.account(mb)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, bad("mailbox %s does not exist and is not in the file", mb)
	}
	return a, nil
}

// limit checks a DomainAdmin's count limit with n objects already there.
func (im *importer) limit(max, n int64, what string) error {
	if im.limited {
		if err := im.sc.countLimit(max, n, what); err != nil {
			return badErr(err)
		}
	}
	return nil
}

func (im *importer) require(ok bool, what string) error {
	if !ok {
		return badErr(access.Deny(im.sc.p, what))
	}
	return nil
}

// route checks a relay or SDR destination, the port defaulting to 25.
func route(host string, port int) (string, int, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return "", 0, badErr(err)
	}
	if port == 0 {
		port = defaultRelayPort
	}
	if err := checkPort(port); err != nil {
		return "", 0, badErr(err)
	}
	return h, port, nil
}

func (im *importer) checkDomain(r *importRow) error {
	d, err := domainname.Normalize(r.domain.Name)
	if err != nil {
		return badErr(err)
	}
	if err := im.require(access.CanCreateDomain(im.sc.p), "add domains"); err != nil {
		return err
	}
	if err := im.nameInUse(d); err != nil {
		return err
	}
	// The store's names are judged against the principal before the
	// import: the file's own names are the importer's anyway.
	if err := im.sc.checkDomainClaim(im.ctx, d); err != nil {
		return badErr(err)
	}
	// From here on the name is the file's, so rows referring to it are
	// judged as if it existed (one cause, one error).
	im.domains[d] = r.line
	if im.p.IsDomainAdmin() {
		im.p.Domains = append(im.p.Domains, d)
	}
	rec := store.Domain{Name: d}
	if r.domain.SDRHost != "" {
		if rec.SDRHost, rec.SDRPort, err = route(r.domain.SDRHost, r.domain.SDRPort); err != nil {
			return err
		}
	} else if r.domain.SDRPort != 0 {
		return bad("split domain routing port %d without a host", r.domain.SDRPort)
	}
	if im.limited {
		if err := im.sc.domainAllowance(im.limits, im.usage.Domains+int64(im.counts.Domains)); err != nil {
			return badErr(err)
		}
	}
	im.counts.Domains++
	im.batch.Domains = append(im.batch.Domains, rec)
	im.note(d, KindDomain, d)
	return nil
}

func (im *importer) checkDomainAlias(r *importRow) error {
	a, err := domainname.Normalize(r.dalias.Alias)
	if err != nil {
		return badErr(err)
	}
	d, err := domainname.Normalize(r.dalias.Domain)
	if err != nil {
		return badErr(err)
	}
	if err := im.require(access.CanManageDomain(im.p, d), "add domain aliases of "+d); err != nil {
		return err
	}
	if err := im.nameInUse(a); err != nil {
		return err
	}
	im.domainAlias[a] = r.line
	if err := im.hosted(d); err != nil {
		return err
	}
	im.aliasTarget[a] = d
	if err := im.limit(im.limits.MaxDomainAliases, im.usage.DomainAliases+int64(im.counts.DomainAliases), "domain aliases"); err != nil {
		return err
	}
	im.counts.DomainAliases++
	im.batch.DomainAliases = append(im.batch.DomainAliases, store.DomainAlias{Alias: a, Domain: d})
	im.note(d, KindDomainAlias, a)
	return nil
}

func (im *importer) checkRelayDomain(r *importRow) error {
	n, err := domainname.Normalize(r.relay.Name)
	if err != nil {
		return badErr(err)
	}
	if err := im.require(access.CanManageRelayDomain(im.p, n), "add relay domain "+n); err != nil {
		return err
	}
	if err := im.nameInUse(n); err != nil {
		return err
	}
	im.relays[n] = r.line
	rd := store.RelayDomain{Name: n}
	if rd.Host, rd.Port, err = route(r.relay.Host, r.relay.Port); err != nil {
		return err
	}
	if len(r.relay.Recipients) > maxRelayRecipients {
		return bad("more than %d recipients", maxRelayRecipients)
	}
	seen := map[string]bool{}
	for _, rc := range r.relay.Recipients {
		l, d, err := ParseAddress(strings.TrimSpace(rc))
		if err != nil {
			return bad("recipient: %v", err)
		}
		if d != n {
			return bad("recipient %s is not in %s", l+"@"+d, n)
		}
		if a := l + "@" + d; !seen[a] {
			seen[a] = true
			rd.Recipients = append(rd.Recipients, a)
		}
	}
	im.counts.RelayDomains++
	im.batch.RelayDomains = append(im.batch.RelayDomains, rd)
	im.note(n, KindRelayDomain, n)
	return nil
}

func (im *importer) checkMailbox(r *importRow) error {
	m := r.mailbox
	local, d, err := ParseAddress(strings.TrimSpace(m.Address))
	if err != nil {
		return badErr(err)
	}
	addr := local + "@" + d
	if err := im.require(access.CanManageMailbox(im.p, addr), "add mailbox "+addr); err != nil {
		return err
	}
	if err := dup(im.mailboxes, addr); err != nil {
		return err
	}
	im.mailboxes[addr] = r.line
	if sep := im.sc.s.sep; sep != "" && strings.Contains(local, sep) {
		return bad("%s: the local part may not contain the subaddress separator %q", addr, sep)
	}
	if err := im.hosted(d); err != nil {
		return err
	}
	_, err = im.sc.s.st.GetAccountByAddress(im.ctx, addr)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("mailbox %s already exists", addr))
	}
	_, err = im.sc.s.st.GetAlias(im.ctx, addr)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("%s already exists as an alias", addr))
	}
	if m.QuotaBytes < 0 {
		return bad("quota must not be negative")
	}
	if len(m.DisplayName) > maxDisplayName || !utf8.ValidString(m.DisplayName) || strings.ContainsAny(m.DisplayName, "\r\n\x00") {
		return bad("display name longer than %d bytes, not UTF-8 or with a line break", maxDisplayName)
	}
	acct := store.Account{
		Address: addr, DisplayName: m.DisplayName, QuotaBytes: m.QuotaBytes,
		Enabled: m.Enabled == nil || *m.Enabled, Role: store.RoleUser,
	}
	switch {
	case m.Password != "" && m.PasswordHash != "":
		return bad("give either password or password_hash, not both")
	case m.Password != "":
		if err := auth.CheckPasswordStrength(m.Password); err != nil {
			return badErr(err)
		}
	case m.PasswordHash != "":
		if acct.PasswordHash, err = auth.NormalizeImportedHash(m.PasswordHash); err != nil {
			return bad("password_hash: %v", err)
		}
	default:
		return bad("a mailbox needs a password or a password_hash")
	}
	if m.SCRAMSHA256 != "" {
		if m.Password != "" {
			// The plaintext gets a credential of its own; another one
			// could belong to a different password.
			return bad("scram_sha256 goes with password_hash, not with password")
		}
		if acct.SCRAMSHA256, err = auth.NormalizeImportedSCRAM(m.SCRAMSHA256); err != nil {
			return bad("scram_sha256: %v", err)
		}
	}
	if im.limited {
		if err := im.limit(im.limits.MaxMailboxes, im.usage.Mailboxes+int64(im.counts.Mailboxes), "mailboxes"); err != nil {
			return err
		}
		if err := im.sc.storageLimit(im.limits, im.usage, 0, m.QuotaBytes); err != nil {
			return badErr(err)
		}
		im.usage.QuotaBytes += m.QuotaBytes
	}
	if m.Password != "" {
		im.plaintext[len(im.batch.Accounts)] = m.Password
	}
	im.counts.Mailboxes++
	im.batch.Accounts = append(im.batch.Accounts, acct)
	im.note(d, KindMailbox, addr)
	return nil
}

func (im *importer) checkAlias(r *importRow) error {
	local, d, err := ParseAddress(strings.TrimSpace(r.alias.Address))
	if err != nil {
		return badErr(err)
	}
	addr := local + "@" + d
	if err := im.require(access.CanManageMailbox(im.p, addr), "add alias "+addr); err != nil {
		return err
	}
	if err := dup(im.aliases, addr); err != nil {
		return err
	}
	im.aliases[addr] = r.line
	if line, ok := im.mailboxes[addr]; ok {
		return bad("%s is a mailbox in line %d", addr, line)
	}
	if err := im.hosted(d); err != nil {
		return err
	}
	_, err = im.sc.s.st.GetAccountByAddress(im.ctx, addr)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("%s already exists as a mailbox", addr))
	}
	_, err = im.sc.s.st.GetAlias(im.ctx, addr)
	if ok, err := exists(err); err != nil || ok {
		return errOr(err, bad("alias %s already exists", addr))
	}
	if len(r.alias.Targets) > maxAliasTargets {
		return bad("alias %s has more than %d targets", addr, maxAliasTargets)
	}
	targets, err := aliasTargets(addr, r.alias.Targets)
	if err != nil {
		return badErr(err)
	}
	if err := im.limit(im.limits.MaxAliases, im.usage.Aliases+int64(im.counts.Aliases+im.counts.SenderAddresses), "aliases and sender addresses"); err != nil {
		return err
	}
	im.counts.Aliases++
	im.batch.Aliases = append(im.batch.Aliases, store.Alias{Address: addr, Targets: targets})
	im.note(d, KindAlias, addr)
	return nil
}

func (im *importer) checkSender(r *importRow) error {
	mb, err := NormalizeAddress(r.sender.Mailbox)
	if err != nil {
		return badErr(err)
	}
	addr, err := NormalizeAddress(r.sender.Address)
	if err != nil {
		return badErr(err)
	}
	if err := im.require(access.CanManageMailbox(im.p, mb), "add sender addresses to "+mb); err != nil {
		return err
	}
	canon, local, err := im.localDomain(domainPart(addr))
	if err != nil {
		return err
	}
	if !local {
		return bad("sender address %s: domain %s is %v", addr, domainPart(addr), ErrDomainNotHosted)
	}
	if !access.CanManageDomain(im.p, canon) {
		return badErr(access.Deny(im.sc.p, "hand out sender address "+addr+" outside its domains"))
	}
	key := [2]string{mb, addr}
	if line, ok := im.senders[key]; ok {
		return bad("sender address %s of %s is already in line %d", addr, mb, line)
	}
	im.senders[key] = r.line
	a, err := im.mailboxExists(mb)
	if err != nil {
		return err
	}
	if a != nil {
		ss, err := im.sc.s.st.ListSenderAddresses(im.ctx, a.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ss, func(s store.SenderAddress) bool { return s.Address == addr }) {
			return bad("%s may already send as %s", mb, addr)
		}
	}
	if err := im.limit(im.limits.MaxAliases, im.usage.Aliases+int64(im.counts.Aliases+im.counts.SenderAddresses), "aliases and sender addresses"); err != nil {
		return err
	}
	im.counts.SenderAddresses++
	im.batch.SenderAddresses = append(im.batch.SenderAddresses, store.MailboxSender{Mailbox: mb, Address: addr})
	im.note(domainPart(mb), KindSenderAddress, mb+" "+addr)
	return nil
}

func (im *importer) checkForward(r *importRow) error {
	mb, err := NormalizeAddress(r.forward.Mailbox)
	if err != nil {
		return badErr(err)
	}
	t, err := NormalizeAddress(r.forward.Target)
	if err != nil {
		return badErr(err)
	}
	if err := im.require(access.CanManageForwards(im.p, mb), "add forwards to "+mb); err != nil {
		return err
	}
	if t == mb {
		return bad("forward of %s: %v: points to itself", mb, ErrLoop)
	}
	key := [2]string{mb, t}
	if line, ok := im.forwards[key]; ok {
		return bad("forward of %s to %s is already in line %d", mb, t, line)
	}
	im.forwards[key] = r.line
	a, err := im.mailboxExists(mb)
	if err != nil {
		return err
	}
	if a != nil {
		fs, err := im.sc.s.st.ListForwards(im.ctx, a.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(fs, func(f store.Forward) bool { return f.Target == t }) {
			return bad("%s already forwards to %s", mb, t)
		}
	}
	im.counts.Forwards++
	im.batch.Forwards = append(im.batch.Forwards, store.MailboxForward{Mailbox: mb, Target: t, KeepCopy: r.forward.KeepCopy == nil || *r.forward.KeepCopy})
	im.note(domainPart(mb), KindForward, mb+" "+t)
	return nil
}

// hashPasswords hashes the plaintext passwords of the batch, a few at a
// time: argon2id costs tens of milliseconds and 19 MiB each.
func (im *importer) hashPasswords(ctx context.Context) error {
	if len(im.plaintext) == 0 {
		return nil
	}
	idx := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 4, len(im.plaintext)) {
		wg.Go(func() {
			for i := range idx {
				var creds store.Account
				err := auth.SetPassword(&creds, im.plaintext[i])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("import: hash password of %s: %w", im.batch.Accounts[i].Address, err)
				}
				im.batch.Accounts[i].PasswordHash, im.batch.Accounts[i].SCRAMSHA256 = creds.PasswordHash, creds.SCRAMSHA256
				mu.Unlock()
			}
		})
	}
	for i := range im.plaintext {
		if ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// importAudit is what one audit entry of an import records for a domain:
// the names created there (up to maxAuditNames per kind) and how many.
type importAudit struct {
	Counts    map[Kind]int      `json:"counts"`
	Names     map[Kind][]string `json:"names"`
	Truncated bool              `json:"truncated,omitempty"`
}

// maxAuditNames bounds the names one audit entry lists per kind.
const maxAuditNames = 1000

func (im *importer) note(domain string, k Kind, name string) {
	a := im.audits[domain]
	if a == nil {
		a = &importAudit{Counts: map[Kind]int{}, Names: map[Kind][]string{}}
		im.audits[domain] = a
	}
	a.Counts[k]++
	if len(a.Names[k]) < maxAuditNames {
		a.Names[k] = append(a.Names[k], name)
	} else {
		a.Truncated = true
	}
}

func (im *importer) audit(ctx context.Context) {
	domains := make([]string, 0, len(im.audits))
	for d := range im.audits {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range domains {
		im.sc.audit(ctx, "import", "import", d, d, nil, im.audits[d])
	}
}
