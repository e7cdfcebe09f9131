package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

const (
	mbPW     = "mailbox pass 2024"
	quotaMiB = 1 << 20
)

// lifecycle is a directory built the way an API client builds one.
type lifecycle struct {
	st  store.Store
	dir *directory.Service
}

func newLifecycle(t *testing.T) *lifecycle {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &lifecycle{st: st, dir: directory.New(st, nil, directory.Options{Logger: quiet, PlusSeparator: "+"})}
}

func (l *lifecycle) as(t *testing.T, login string) *directory.Scope {
	t.Helper()
	a, err := l.st.GetAccountByAddress(t.Context(), login)
	if err != nil {
		t.Fatal(err)
	}
	p, err := access.Load(t.Context(), l.st, a, access.ViaAPI, "198.51.100.9")
	if err != nil {
		t.Fatal(err)
	}
	return l.dir.As(p)
}

func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// build makes, as the MasterAdmin and then as DomainAdmin bob: domain
// acme.example with SDR, bob with limits, mailboxes up to bob's limit,
// aliases, sender addresses, a forward, a domain alias and a relay domain.
func (l *lifecycle) build(t *testing.T) {
	ctx := t.Context()
	master := l.dir.As(access.CLI())
	_, err := master.AddDomain(ctx, "acme.example")
	mustDo(t, "AddDomain", err)
	_, err = master.CreateAdmin(ctx, directory.NewAdmin{
		Login: "bob", Password: scopePW, Role: store.RoleDomainAdmin, Domains: []string{"acme.example"},
		Limits: directory.Limits{MaxDomains: 2, MaxMailboxes: 3, MaxAliases: 4, MaxDomainAliases: 1, MaxStorageBytes: 3 * quotaMiB},
	})
	mustDo(t, "CreateAdmin bob", err)

	bob := l.as(t, "bob")
	for _, mb := range []string{"ann@acme.example", "ben@acme.example", "cat@acme.example"} {
		_, err := bob.AddMailbox(ctx, directory.NewUser{Address: mb, Password: mbPW, QuotaBytes: quotaMiB, DisplayName: "User " + mb[:3]})
		mustDo(t, "AddMailbox "+mb, err)
	}
	_, err = bob.AddMailbox(ctx, directory.NewUser{Address: "dan@acme.example", Password: mbPW, QuotaBytes: quotaMiB})
	if !errors.Is(err, directory.ErrLimitExceeded) {
		t.Fatalf("fourth mailbox: %v, want ErrLimitExceeded", err)
	}
	// A display name a spreadsheet would run as a formula, and a
	// disabled mailbox.
	_, err = bob.UpdateMailbox(ctx, "cat@acme.example", directory.MailboxUpdate{DisplayName: ptr(`=HYPERLINK("http://x.example","Cat")`), Enabled: ptr(false)})
	mustDo(t, "UpdateMailbox cat", err)
	_, err = bob.AddAlias(ctx, "info@acme.example", []string{"ann@acme.example", "ext@partner.example"})
	mustDo(t, "AddAlias info", err)
	_, err = bob.AddAlias(ctx, "sales@acme.example", []string{"ben@acme.example"})
	mustDo(t, "AddAlias sales", err)
	mustDo(t, "AddSender", bob.AddSender(ctx, "ann@acme.example", "sales@acme.example"))
	mustDo(t, "AddDomainAlias", bob.AddDomainAlias(ctx, "acme-alias.example", "acme.example"))
	mustDo(t, "AddSender via domain alias", bob.AddSender(ctx, "ben@acme.example", "ben@acme-alias.example"))
	_, err = bob.AddRelayDomain(ctx, "branch.acme.example", "mx.branch.example", 2525, []string{"x@branch.acme.example", "y@branch.acme.example"})
	mustDo(t, "AddRelayDomain", err)
	mustDo(t, "SetSDR", bob.SetSDR(ctx, "acme.example", "old-mail.acme.example", 25))
	mustDo(t, "AddForward", bob.AddForward(ctx, "ben@acme.example", "ben@home.example", false))
	mustDo(t, "AddForward keep", bob.AddForward(ctx, "ann@acme.example", "ann@home.example", true))
}

// wipe removes everything build made except bob.
func (l *lifecycle) wipe(t *testing.T) {
	master := l.dir.As(access.CLI())
	mustDo(t, "RemoveRelayDomain", master.RemoveRelayDomain(t.Context(), "branch.acme.example"))
	mustDo(t, "RemoveDomain", master.RemoveDomain(t.Context(), "acme.example"))
	if snap := l.snapshot(t, master); !reflect.DeepEqual(snap, stateSnapshot{}) {
		t.Fatalf("state after wipe: %+v", snap)
	}
}

// stateSnapshot is the directory as the list functions show it, without
// IDs, times and usage (which an import does not carry).
type stateSnapshot struct {
	Domains       []store.Domain
	DomainAliases []store.DomainAlias
	RelayDomains  []store.RelayDomain
	Mailboxes     []directory.Mailbox
	Aliases       []store.Alias
	Senders       []directory.SenderAddress
	Forwards      []directory.Forward
}

func (l *lifecycle) snapshot(t *testing.T, sc *directory.Scope) stateSnapshot {
	t.Helper()
	ctx := t.Context()
	var s stateSnapshot
	ds, err := sc.ListDomains(ctx)
	mustDo(t, "ListDomains", err)
	for _, d := range ds {
		s.Domains = append(s.Domains, store.Domain{Name: d.Name, SDRHost: d.SDRHost, SDRPort: d.SDRPort})
	}
	s.DomainAliases, err = sc.ListDomainAliases(ctx)
	mustDo(t, "ListDomainAliases", err)
	s.RelayDomains, err = sc.ListRelayDomains(ctx)
	mustDo(t, "ListRelayDomains", err)
	page, err := sc.ListMailboxes(ctx, directory.MailboxQuery{})
	mustDo(t, "ListMailboxes", err)
	for _, m := range page.Mailboxes {
		m.CreatedAt, m.UsedBytes = time.Time{}, 0
		s.Mailboxes = append(s.Mailboxes, m)
		ss, err := sc.ListSenders(ctx, m.Address)
		mustDo(t, "ListSenders", err)
		s.Senders = append(s.Senders, ss...)
		fs, err := sc.ListForwards(ctx, m.Address)
		mustDo(t, "ListForwards", err)
		s.Forwards = append(s.Forwards, fs...)
	}
	as, err := sc.ListAliases(ctx, "")
	mustDo(t, "ListAliases", err)
	for _, a := range as {
		s.Aliases = append(s.Aliases, store.Alias{Address: a.Address, Targets: a.Targets})
	}
	return s
}

func export(t *testing.T, sc *directory.Scope, f directory.Format) []byte {
	t.Helper()
	b, err := sc.Export(t.Context(), f, nil)
	mustDo(t, "Export "+string(f), err)
	return b
}

func doImport(t *testing.T, sc *directory.Scope, f directory.Format, data []byte, dry bool) directory.ImportReport {
	t.Helper()
	rep, err := sc.Import(t.Context(), f, bytes.NewReader(data), directory.ImportOptions{DryRun: dry})
	if err != nil {
		t.Fatalf("Import %s: %v; errors %+v", f, err, rep.Errors)
	}
	return rep
}

// TestExportWipeImport is the service half of the acceptance
// test 2: build, export, wipe, import, and the state is the same, by the
// list functions and byte for byte by a second export; then a file with
// one bad row among good ones changes nothing and names the line.
func TestExportWipeImport(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t)
	l.build(t)
	master := l.dir.As(access.CLI())
	bob := l.as(t, "bob")
	want := l.snapshot(t, master)
	if len(want.Mailboxes) != 3 || len(want.Aliases) != 2 || len(want.Senders) != 2 || len(want.Forwards) != 2 ||
		len(want.DomainAliases) != 1 || len(want.RelayDomains) != 1 || want.Domains[0].SDRHost == "" {
		t.Fatalf("built state is not what the test expects: %+v", want)
	}
	csvBob, jsonBob := export(t, bob, directory.FormatCSV), export(t, bob, directory.FormatJSON)
	csvMaster, jsonMaster := export(t, master, directory.FormatCSV), export(t, master, directory.FormatJSON)
	if !bytes.Equal(csvBob, csvMaster) || !bytes.Equal(jsonBob, jsonMaster) {
		t.Fatalf("bob's export differs from the master's although bob administers everything there:\n%s\n%s", csvBob, csvMaster)
	}
	t.Logf("CSV export:\n%s", csvBob)
	for _, s := range []string{`'=HYPERLINK`, "{ARGON2ID}$argon2id$v=19$", "{SCRAM-SHA-256}100000,", "kind,name,target,host,port,display_name,quota_bytes,enabled,keep_copy,password,password_hash,scram_sha256\r\n"} {
		if !bytes.Contains(csvBob, []byte(s)) {
			t.Errorf("CSV export lacks %q", s)
		}
	}

	for _, tc := range []struct {
		name   string
		format directory.Format
		data   []byte
		as     string // "" = master
	}{
		{"CSV as the DomainAdmin", directory.FormatCSV, csvBob, "bob"},
		{"JSON as the MasterAdmin", directory.FormatJSON, jsonMaster, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.wipe(t)
			sc := master
			if tc.as != "" {
				// Reloaded: the wipe took bob's domain away.
				sc = l.as(t, tc.as)
			}
			dry := doImport(t, sc, tc.format, tc.data, true)
			if got := l.snapshot(t, master); !reflect.DeepEqual(got, stateSnapshot{}) {
				t.Fatalf("dry run changed the state: %+v", got)
			}
			rep := doImport(t, sc, tc.format, tc.data, false)
			wantCounts := directory.ImportCounts{Domains: 1, DomainAliases: 1, RelayDomains: 1, Mailboxes: 3, Aliases: 2, SenderAddresses: 2, Forwards: 2}
			if rep.Created != wantCounts || dry.Created != wantCounts || rep.Rows != 12 || len(rep.Errors) != 0 {
				t.Fatalf("report %+v, dry run %+v; want %+v of 12 rows", rep, dry, wantCounts)
			}
			if got := l.snapshot(t, master); !reflect.DeepEqual(got, want) {
				t.Fatalf("state after import differs:\n got %+v\nwant %+v", got, want)
			}
			if tc.as == "" {
				// Admins and their domains are not part of an export: the
				// MasterAdmin gives bob its domain back.
				_, err := master.UpdateAdmin(ctx, "bob", directory.AdminUpdate{Domains: &[]string{"acme.example"}})
				mustDo(t, "UpdateAdmin", err)
			}
			bobNow := l.as(t, "bob")
			if got := export(t, bobNow, directory.FormatCSV); !bytes.Equal(got, csvBob) {
				t.Fatalf("CSV export after import differs:\n%s\nwant\n%s", got, csvBob)
			}
			if got := export(t, master, directory.FormatJSON); !bytes.Equal(got, jsonMaster) {
				t.Fatalf("JSON export after import differs:\n%s\nwant\n%s", got, jsonMaster)
			}
			// Passwords survived: the hashes and SCRAM credentials were
			// carried, not reset (SCRAM first: a PLAIN login would make a
			// missing credential).
			auth := &authCheck{st: l.st}
			if _, err := auth.scramLogin(ctx, "ben@acme.example", mbPW); err != nil {
				t.Fatalf("SCRAM login after import: %v", err)
			}
			if _, err := auth.login(ctx, "ann@acme.example", mbPW); err != nil {
				t.Fatalf("login after import: %v", err)
			}
			// The DomainAdmin administers its imported domain again, and
			// its limits hold: the mailbox limit is reached.
			if _, err := bobNow.AddMailbox(ctx, directory.NewUser{Address: "dan@acme.example", Password: mbPW, QuotaBytes: quotaMiB}); !errors.Is(err, directory.ErrLimitExceeded) {
				t.Fatalf("fourth mailbox after import: %v, want ErrLimitExceeded", err)
			}
			// One audit entry per domain touched, readable by bob.
			es, err := bobNow.ListAudit(ctx, directory.AuditQuery{})
			mustDo(t, "ListAudit", err)
			var imports []string // newest first
			actor := tc.as
			if actor == "" {
				actor = access.CLILogin
			}
			for _, e := range es {
				if e.Action == "import" {
					imports = append(imports, e.Actor+" "+e.Domain)
					if bytes.Contains(e.After, []byte("argon2")) {
						t.Errorf("audit entry holds a password hash: %s", e.After)
					}
				}
			}
			if len(imports) < 2 {
				t.Fatalf("import audit entries: %v", imports)
			}
			last := imports[:2]
			slices.Sort(last)
			if !slices.Equal(last, []string{actor + " acme.example", actor + " branch.acme.example"}) {
				t.Errorf("audit entries of this import: %v", last)
			}
		})
	}

	t.Run("one bad row among good ones", func(t *testing.T) {
		before := export(t, master, directory.FormatCSV)
		beforeSnap := l.snapshot(t, master)
		file := "kind,name,target,quota_bytes,password\n" +
			"domain,new.example,,,\n" +
			"mailbox,neo@new.example,,1000,a good password 1\n" +
			"alias,team@new.example,neo@new.example,,\n" +
			"alias,lost@nowhere.example,neo@new.example,,\n" + // line 5: unknown domain
			"forward,neo@new.example,neo@elsewhere.example,,\n"
		rep, err := master.Import(ctx, directory.FormatCSV, strings.NewReader(file), directory.ImportOptions{})
		if !errors.Is(err, directory.ErrImportRejected) {
			t.Fatalf("Import = %v, want ErrImportRejected", err)
		}
		if len(rep.Errors) != 1 || rep.Errors[0].Line != 5 || rep.Errors[0].Kind != directory.KindAlias ||
			rep.Errors[0].Name != "lost@nowhere.example" || !strings.Contains(rep.Errors[0].Message, "nowhere.example does not exist") {
			t.Fatalf("errors = %+v, want one for line 5", rep.Errors)
		}
		if rep.Rows != 5 || rep.Created != (directory.ImportCounts{}) {
			t.Fatalf("report = %+v", rep)
		}
		if got := export(t, master, directory.FormatCSV); !bytes.Equal(got, before) {
			t.Fatalf("a rejected import changed the directory:\n%s", got)
		}
		if got := l.snapshot(t, master); !reflect.DeepEqual(got, beforeSnap) {
			t.Fatal("a rejected import changed the lists")
		}
	})
}

// TestImportRowErrors: each kind of bad row is reported on its line with
// a message that says what is wrong, in CSV and in JSON, and nothing is
// created.
func TestImportRowErrors(t *testing.T) {
	const header = "kind,name,target,host,port,display_name,quota_bytes,enabled,keep_copy,password,password_hash\n"
	good := "domain,ok.example,,,,,,,,,\nmailbox,ok@ok.example,,,,,,,,a fine password,\n"
	cases := []struct {
		name, row, want string
	}{
		{"bad address", "mailbox,not an address,,,,,,,,a fine password,", "invalid address"},
		{"mailbox of unknown domain", "mailbox,x@unknown.example,,,,,,,,a fine password,", "unknown.example does not exist"},
		{"mailbox of a domain alias", "mailbox,x@a-alias.example,,,,,,,,a fine password,", "is an alias of a.example"},
		{"existing mailbox", "mailbox,amy@a.example,,,,,,,,a fine password,", "already exists"},
		{"mailbox that is an alias", "mailbox,team@a.example,,,,,,,,a fine password,", "already exists as an alias"},
		{"duplicate in file", "mailbox,ok@ok.example,,,,,,,,a fine password,", "already in line 3"},
		{"weak password", "mailbox,w@ok.example,,,,,,,,password,", "most common passwords"},
		{"no password", "mailbox,w@ok.example,,,,,,,,,", "needs a password"},
		{"both passwords", "mailbox,w@ok.example,,,,,,,,a fine password,{PLAIN}x", "either password or password_hash"},
		{"unknown hash scheme", "mailbox,w@ok.example,,,,,,,,,{MD5-CRYPT}$1$x$y", "unsupported"},
		{"negative quota", "mailbox,w@ok.example,,,,,-5,,,a fine password,", "negative"},
		{"quota not a number", "mailbox,w@ok.example,,,,,lots,,,a fine password,", "not a whole number"},
		{"enabled not a boolean", "mailbox,w@ok.example,,,,,,maybe,,a fine password,", "not true or false"},
		{"column of another kind", "alias,al@ok.example,ok@ok.example,,,,,,,a fine password,", "column password does not apply to alias rows"},
		{"unknown kind", "user,u@ok.example,,,,,,,,,", `unknown kind "user"`},
		{"too many cells", "domain,z.example,,,,,,,,,,surplus", "header has 11 columns"},
		{"alias without targets", "alias,al@ok.example,,,,,,,,,", "at least one target"},
		{"alias to itself", "alias,al@ok.example,al@ok.example,,,,,,,,", "points to itself"},
		{"alias over a file mailbox", "alias,ok@ok.example,x@ext.example,,,,,,,,", "is a mailbox in line 3"},
		{"existing domain", "domain,a.example,,,,,,,,,", "already exists as a hosted domain"},
		{"domain named like a relay", "domain,r.a.example,,,,,,,,,", "already exists as a relay domain"},
		{"sdr port without host", "domain,p.example,,,2525,,,,,,", "without a host"},
		{"sdr bad host", "domain,p.example,,bad_host!,25,,,,,,", "invalid destination"},
		{"domain alias of unknown domain", "domain_alias,da.example,nowhere.example,,,,,,,,", "nowhere.example does not exist"},
		{"domain alias named like a file domain", "domain_alias,ok.example,a.example,,,,,,,,", "already a domain in line 2"},
		{"relay recipient outside", "relay_domain,rel.example,x@other.example,mx.example,25,,,,,,", "not in rel.example"},
		{"relay port out of range", "relay_domain,rel.example,,mx.example,70000,,,,,,", "between 1 and 65535"},
		{"sender of unknown mailbox", "sender_address,nobody@a.example,s2@a.example,,,,,,,,", "nobody@a.example does not exist"},
		{"existing sender", "sender_address,amy@a.example,s@a.example,,,,,,,,", "may already send as"},
		{"existing forward", "forward,amy@a.example,fw@ext.example,,,,,,,,", "already forwards"},
		{"forward to itself", "forward,ok@ok.example,ok@ok.example,,,,,,,,", "points to itself"},
		{"keep_copy not a boolean", "forward,ok@ok.example,x@ext.example,,,,,,perhaps,,", "not true or false"},
		{"csv quoting", `alias,"al@ok.example,x@ext.example`, "CSV syntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newScopeFixture(t)
			master := f.as(t, "admin")
			before := export(t, master, directory.FormatJSON)
			file := header + good + tc.row + "\n"
			rep, err := master.Import(t.Context(), directory.FormatCSV, strings.NewReader(file), directory.ImportOptions{})
			if !errors.Is(err, directory.ErrImportRejected) {
				t.Fatalf("Import = %v (report %+v), want ErrImportRejected", err, rep)
			}
			if len(rep.Errors) != 1 || rep.Errors[0].Line != 4 || !strings.Contains(rep.Errors[0].Message, tc.want) {
				t.Fatalf("errors = %+v, want one on line 4 containing %q", rep.Errors, tc.want)
			}
			if got := export(t, master, directory.FormatJSON); !bytes.Equal(got, before) {
				t.Fatal("a rejected import changed the directory")
			}
		})
	}
}

// TestImportJSONLines: JSON rows are reported on the line their object
// starts on; unknown fields are row errors, unknown keys file errors.
func TestImportJSONLines(t *testing.T) {
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	doc := `{
  "version": 1,
  "domains": [
    {"name": "j.example"},
    {"name": "a.example"}
  ],
  "mailboxes": [
    {"address": "x@j.example", "password": "a fine password"},
    {
      "address": "y@j.example",
      "password": "a fine password",
      "colour": "blue"
    }
  ],
  "aliases": [{"address": "al@j.example", "targets": ["x@j.example"]}, {"address": "a2@j.example", "targets": []}]
}
`
	rep, err := master.Import(t.Context(), directory.FormatJSON, strings.NewReader(doc), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrImportRejected) {
		t.Fatalf("Import = %v", err)
	}
	var got []string
	for _, e := range rep.Errors {
		got = append(got, fmt.Sprintf("%d %s", e.Line, e.Kind))
	}
	if want := []string{"5 domain", "9 mailbox", "15 alias"}; !slices.Equal(got, want) {
		t.Fatalf("errors %+v; want lines %v", rep.Errors, want)
	}
	if !strings.Contains(rep.Errors[1].Message, `unknown field "colour"`) {
		t.Errorf("unknown field message: %q", rep.Errors[1].Message)
	}
	for _, bad := range []string{`[]`, `{"users": []}`, `{"version": 2}`, `{"domains": [}`, `{"domains": []} x`, `{"domains": {}}`} {
		if _, err := master.Import(t.Context(), directory.FormatJSON, strings.NewReader(bad), directory.ImportOptions{}); !errors.Is(err, directory.ErrInvalidImport) {
			t.Errorf("Import(%s) = %v, want ErrInvalidImport", bad, err)
		}
	}
}

// TestImportPermissionsAndLimits: a DomainAdmin's import is checked row by
// row as if each object were created in turn.
func TestImportPermissionsAndLimits(t *testing.T) {
	ctx := t.Context()
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	_, err := master.UpdateAdmin(ctx, "bob", directory.AdminUpdate{Limits: &directory.Limits{MaxDomains: 2, MaxMailboxes: 3, MaxAliases: 4}})
	mustDo(t, "UpdateAdmin", err)
	bob := f.as(t, "bob") // a.example: 2 mailboxes, 1 alias, 2 sender addresses; 1 domain
	file := "kind,name,target,host,password\n" +
		"mailbox,m1@a.example,,,a fine password\n" + // 3rd mailbox: fine
		"mailbox,m2@a.example,,,a fine password\n" + // 4th: over the limit
		"mailbox,x@b.example,,,a fine password\n" + // carl's domain
		"domain,bobs.example,,,\n" + // 2nd domain: fine, and bob's from now on
		"mailbox,m3@bobs.example,,,a fine password\n" + // 5th mailbox: over
		"alias,al@bobs.example,m1@a.example,,\n" + // 4th alias or sender: fine
		"alias,a2@bobs.example,m1@a.example,,\n" + // 5th: over
		"relay_domain,r2.bobs.example,,mx.example,\n" + // below a domain of the file: fine (port 25)
		"relay_domain,other.example,,mx.example,\n" + // not below bob's domains
		"sender_address,amy@a.example,amy@b.example,,\n" + // outside bob's domains
		"domain,third.example,,,\n" // 3rd domain: over
	rep, err := bob.Import(ctx, directory.FormatCSV, strings.NewReader(file), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrImportRejected) {
		t.Fatalf("Import = %v", err)
	}
	want := map[int]string{3: "limit reached", 4: "permission denied", 6: "limit reached", 8: "limit reached", 10: "permission denied", 11: "outside its domains", 12: "limit reached"}
	if len(rep.Errors) != len(want) {
		t.Fatalf("errors %+v; want lines %v", rep.Errors, want)
	}
	for _, e := range rep.Errors {
		if !strings.Contains(e.Message, want[e.Line]) {
			t.Errorf("line %d: %q, want %q", e.Line, e.Message, want[e.Line])
		}
	}
	if ds, _ := bob.ListDomains(ctx); len(ds) != 1 {
		t.Fatalf("bob has %d domains after a rejected import", len(ds))
	}

	// MailUsers may neither export nor import.
	amy := f.as(t, "amy@a.example")
	if _, err := amy.Export(ctx, directory.FormatCSV, nil); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("MailUser Export: %v", err)
	}
	if _, err := amy.Import(ctx, directory.FormatCSV, strings.NewReader("kind,name\n"), directory.ImportOptions{}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("MailUser Import: %v", err)
	}

	// A DomainAdmin exports only its domains.
	csv := export(t, bob, directory.FormatCSV)
	if bytes.Contains(csv, []byte("b.example")) || !bytes.Contains(csv, []byte("amy@a.example")) || !bytes.Contains(csv, []byte("r.a.example")) {
		t.Errorf("bob's export:\n%s", csv)
	}
}

// TestImportPreHashed: mailboxes moved from a Dovecot-based server keep
// their passwords; the first login replaces the hash with argon2id.
func TestImportPreHashed(t *testing.T) {
	ctx := t.Context()
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt user pw"), bcrypt.MinCost)
	mustDo(t, "bcrypt", err)
	bcy := "$2y$" + string(bc[4:]) // as Dovecot writes it
	// glibc crypt(3) of "Hello world!" with salt "saltstring".
	const sha = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	// A semicolon-separated file with a byte order mark, as a
	// spreadsheet in a decimal-comma locale saves it.
	file := "\xef\xbb\xbfkind;name;password_hash;display_name\r\n" +
		"mailbox;bc@a.example;{BLF-CRYPT}" + bcy + ";Blow Fish\r\n" +
		"mailbox;sha@a.example;{SHA512-CRYPT}" + sha + ";\r\n" +
		"# a comment line\r\n" +
		"mailbox;argon@a.example;{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;\r\n"
	rep := doImport(t, master, directory.FormatCSV, []byte(file), false)
	if rep.Created.Mailboxes != 3 || rep.Rows != 3 {
		t.Fatalf("report %+v", rep)
	}
	auth := &authCheck{st: f.st}
	for _, c := range []struct{ addr, pw, scheme string }{
		{"bc@a.example", "bcrypt user pw", "{BLF-CRYPT}"},
		{"sha@a.example", "Hello world!", "{SHA512-CRYPT}"},
	} {
		a, err := f.st.GetAccountByAddress(ctx, c.addr)
		mustDo(t, "GetAccountByAddress", err)
		if !strings.HasPrefix(a.PasswordHash, c.scheme) {
			t.Fatalf("%s stored as %q", c.addr, a.PasswordHash)
		}
		if _, err := auth.login(ctx, c.addr, c.pw+"x"); err == nil {
			t.Fatalf("%s: wrong password accepted", c.addr)
		}
		if _, err := auth.login(ctx, c.addr, c.pw); err != nil {
			t.Fatalf("%s: login with the imported hash: %v", c.addr, err)
		}
		a, err = f.st.GetAccountByAddress(ctx, c.addr)
		mustDo(t, "GetAccountByAddress", err)
		if !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
			t.Fatalf("%s not rehashed after login: %q", c.addr, a.PasswordHash)
		}
		if _, err := auth.login(ctx, c.addr, c.pw); err != nil {
			t.Fatalf("%s: login after the rehash: %v", c.addr, err)
		}
	}
	mb, err := master.GetMailbox(ctx, "bc@a.example")
	mustDo(t, "GetMailbox", err)
	if mb.DisplayName != "Blow Fish" || !mb.Enabled || mb.QuotaBytes != 0 {
		t.Errorf("bc@a.example = %+v", mb)
	}
	// A plaintext password is hashed with argon2id.
	doImport(t, master, directory.FormatCSV, []byte("kind,name,password\nmailbox,plain@a.example, spaces kept \n"), false)
	if _, err := auth.login(ctx, "plain@a.example", " spaces kept "); err != nil {
		t.Fatalf("plaintext-imported login: %v", err)
	}
}

func TestParseKinds(t *testing.T) {
	got, err := directory.ParseKinds("mailboxes, domain ,FORWARD")
	if err != nil || !slices.Equal(got, []directory.Kind{directory.KindDomain, directory.KindMailbox, directory.KindForward}) {
		t.Fatalf("ParseKinds = %v, %v", got, err)
	}
	if all, err := directory.ParseKinds(""); err != nil || !slices.Equal(all, directory.AllKinds) {
		t.Fatalf("ParseKinds(\"\") = %v, %v", all, err)
	}
	if _, err := directory.ParseKinds("users"); !errors.Is(err, directory.ErrInvalidKind) {
		t.Fatalf("ParseKinds(users) = %v", err)
	}
	f := newScopeFixture(t)
	master := f.as(t, "admin")
	b, err := master.Export(t.Context(), directory.FormatCSV, []directory.Kind{directory.KindDomainAlias})
	mustDo(t, "Export domain aliases", err)
	want := "kind,name,target,host,port,display_name,quota_bytes,enabled,keep_copy,password,password_hash,scram_sha256\r\n" +
		"domain_alias,a-alias.example,a.example,,,,,,,,,\r\n" +
		"domain_alias,b-alias.example,b.example,,,,,,,,,\r\n"
	if string(b) != want {
		t.Fatalf("export of domain aliases:\n%q\nwant\n%q", b, want)
	}
	if _, err := master.Export(t.Context(), "xml", nil); !errors.Is(err, directory.ErrInvalidFormat) {
		t.Fatalf("Export(xml) = %v", err)
	}
}

func TestImportSubaddressSeparator(t *testing.T) {
	l := newLifecycle(t) // "+" separates subaddresses
	rep, err := l.dir.As(access.CLI()).Import(t.Context(), directory.FormatCSV,
		strings.NewReader("kind,name,password\ndomain,s.example,\nmailbox,w+x@s.example,a fine password\n"), directory.ImportOptions{})
	if !errors.Is(err, directory.ErrImportRejected) || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 ||
		!strings.Contains(rep.Errors[0].Message, "subaddress separator") {
		t.Fatalf("Import = %v, %+v", err, rep.Errors)
	}
}
