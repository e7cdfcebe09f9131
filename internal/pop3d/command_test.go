package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct {
		line    string
		cmd     string
		args    []string
		wantErr error
	}{
		{"STAT", "STAT", nil, nil},
		{"stat", "STAT", nil, nil},
		{"LIST 1", "LIST", []string{"1"}, nil},
		{"TOP 1 10", "TOP", []string{"1", "10"}, nil},
		{"TOP  1   10  ", "TOP", []string{"1", "10"}, nil},
		{"UIDL ", "UIDL", nil, nil},
		{"USER alice@example.org", "USER", []string{"alice@example.org"}, nil},
		{"USER jöran@example.org", "USER", []string{"jöran@example.org"}, nil},
		{"PASS secret with  spaces ", "PASS", []string{"secret with  spaces "}, nil},
		{"pass x", "PASS", []string{"x"}, nil},
		{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH", []string{"PLAIN", "AGFsaWNlAHNlY3JldA=="}, nil},
		{"X-FOO-BAR", "X-FOO-BAR", nil, nil},
		{"", "", nil, errEmptyCommand},
		{"   ", "", nil, errEmptyCommand},
		{" STAT", "", nil, errBadKeyword},
		{"ST@T", "", nil, errBadKeyword},
		{"TOP 1 2 3", "", nil, errTooManyArgs},
		{"PASS", "", nil, errEmptyPassArg},
		{"PASS ", "", nil, errEmptyPassArg},
		{"LIST\t1", "", nil, errBadCharacter},
		{"USER a\x00b", "", nil, errBadCharacter},
		{"PASS a\x7fb", "", nil, errBadCharacter},
		{strings.Repeat("A", 17), "", nil, errKeywordTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			cmd, args, err := parseCommand(tc.line)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("parseCommand(%q) err = %v; want %v", tc.line, err, tc.wantErr)
			}
			if cmd != tc.cmd || !slices.Equal(args, tc.args) {
				t.Fatalf("parseCommand(%q) = %q, %q; want %q, %q", tc.line, cmd, args, tc.cmd, tc.args)
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "TOP 1 2", "PASS a b c", "AUTH PLAIN =", "", " ", "LIST\t1", "x y z w", "USER \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, args, err := parseCommand(line)
		if err != nil {
			if cmd != "" || args != nil {
				t.Fatalf("error %v with results %q %q", err, cmd, args)
			}
			return
		}
		if cmd == "" || len(cmd) > maxKeywordLength || cmd != strings.ToUpper(cmd) {
			t.Fatalf("bad keyword %q from %q", cmd, line)
		}
		if len(args) > maxArgs {
			t.Fatalf("%d args from %q", len(args), line)
		}
		for _, a := range args {
			if a == "" && cmd != "PASS" {
				t.Fatalf("empty argument from %q", line)
			}
			if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("control character in argument %q", a)
			}
			if cmd != "PASS" && strings.Contains(a, " ") {
				t.Fatalf("space in argument %q", a)
			}
		}
	})
}

// dotStuff runs content through a dotWriter in chunks of the given size.
func dotStuff(t *testing.T, content string, bodyLines, chunk int) string {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	d := newDotWriter(w, bodyLines)
	for i := 0; i < len(content); i += chunk {
		end := min(i+chunk, len(content))
		n, err := d.Write([]byte(content[i:end]))
		if errors.Is(err, errTopDone) {
			break
		}
		if err != nil || n != end-i {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := d.finish(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestDotWriter(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		bodyLines int
		want      string
	}{
		{"crlf", "A: b\r\n\r\nbody\r\n", -1, "A: b\r\n\r\nbody\r\n.\r\n"},
		{"bare lf", "A: b\n\nbody\n", -1, "A: b\r\n\r\nbody\r\n.\r\n"},
		{"no final newline", "A: b\r\n\r\nbody", -1, "A: b\r\n\r\nbody\r\n.\r\n"},
		{"final cr only", "A: b\r\n\r\nbody\r", -1, "A: b\r\n\r\nbody\r\n.\r\n"},
		{"dots", ".\r\n..\r\n.x\nx.\r\n", -1, "..\r\n...\r\n..x\r\nx.\r\n.\r\n"},
		{"empty", "", -1, ".\r\n"},
		{"bare cr inside line", "a\rb\r\n", -1, "a\rb\r\n.\r\n"},
		{"top 0", "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\n", 0, "A: b\r\nC: d\r\n\r\n.\r\n"},
		{"top 1", "A: b\r\n\r\nl1\r\n.l2\r\nl3\r\n", 1, "A: b\r\n\r\nl1\r\n.\r\n"},
		{"top 2 stuffs", "A: b\n\nl1\n.l2\nl3\n", 2, "A: b\r\n\r\nl1\r\n..l2\r\n.\r\n"},
		{"top beyond end", "A: b\r\n\r\nl1", 5, "A: b\r\n\r\nl1\r\n.\r\n"},
		{"top no body", "A: b\r\nC: d", 0, "A: b\r\nC: d\r\n.\r\n"},
		{"top empty body lines count", "A: b\r\n\r\n\r\n\r\nx\r\n", 2, "A: b\r\n\r\n\r\n\r\n.\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Chunk boundaries must not matter (the blob is copied in
			// pieces of whatever size io.Copy uses).
			for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
				if got := dotStuff(t, tc.in, tc.bodyLines, chunk); got != tc.want {
					t.Fatalf("chunk %d: got %q; want %q", chunk, got, tc.want)
				}
			}
		})
	}
}
