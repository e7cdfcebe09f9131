// Command outbound is the helper of bench/smtp-outbound.sh. It has two
// modes:
//
//	outbound sink --smtp ADDR --ctl ADDR --dns-file FILE --domain D
//
// runs the receiving side: an SMTP sink that accepts and counts every
// message (like Postfix's smtp-sink, but it can tell when the n-th message
// arrived), a DNS server on a free port of 127.0.0.1, its address written
// to FILE, that names 127.0.0.1 as the MX of domain D (for mailport's
// queue, which looks MX records up), and a control port over
// HTTP: GET /reset?n=N zeroes the count and sets the target, GET /wait
// blocks until N messages arrived and answers the Unix time (seconds,
// fractional) of the N-th, GET /count answers the count.
//
//	outbound submit --addr ADDR --user U --password-file F --from A --to A
//	                --messages N --sessions S --size BYTES
//
// is the load generator for mailport's submission port: S sessions, each
// with one connection, AUTH PLAIN and its share of the N messages of
// about BYTES bytes sent one after another on that connection (as
// smtp-source -d does for Postfix). It exits non-zero unless every
// message got a 250.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailport/internal/dns"
	"mailport/internal/dns/dnstest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: outbound sink|submit [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sink":
		err = sink(os.Args[2:])
	case "submit":
		err = submit(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (sink, submit)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "outbound:", err)
		os.Exit(1)
	}
}

// counter counts accepted messages and remembers when the target was met.
type counter struct {
	mu     sync.Mutex
	n      int
	target int
	doneAt time.Time
	done   chan struct{}
}

func (c *counter) reset(target int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.target, c.doneAt, c.done = 0, target, time.Time{}, make(chan struct{})
}

func (c *counter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n == c.target {
		c.doneAt = time.Now()
		close(c.done)
	}
}

func sink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	smtpAddr := fs.String("smtp", "127.0.0.1:0", "SMTP listen address")
	dnsOut := fs.String("dns-file", "", "write the DNS server's address to this file")
	ctlAddr := fs.String("ctl", "127.0.0.1:0", "control HTTP listen address")
	domain := fs.String("domain", "remote.test", "domain whose MX is 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &counter{}
	c.reset(-1)

	zone := &dns.Mock{}
	zone.AddMX(*domain, "mx."+*domain, 10)
	zone.AddIP("mx."+*domain, "127.0.0.1")
	dsrv, err := dnstest.Start(zone)
	if err != nil {
		return err
	}
	defer dsrv.Close()
	if *dnsOut != "" {
		if err := os.WriteFile(*dnsOut, []byte(dsrv.Addr+"\n"), 0o644); err != nil {
			return err
		}
	}

	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{c: c}, nil }))
	srv.Domain = "sink." + *domain
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	ln, err := net.Listen("tcp", *smtpAddr)
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /reset", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n <= 0 {
			http.Error(w, "n must be a positive integer", http.StatusBadRequest)
			return
		}
		c.reset(n)
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		done := c.done
		c.mu.Unlock()
		select {
		case <-done:
		case <-r.Context().Done():
			return
		}
		c.mu.Lock()
		at := c.doneAt
		c.mu.Unlock()
		fmt.Fprintf(w, "%d.%09d\n", at.Unix(), at.Nanosecond())
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintln(w, c.n)
	})
	cln, err := net.Listen("tcp", *ctlAddr)
	if err != nil {
		return err
	}
	fmt.Printf("smtp %s dns %s ctl %s\n", ln.Addr(), dsrv.Addr, cln.Addr())
	return http.Serve(cln, mux)
}

type sinkSession struct {
	c *counter
}

func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.c.add()
	return nil
}

func submit(args []string) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	addr := fs.String("addr", "", "submission address host:port")
	user := fs.String("user", "", "login")
	pwFile := fs.String("password-file", "", "file holding the password")
	from := fs.String("from", "", "sender address")
	to := fs.String("to", "", "recipient address")
	messages := fs.Int("messages", 1000, "messages in all")
	sessions := fs.Int("sessions", 10, "concurrent sessions")
	size := fs.Int("size", 5000, "approximate message size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *user == "" || *pwFile == "" || *from == "" || *to == "" || *messages <= 0 || *sessions <= 0 {
		return errors.New("--addr, --user, --password-file, --from, --to are required; counts must be positive")
	}
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		return err
	}
	password := strings.TrimSpace(string(pw))
	var wg sync.WaitGroup
	errs := make(chan error, *sessions)
	for s := range *sessions {
		n := *messages / *sessions
		if s < *messages%*sessions {
			n++
		}
		if n == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := session(*addr, *user, password, *from, *to, s, n, *size); err != nil {
				errs <- fmt.Errorf("session %d: %w", s, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// session sends n messages over one authenticated connection.
func session(addr, user, password, from, to string, id, n, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("load.bench.test"); err != nil {
		return err
	}
	if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
		return fmt.Errorf("AUTH: %w", err)
	}
	// The body: header fields, then lines of 78 characters up to size.
	line := strings.Repeat("x", 76) + "\r\n"
	body := strings.Repeat(line, max(size/len(line), 1))
	for i := range n {
		msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: bench %d.%d\r\nMessage-ID: <%d.%d.%d@bench.test>\r\nDate: %s\r\n\r\n%s",
			from, to, id, i, id, i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z), body)
		if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return c.Quit()
}
