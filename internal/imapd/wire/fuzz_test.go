package wire

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadCommand feeds arbitrary bytes to the command reader as a session
// would: it must never panic, must stop on fatal errors, and must stay
// within its limits (the limits are set small so the fuzzer reaches them).
func FuzzReadCommand(f *testing.F) {
	seeds := []string{
		"a1 CAPABILITY\r\n",
		"a LOGIN {3+}\r\njoe {6}\r\nsecret\r\n",
		"A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500 15000,22500)))\r\n",
		"A01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"Other/*\") RETURN (CHILDREN STATUS (MESSAGES))\r\n",
		"s UID SEARCH RETURN (MIN SAVE) CHARSET UTF-8 OR (SEEN 1:5) NOT (UID $) HEADER X y MODSEQ \"/flags/\\\\seen\" all 5\r\n",
		"f UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (DATE)]<0.10> BINARY[2] BINARY.SIZE[1]) (CHANGEDSINCE 1 VANISHED)\r\n",
		"s STORE 1 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Seen)\r\n",
		"A003 APPEND saved (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello ~{3+}\r\na\x00b\r\n",
		"s UID SORT (REVERSE DATE) UTF-8 ALL\r\nt THREAD REFERENCES UTF-8 ALL\r\n",
		"i ID (\"name\" NIL)\r\nz COMPRESS DEFLATE\r\nq SETQUOTA \"\" (STORAGE 5)\r\n",
		"c CREATE &ZeVnLIqe- (USE (\\Drafts))\r\n",
		"a FROB {3+}\r\nabc\r\nb NOOP\r\n",
		"a APPEND INBOX {4294967296}\r\n",
		"a SEARCH " + strings.Repeat("(", 50) + "\r\n",
		"\r\n\n garbage \x00\xff\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64))
		r.MaxLineLength = 512
		r.MaxStringLiteral = 256
		r.MaxLiteralSize = 4096
		r.MaxCommandSize = 2048
		r.MaxNesting = 8
		r.LiteralMinus = len(data)%2 == 0
		r.Continue = func() error { return nil }
		for range 1000 {
			cmd, err := r.ReadCommand()
			if err != nil {
				pe, ok := AsParseError(err)
				if !ok || pe.Fatal {
					return
				}
				if pe.Status != "BAD" && pe.Status != "NO" {
					t.Fatalf("status %q", pe.Status)
				}
				continue
			}
			if cmd.Tag == "" || cmd.Name != strings.ToUpper(cmd.Name) {
				t.Fatalf("bad command %+v", cmd)
			}
			if a, ok := cmd.Args.(*AppendArgs); ok {
				m := a.Message
				for m != nil {
					n, err := io.Copy(io.Discard, m.Body)
					if err != nil {
						return
					}
					if n != m.Size || m.Size > r.MaxLiteralSize {
						t.Fatalf("append body %d bytes, announced %d", n, m.Size)
					}
					if m, err = r.NextAppendMessage(); err != nil {
						break
					}
				}
			}
		}
	})
}

// FuzzLiteral checks the literal reader against its contract: an
// announced literal within the limit yields exactly its bytes; one above
// is refused before any of its bytes are read (the input holds only the
// announcement then), as NO for APPEND and BAD elsewhere.
func FuzzLiteral(f *testing.F) {
	f.Add(int64(5), false, true, []byte("hello"))
	f.Add(int64(5), true, false, []byte("hel\x00o"))
	f.Add(int64(0), false, false, []byte(""))
	f.Add(int64(4097), true, true, bytes.Repeat([]byte("x"), 4097))
	f.Add(int64(1<<40), false, true, []byte("x"))
	f.Add(int64(-1), true, true, []byte("x"))
	f.Fuzz(func(t *testing.T, n int64, nonSync, appendCmd bool, payload []byte) {
		const limit = 8192
		plus := ""
		if nonSync {
			plus = "+"
		}
		var in string
		if appendCmd {
			in = "a APPEND INBOX {" + strconv.FormatInt(n, 10) + plus + "}\r\n"
		} else {
			in = "a LOGIN joe {" + strconv.FormatInt(n, 10) + plus + "}\r\n"
		}
		tooBig := n > limit
		if !tooBig && n >= 0 {
			in += string(payload) + "\r\n"
		}
		g := &gatedReader{chunks: []string{in}, gates: []int{0}}
		r := NewReader(bufio.NewReader(g))
		r.MaxLiteralSize, r.MaxStringLiteral = limit, limit
		r.MaxCommandSize = 2 * limit
		continues := 0
		r.Continue = func() error { continues++; return nil }
		cmd, err := r.ReadCommand()
		if n < 0 {
			if _, ok := AsParseError(err); !ok {
				t.Fatalf("negative size: %v", err)
			}
			return
		}
		if tooBig {
			pe, ok := AsParseError(err)
			wantStatus := "BAD"
			if appendCmd {
				wantStatus = "NO"
			}
			if !ok || pe.Code != "TOOBIG" || pe.Status != wantStatus || pe.Fatal != nonSync {
				t.Fatalf("size %d: %v", n, err)
			}
			if g.overread || continues != 0 {
				t.Fatalf("refused literal read (%v) or continued (%d)", g.overread, continues)
			}
			return
		}
		full := string(payload) + "\r\n"
		if int64(len(full)) < n {
			// The client sent fewer bytes than announced: the stream
			// ends inside the literal.
			if err == nil && appendCmd {
				if _, err := io.ReadAll(cmd.Args.(*AppendArgs).Message.Body); err == nil {
					t.Fatalf("truncated literal read without error")
				}
			}
			return
		}
		want := full[:n]
		if appendCmd {
			if err != nil {
				t.Fatalf("append: %v", err)
			}
			got, err := io.ReadAll(cmd.Args.(*AppendArgs).Message.Body)
			if err != nil || string(got) != want {
				t.Fatalf("append body %q, %v; want %q", got, err, want)
			}
		} else if err == nil {
			if got := cmd.Args.(*LoginArgs).Password; got != want {
				t.Fatalf("literal %q, want %q", got, want)
			}
			if strings.IndexByte(want, 0) >= 0 {
				t.Fatalf("NUL accepted in a literal")
			}
		} else if strings.IndexByte(want, 0) < 0 && int64(len(payload)) == n {
			t.Fatalf("literal refused: %v", err)
		}
		if !nonSync && continues != 1 {
			t.Fatalf("synchronizing literal: %d continuation requests", continues)
		}
	})
}
