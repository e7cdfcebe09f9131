package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seedDirectory fills a data directory with one object of every kind.
func seedDirectory(t *testing.T, d string) {
	t.Helper()
	ok(t, mp(t, "", "domain", "add", "example.test", "--data", d))
	ok(t, mp(t, "", "domain-alias", "add", "alias.test", "example.test", "--data", d))
	ok(t, mp(t, "", "relay-domain", "add", "branch.test", "--to", "10.0.0.2:25", "--data", d))
	ok(t, mp(t, "a-strong-password-1\n", "user", "add", "alice@example.test", "--password-stdin", "--name", "Alice", "--data", d))
	ok(t, mp(t, "", "alias", "add", "info@example.test", "alice@example.test", "--data", d))
	ok(t, mp(t, "", "sender", "add", "alice@example.test", "sales@example.test", "--data", d))
	ok(t, mp(t, "", "forward", "add", "alice@example.test", "alice@elsewhere.test", "--data", d))
}

// TestExportImportRoundTrip exports a directory with every kind of object
// and imports it into a fresh one: the second export equals the first,
// byte for byte, in both formats.
func TestExportImportRoundTrip(t *testing.T) {
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			src := newDataDir(t)
			seedDirectory(t, src)
			file := filepath.Join(t.TempDir(), "export."+format)
			ok(t, mp(t, "", "export", "--format", format, "--out", file, "--data", src))
			exported, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"example.test", "alias.test", "branch.test", "alice@example.test", "info@example.test", "sales@example.test", "alice@elsewhere.test", "{ARGON2ID}"} {
				if !strings.Contains(string(exported), want) {
					t.Errorf("export lacks %q:\n%s", want, exported)
				}
			}
			if format == "json" && !json.Valid(exported) {
				t.Fatalf("JSON export is not valid JSON:\n%s", exported)
			}
			// Without --out the same bytes go to standard output.
			if r := ok(t, mp(t, "", "export", "--format", format, "--data", src)); r.stdout != string(exported) {
				t.Errorf("export to stdout differs from --out:\n%s\nwant\n%s", r.stdout, exported)
			}

			dst := newDataDir(t)
			r := ok(t, mp(t, string(exported), "import", "--format", format, "--dry-run", "-", "--data", dst))
			if !strings.Contains(r.stdout, "would import (dry run)") || !strings.Contains(r.stdout, "1 mailboxes") {
				t.Errorf("dry run report: %q", r.stdout)
			}
			if r := ok(t, mp(t, "", "export", "--format", format, "--data", dst)); strings.Contains(r.stdout, "alice@example.test") {
				t.Fatalf("dry run changed the directory:\n%s", r.stdout)
			}
			r = ok(t, mp(t, "", "import", "--format", format, file, "--data", dst))
			if !strings.Contains(r.stdout, "7 rows imported: 1 domains, 1 domain aliases, 1 relay domains, 1 mailboxes, 1 aliases, 1 sender addresses, 1 forwards") {
				t.Errorf("import report: %q", r.stdout)
			}
			if r := ok(t, mp(t, "", "export", "--format", format, "--data", dst)); r.stdout != string(exported) {
				t.Errorf("re-export differs:\n%s\nwant\n%s", r.stdout, exported)
			}
			// Importing the same file again creates nothing: every row exists.
			if r := mp(t, "", "import", "--format", format, file, "--data", dst); r.code != exitFail || !strings.Contains(r.stdout, "nothing imported") {
				t.Errorf("second import: exit %d stdout %q", r.code, r.stdout)
			}
		})
	}
}

// TestImportBadRow feeds an export with one broken row: the report names
// its line, the exit status is 1 and nothing of the good rows is created.
func TestImportBadRow(t *testing.T) {
	src := newDataDir(t)
	seedDirectory(t, src)
	exported := ok(t, mp(t, "", "export", "--format", "csv", "--data", src)).stdout
	lines := strings.Split(strings.TrimSuffix(exported, "\n"), "\n")
	badLine := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "alias,info@example.test") {
			lines[i] = strings.Replace(l, "info@example.test", "not an address", 1)
			badLine = i + 1
		}
	}
	if badLine == 0 {
		t.Fatalf("no alias row in the export:\n%s", exported)
	}
	file := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	dst := newDataDir(t)
	before := ok(t, mp(t, "", "export", "--format", "csv", "--data", dst)).stdout
	r := mp(t, "", "import", "--format", "csv", file, "--data", dst)
	if r.code != exitFail {
		t.Fatalf("import of a bad file: exit %d, want %d; stdout %q stderr %q", r.code, exitFail, r.stdout, r.stderr)
	}
	wantLine := "line " + strconv.Itoa(badLine) + ": alias"
	if !strings.Contains(r.stdout, wantLine) || !strings.Contains(r.stdout, "1 rejected; nothing imported") {
		t.Errorf("report lacks %q:\n%s", wantLine, r.stdout)
	}
	if strings.Count(r.stdout, "line ") != 1 {
		t.Errorf("report names other lines than the bad one:\n%s", r.stdout)
	}
	if after := ok(t, mp(t, "", "export", "--format", "csv", "--data", dst)).stdout; after != before {
		t.Errorf("a rejected import changed the directory:\n%s\nwas\n%s", after, before)
	}
}

func TestTransferUsageErrors(t *testing.T) {
	d := newDataDir(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"export bad format", []string{"export", "--format", "xml"}, "not csv or json"},
		{"export bad kind", []string{"export", "--kinds", "users"}, "--kinds"},
		{"export positional", []string{"export", "extra"}, "usage: mailport export"},
		{"import no file", []string{"import", "--format", "csv"}, "usage: mailport import"},
		{"import bad format", []string{"import", "--format", "yaml", "x"}, "not csv or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mp(t, "", append(tc.args, "--data", d)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, exitUsage, tc.want)
			}
		})
	}
	if r := mp(t, "", "import", "--format", "csv", filepath.Join(t.TempDir(), "missing.csv"), "--data", d); r.code != exitFail || !strings.Contains(r.stderr, "open import file") {
		t.Errorf("missing file: exit %d stderr %q", r.code, r.stderr)
	}
}
