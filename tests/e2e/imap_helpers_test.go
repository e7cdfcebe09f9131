package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapDeadline bounds every wait of the IMAP tests. It only guards
// against hangs (a lost notification must fail the test, not block CI);
// no test measures time against it.
const imapDeadline = 60 * time.Second

// corpusMessage is a real message from testdata/imapcorpus (SpamAssassin
// public corpus, see its NOTICE) with CRLF line ends.
type corpusMessage struct {
	Name string
	Data []byte
}

// loadIMAPCorpus reads testdata/imapcorpus: 6 multipart spam and 10 plain
// ham messages, the mbox "From " line already removed.
func loadIMAPCorpus(t *testing.T) []corpusMessage {
	t.Helper()
	files, err := filepath.Glob("testdata/imapcorpus/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus messages in testdata/imapcorpus (%v)", err)
	}
	sort.Strings(files)
	var msgs []corpusMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, corpusMessage{Name: filepath.Base(f), Data: toCRLF(b)})
	}
	return msgs
}

// toCRLF normalizes line ends to CRLF (RFC 5322 section 2.1).
func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// isMultipart says whether a message's top-level Content-Type is multipart.
func isMultipart(msg []byte) bool {
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, l := range strings.Split(string(hdr), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Type") {
			return strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "multipart/")
		}
	}
	return false
}

// headerValue returns the first value of a header field (unfolded).
func headerValue(msg []byte, name string) string {
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	lines := strings.Split(string(hdr), "\r\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
			v += lines[j]
		}
		return strings.TrimSpace(v)
	}
	return ""
}

// imapLogin dials the plain IMAP listener (plaintext login is allowed
// from loopback) and logs in as user; the client is closed at cleanup.
func imapLogin(t *testing.T, addr, user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		t.Fatalf("dial IMAP %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, userPassword).Wait(); err != nil {
		t.Fatalf("LOGIN %s: %v", user, err)
	}
	return c
}

// smtpSend delivers one message over plain SMTP without TLS. Unlike
// rawDeliver it returns its error, so goroutines can use it; net/smtp's
// DATA writer dot-stuffs.
func smtpSend(addr, from, to string, msg []byte) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(imapDeadline))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("client.e2e.test"); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA content: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return c.Quit()
}

// serverMessage is one message of a mailbox as the server reports it.
type serverMessage struct {
	UID   imap.UID
	Flags []string // sorted, without \Recent
	Body  []byte   // BODY.PEEK[]
}

// mailboxContents fetches UID, FLAGS and BODY.PEEK[] of every message of
// mailbox (selected read-only, so nothing changes) in UID order.
func mailboxContents(t *testing.T, c *imapclient.Client, mailbox string) []serverMessage {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("EXAMINE %s: %v", mailbox, err)
	}
	var out []serverMessage
	if sel.NumMessages > 0 {
		msgs, err := c.Fetch(allSeq(), &imap.FetchOptions{
			UID: true, Flags: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil {
			t.Fatalf("FETCH 1:* in %s: %v", mailbox, err)
		}
		for _, m := range msgs {
			out = append(out, serverMessage{UID: m.UID, Flags: flagStrings(m.Flags), Body: m.FindBodySection(&imap.FetchItemBodySection{Peek: true})})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	if err := c.Unselect().Wait(); err != nil {
		t.Fatalf("UNSELECT %s: %v", mailbox, err)
	}
	return out
}

// allSeq is "1:*".
func allSeq() imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, 0)
	return s
}

// flagStrings sorts flags as strings and drops \Recent, which is session
// state (RFC 3501 section 2.3.2), not a property of the message.
func flagStrings(fl []imap.Flag) []string {
	var out []string
	for _, f := range fl {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}

// traceFields are the header fields the receiving server puts on top of
// a delivered message: Return-Path and Received (RFC 5321 section 4.4),
// Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 section 9.1).
var traceFields = []string{"Return-Path:", "Received:", "Authentication-Results:", "Received-SPF:"}

// deliveredAs reports whether stored is sent with only trace fields
// before it.
func deliveredAs(stored, sent []byte) bool {
	prefix, ok := bytes.CutSuffix(stored, sent)
	if !ok {
		return false
	}
	for len(prefix) > 0 {
		if !slices.ContainsFunc(traceFields, func(f string) bool { return bytes.HasPrefix(prefix, []byte(f)) }) {
			return false
		}
		// The field ends at the first line end not followed by folding.
		i := 0
		for {
			j := bytes.Index(prefix[i:], []byte("\r\n"))
			if j < 0 {
				return false
			}
			i += j + 2
			if i >= len(prefix) || (prefix[i] != ' ' && prefix[i] != '\t') {
				break
			}
		}
		prefix = prefix[i:]
	}
	return true
}

// rawIMAP is an IMAP connection driven line by line, for responses a
// client library hides (QRESYNC's VANISHED (EARLIER), untagged FETCH
// during SELECT). Responses are read as lines; literals are read whole
// and appended to the line that announced them.
type rawIMAP struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

func dialRawIMAP(t *testing.T, addr string, implicitTLS bool) *rawIMAP {
	t.Helper()
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawIMAP{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := c.readResponse(); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	return c
}

// readResponse reads one response line, with any literals it carries.
func (c *rawIMAP) readResponse() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(imapDeadline))
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read response: %v (got %q)", err, b.String()+l)
		}
		l = strings.TrimRight(l, "\r\n")
		b.WriteString(l)
		if i := strings.LastIndexByte(l, '{'); i >= 0 && strings.HasSuffix(l, "}") {
			if n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-1], "+")); err == nil && n >= 0 && n <= 64<<20 {
				lit := make([]byte, n)
				if _, err := io.ReadFull(c.r, lit); err != nil {
					c.t.Fatalf("read literal of %d: %v", n, err)
				}
				b.Write(lit)
				continue
			}
		}
		return b.String()
	}
}

// cmd sends one command and returns its untagged responses and the
// tagged completion, requiring OK.
func (c *rawIMAP) cmd(format string, args ...any) (untagged []string, done string) {
	c.t.Helper()
	untagged, done = c.cmdAny(format, args...)
	tag := fmt.Sprintf("t%d ", c.tag)
	if !strings.HasPrefix(done, tag+"OK") {
		c.t.Fatalf("%s: got %q (untagged %q), want OK", fmt.Sprintf(format, args...), done, untagged)
	}
	return untagged, done
}

// cmdAny is cmd without the OK requirement.
func (c *rawIMAP) cmdAny(format string, args ...any) (untagged []string, done string) {
	c.t.Helper()
	c.tag++
	tag := fmt.Sprintf("t%d", c.tag)
	line := tag + " " + fmt.Sprintf(format, args...) + "\r\n"
	c.conn.SetWriteDeadline(time.Now().Add(imapDeadline))
	if _, err := c.conn.Write([]byte(line)); err != nil {
		c.t.Fatalf("write %q: %v", line, err)
	}
	for {
		l := c.readResponse()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// sortedUIDs returns the UIDs of msgs in order.
func sortedUIDs(msgs []serverMessage) []imap.UID {
	var u []imap.UID
	for _, m := range msgs {
		u = append(u, m.UID)
	}
	slices.Sort(u)
	return u
}
