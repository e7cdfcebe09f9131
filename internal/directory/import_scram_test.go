package directory_test

import (
	"errors"
	"strings"
	"testing"

	"mailport/internal/auth"
	"mailport/internal/directory"
)

// TestImportSCRAM: a mailbox imported with password_hash and scram_sha256
// (Dovecot's {SCRAM-SHA-256} form, as an export writes it) logs in with
// SCRAM at once; a malformed credential, or one given with a plaintext
// password, is an error of its row naming the column.
func TestImportSCRAM(t *testing.T) {
	ctx := t.Context()
	const pw = "scram import pw 7"
	hash, err := auth.HashPassword(pw)
	mustDo(t, "HashPassword", err)
	hash, err = auth.ExportHash(hash)
	mustDo(t, "ExportHash", err)
	cred, err := auth.NewSCRAMSHA256(pw)
	mustDo(t, "NewSCRAMSHA256", err)
	plainHash, plainCred := hash, cred

	// Both hold commas, so CSV quotes them (RFC 4180 section 2). The
	// scheme name is read in any case, as Dovecot's is.
	hash, cred = `"`+hash+`"`, `"`+cred+`"`
	lower := `"{scram-sha-256}` + strings.TrimPrefix(cred, `"{SCRAM-SHA-256}`)

	f := newScopeFixture(t)
	master := f.as(t, "admin")
	file := "kind,name,password_hash,scram_sha256\n" +
		"mailbox,csv@a.example," + hash + "," + lower + "\n"
	if rep := doImport(t, master, directory.FormatCSV, []byte(file), false); rep.Created.Mailboxes != 1 {
		t.Fatalf("CSV report %+v", rep)
	}
	doc := `{"mailboxes": [{"address": "json@a.example", "password_hash": "` + plainHash + `", "scram_sha256": "` + plainCred + `"}]}`
	if rep := doImport(t, master, directory.FormatJSON, []byte(doc), false); rep.Created.Mailboxes != 1 {
		t.Fatalf("JSON report %+v", rep)
	}
	check := &authCheck{st: f.st}
	for _, addr := range []string{"csv@a.example", "json@a.example"} {
		a, err := f.st.GetAccountByAddress(ctx, addr)
		mustDo(t, "GetAccountByAddress", err)
		if a.SCRAMSHA256 != plainCred {
			t.Fatalf("%s stored credential %q, want %q", addr, a.SCRAMSHA256, plainCred)
		}
		if _, err := check.scramLogin(ctx, addr, pw+"x"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("%s: wrong password over SCRAM: %v", addr, err)
		}
		if _, err := check.scramLogin(ctx, addr, pw); err != nil {
			t.Fatalf("%s: SCRAM login with the imported credential: %v", addr, err)
		}
	}
	// The export carries the credential as it is stored.
	out := export(t, master, directory.FormatCSV)
	if !strings.Contains(string(out), ","+cred+"\r\n") {
		t.Fatalf("export lacks the SCRAM credential:\n%s", out)
	}

	for _, tc := range []struct{ name, row, want string }{
		{"malformed", "mailbox,bad@a.example,," + hash + `,"{SCRAM-SHA-256}4096,AAAA"`, "scram_sha256: "},
		{"too few iterations", "mailbox,bad@a.example,," + hash + "," + strings.Replace(cred, "}100000,", "}1000,", 1), "scram_sha256: "},
		{"with a plaintext password", "mailbox,bad@a.example,a fine password,," + cred, "scram_sha256 goes with password_hash"},
		{"without a password", "mailbox,bad@a.example,,," + cred, "needs a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := "kind,name,password,password_hash,scram_sha256\n" + tc.row + "\n"
			rep, err := master.Import(ctx, directory.FormatCSV, strings.NewReader(file), directory.ImportOptions{})
			if !errors.Is(err, directory.ErrImportRejected) {
				t.Fatalf("Import = %v (report %+v), want ErrImportRejected", err, rep)
			}
			if len(rep.Errors) != 1 || rep.Errors[0].Line != 2 || !strings.Contains(rep.Errors[0].Message, tc.want) {
				t.Fatalf("errors = %+v, want one on line 2 containing %q", rep.Errors, tc.want)
			}
		})
	}
}
