package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailport/internal/dns"
	"mailport/internal/queue/dsn"
)

// Limits on one delivery round for a destination.
const (
	maxMXHosts     = 10 // MX hosts tried per domain
	maxAddrsPerMX  = 4  // addresses tried per MX host
	maxConnections = 16 // connection attempts per domain and round
	maxReplyText   = 512
)

// outcome is what became of one recipient in one attempt.
type outcome int

const (
	outTemporary outcome = iota
	outDelivered
	outPermanent
)

// result is the outcome for one recipient, or (as a host error) for a
// whole connection attempt.
type result struct {
	out outcome
	// status is the RFC 3463 code; text the reply or error shown in the
	// queue listing and the DSN; remote the host that answered.
	status string
	text   string
	remote string
	// success, for a delivered recipient, is the action of the success
	// notice a NOTIFY=SUCCESS asks of us (see Recipient.Success): ""
	// when the next hop took the DSN parameters and reports itself.
	success dsn.Action
}

func temporary(status, format string, a ...any) *result {
	return &result{out: outTemporary, status: status, text: fmt.Sprintf(format, a...)}
}

func permanent(status, format string, a ...any) *result {
	return &result{out: outPermanent, status: status, text: fmt.Sprintf(format, a...)}
}

// fromSMTPError classifies an SMTP reply: 4xx temporary, 5xx permanent
// (RFC 5321 section 4.2.1); anything else (a broken connection, a timeout)
// temporary.
func fromSMTPError(err error, remote string) *result {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		r := &result{out: outTemporary, remote: remote}
		if se.Code/100 == 5 {
			r.out = outPermanent
		}
		r.status = fmt.Sprintf("%d.0.0", se.Code/100)
		if se.EnhancedCode != smtp.EnhancedCodeNotSet && se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode[0] == se.Code/100 {
			r.status = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		r.text = fmt.Sprintf("%d %s %s", se.Code, r.status, oneLine(se.Message))
		return r
	}
	return &result{out: outTemporary, status: "4.4.2", text: oneLine(err.Error()), remote: remote}
}

// oneLine flattens a (multi-line) reply and bounds its length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
	if len(s) > maxReplyText {
		s = s[:maxReplyText]
	}
	return s
}

// target is one host to connect to.
type target struct {
	host string
	port int
	tls  tlsPolicy
	// implicit: the host is the domain itself (no MX, RFC 5321 section
	// 5.1), so "no address" is a permanent answer.
	implicit bool
	// auth is the smarthost whose credentials AUTH sends (nil: no
	// AUTH); the target carries it so a routing change during the
	// attempt cannot pair one host with another's login.
	auth *Smarthost
}

type tlsPolicy int

const (
	tlsOpportunistic tlsPolicy = iota // STARTTLS if offered, unverified, fall back to plain
	tlsRequired                       // STARTTLS with a verified certificate
	tlsImplicitTLS                    // TLS from the first byte, verified
	tlsOff
)

// deliverRemote delivers to rcpts, all of one destination domain (or all
// via the smarthost), and returns one result per recipient.
func (q *Queue) deliverRemote(ctx context.Context, e *Entry, domain string, rcpts []string) []*result {
	all := func(r *result) []*result {
		rs := make([]*result, len(rcpts))
		for i := range rs {
			rs[i] = r
		}
		return rs
	}
	f, err := q.cfg.Blobs.Open(e.BlobID)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// The message file is gone: retrying cannot bring it back.
			return all(permanent("5.3.0", "queued message file is missing"))
		}
		return all(temporary("4.3.0", "open queued message: %v", err))
	}
	defer f.Close()
	body := io.NewSectionReader(f, e.Offset, e.Size)

	targets, res := q.targets(ctx, e, domain)
	if res != nil {
		return all(res)
	}
	var last *result
	conns := 0
	for _, t := range targets {
		ips, res := q.addresses(ctx, t)
		if res != nil {
			last = res
			continue
		}
		for _, ip := range ips {
			if conns >= maxConnections {
				break
			}
			conns++
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return all(temporary("4.3.0", "rewind queued message: %v", err))
			}
			rs, herr := q.attempt(ctx, t, ip, e, rcpts, body, t.tls)
			if herr != nil && herr.tlsFailed && t.tls == tlsOpportunistic {
				// RFC 7435 section 3 (opportunistic security): a
				// failed TLS handshake does not stop delivery in
				// the clear, since without TLS nothing was promised.
				q.log.Info("STARTTLS failed, retrying without TLS", "host", t.host, "ip", ip, "error", herr.text)
				if _, err := body.Seek(0, io.SeekStart); err != nil {
					return all(temporary("4.3.0", "rewind queued message: %v", err))
				}
				rs, herr = q.attempt(ctx, t, ip, e, rcpts, body, tlsOff)
			}
			if herr == nil {
				return rs
			}
			last = &herr.result
			if ctx.Err() != nil {
				return all(temporary("4.4.2", "delivery interrupted: %v", ctx.Err()))
			}
		}
	}
	if last == nil {
		last = temporary("4.4.4", "no usable host for %s", domain)
	}
	return all(last)
}

// targets lists the hosts to try for domain, in order: the entry's own
// route (Via), the smarthost, a routed destination, or the MX hosts (RFC
// 5321 section 5.1).
func (q *Queue) targets(ctx context.Context, e *Entry, domain string) ([]target, *result) {
	rt := q.Routing()
	if r := e.Route; r != nil {
		port := r.Port
		if port == 0 {
			port = rt.SMTPPort
		}
		return []target{{host: r.Host, port: port}}, nil
	}
	if sh := rt.Smarthost; sh != nil {
		t := target{host: sh.Host, port: sh.Port}
		if sh.Username != "" {
			t.auth = sh
		}
		switch sh.TLS {
		case TLSImplicit:
			t.tls = tlsImplicitTLS
		case TLSOpportunistic:
			t.tls = tlsOpportunistic
		case TLSNone:
			t.tls = tlsOff
		default:
			t.tls = tlsRequired
		}
		return []target{t}, nil
	}
	if q.cfg.Route != nil {
		d, err := q.cfg.Route(ctx, domain)
		if err != nil {
			return nil, temporary("4.3.0", "routing %s: %v", domain, err)
		}
		if d != nil {
			port := d.Port
			if port == 0 {
				port = rt.SMTPPort
			}
			return []target{{host: d.Host, port: port}}, nil
		}
	}
	if q.cfg.Resolver == nil {
		return nil, temporary("4.4.3", "no resolver configured")
	}
	var policy *Policy
	if q.cfg.Policy != nil {
		p, err := q.cfg.Policy.Policy(ctx, domain)
		if err != nil {
			return nil, temporary("4.7.5", "MTA-STS policy of %s: %v", domain, err)
		}
		policy = p
	}
	mxs, err := q.cfg.Resolver.LookupMX(ctx, domain)
	if err != nil && !errors.Is(err, dns.ErrNotFound) {
		return nil, temporary("4.4.3", "MX lookup for %s: %v", domain, err)
	}
	var hosts []string
	implicit := false
	if len(mxs) == 0 {
		// RFC 5321 section 5.1: without MX records the domain itself is
		// the implicit MX (its A/AAAA records).
		hosts, implicit = []string{domain}, true
	} else {
		hosts, err = orderMX(mxs)
		if err != nil {
			return nil, permanent("5.1.10", "%s: %v", domain, err)
		}
	}
	ts := make([]target, 0, len(hosts))
	for _, h := range hosts {
		t := target{host: h, port: rt.SMTPPort, implicit: implicit}
		if policy.enforced() {
			// RFC 8461 section 4.1: only MX hosts the policy names.
			if !policy.Matches(h) {
				q.log.Info("MX host not allowed by MTA-STS policy", "domain", domain, "host", h)
				continue
			}
			t.tls = tlsRequired
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return nil, temporary("4.7.5", "no MX host of %s matches its MTA-STS policy", domain)
	}
	return ts, nil
}

// orderMX sorts MX records by preference, shuffling hosts of equal
// preference to spread the load (RFC 5321 section 5.1), and detects a null
// MX (RFC 7505 section 3: a single record with the root "." as exchange,
// meaning the domain accepts no mail).
func orderMX(mxs []*net.MX) ([]string, error) {
	var real []*net.MX
	for _, mx := range mxs {
		if mx == nil {
			continue
		}
		if h := strings.TrimSuffix(mx.Host, "."); h == "" {
			continue
		}
		real = append(real, mx)
	}
	if len(real) == 0 {
		return nil, errors.New("domain does not accept mail (null MX, RFC 7505)")
	}
	rand.Shuffle(len(real), func(i, j int) { real[i], real[j] = real[j], real[i] })
	sort.SliceStable(real, func(i, j int) bool { return real[i].Pref < real[j].Pref })
	var hosts []string
	seen := map[string]bool{}
	for _, mx := range real {
		h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
		if seen[h] {
			continue
		}
		seen[h] = true
		hosts = append(hosts, h)
		if len(hosts) == maxMXHosts {
			break
		}
	}
	return hosts, nil
}

// addresses resolves a target host to the IPs to connect to.
func (q *Queue) addresses(ctx context.Context, t target) ([]string, *result) {
	if ip := net.ParseIP(t.host); ip != nil {
		return []string{ip.String()}, nil
	}
	if q.cfg.Resolver == nil {
		return nil, temporary("4.4.3", "no resolver configured to look up %s", t.host)
	}
	ips, err := q.cfg.Resolver.LookupIP(ctx, t.host)
	if errors.Is(err, dns.ErrNotFound) || (err == nil && len(ips) == 0) {
		if t.implicit {
			// No MX and no address: the domain cannot receive mail.
			return nil, permanent("5.1.2", "%s has no MX and no address record", t.host)
		}
		return nil, temporary("4.4.4", "MX host %s has no address", t.host)
	}
	if err != nil {
		return nil, temporary("4.4.3", "address lookup for %s: %v", t.host, err)
	}
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
		if len(out) == maxAddrsPerMX {
			break
		}
	}
	return out, nil
}

// hostError is a failure before any recipient got an answer: the next
// host is tried.
type hostError struct {
	result
	tlsFailed bool
}

// attempt runs one SMTP transaction with one host, on a cached connection
// to it when there is one (checked with NOOP first) or a new one. It
// returns per-recipient results once the host has answered RCPT, or a
// hostError when it failed before that. A connection whose transaction
// ended with the message accepted is kept for the next message to the
// same host.
func (q *Queue) attempt(ctx context.Context, t target, ip string, e *Entry, rcpts []string, body io.ReadSeeker, mode tlsPolicy) ([]*result, *hostError) {
	key := connKey{host: t.host, ip: ip, port: t.port, mode: mode}
	if t.auth != nil {
		key.login = t.auth.Username
	}
	if sc := q.conns.get(key); sc != nil {
		rs, herr, keep := q.transact(ctx, t, ip, sc, e, rcpts, body, true)
		if herr == nil {
			q.release(key, sc, keep)
			return rs, nil
		}
		// The server may have dropped the idle connection meanwhile:
		// that says nothing about the host, so a new connection is
		// tried before giving up on it.
		sc.c.Close()
		if ctx.Err() != nil {
			return nil, herr
		}
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return nil, herr
		}
	}
	sc, herr := q.connect(ctx, t, ip, mode)
	if herr != nil {
		return nil, herr
	}
	rs, herr, keep := q.transact(ctx, t, ip, sc, e, rcpts, body, false)
	if herr != nil {
		sc.c.Close()
		return nil, herr
	}
	q.release(key, sc, keep)
	return rs, nil
}

// release caches a connection for reuse, or ends it.
func (q *Queue) release(key connKey, sc *smtpConn, keep bool) {
	if keep {
		q.conns.put(key, sc, time.Now())
		return
	}
	sc.quit()
}

// hostErr attributes a failure before any RCPT answer to the host.
func hostErr(t target, ip string, r *result) *hostError {
	r.remote = t.host
	r.text = t.host + "[" + ip + "]: " + r.text
	return &hostError{result: *r}
}

// connect opens an SMTP session with one host: TCP, greeting, EHLO, TLS
// as mode asks, and AUTH for the smarthost.
func (q *Queue) connect(ctx context.Context, t target, ip string, mode tlsPolicy) (*smtpConn, *hostError) {
	remote := t.host
	d := net.Dialer{Timeout: q.cfg.DialTimeout}
	if src := net.ParseIP(q.Routing().SourceAddress); src != nil && (src.To4() != nil) == (net.ParseIP(ip).To4() != nil) {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(t.port)))
	if err != nil {
		q.cfg.Metrics.connection(false, false)
		return nil, hostErr(t, ip, temporary("4.4.1", "connect: %v", oneLine(err.Error())))
	}
	// Cancelling ctx (shutdown) unblocks any read or write at once.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()

	c, usedTLS, he := q.open(conn, t, mode)
	if he != nil {
		q.cfg.Metrics.connection(false, usedTLS)
		he.remote = remote
		he.text = remote + "[" + ip + "]: " + he.text
		return nil, he
	}
	c.CommandTimeout = q.cfg.CommandTimeout
	if err := c.Hello(q.cfg.Hostname); err != nil {
		q.cfg.Metrics.connection(false, usedTLS)
		c.Close()
		return nil, hostErr(t, ip, fromSMTPError(err, remote))
	}
	q.cfg.Metrics.connection(true, usedTLS)
	if sh := t.auth; sh != nil {
		if !usedTLS && mode != tlsOff {
			c.Close()
			return nil, hostErr(t, ip, temporary("4.7.0", "refusing to send credentials without TLS"))
		}
		if err := c.Auth(sasl.NewPlainClient("", sh.Username, sh.Password)); err != nil {
			// A refused login is a configuration problem of ours:
			// keep the mail and retry once it is fixed.
			r := fromSMTPError(err, remote)
			r.out, r.status = outTemporary, "4.7.0"
			c.Close()
			return nil, hostErr(t, ip, r)
		}
	}
	ok = true
	return &smtpConn{c: c, raw: conn, tls: usedTLS, opened: time.Now()}, nil
}

// transact sends e to rcpts over an open session. reused says the session
// served an earlier message: it is checked with NOOP first (RFC 5321
// section 4.1.1.9), and after a completed DATA the server has cleared its
// transaction state already (section 4.1.1.4), so no RSET is needed.
// keep reports that the session ended cleanly and may serve the next one.
func (q *Queue) transact(ctx context.Context, t target, ip string, sc *smtpConn, e *Entry, rcpts []string, body io.Reader, reused bool) (results []*result, herr *hostError, keep bool) {
	remote := t.host
	c := sc.c
	stop := context.AfterFunc(ctx, func() { sc.raw.Close() })
	defer func() {
		// A connection closed by cancellation is not reusable.
		if !stop() {
			keep = false
		}
	}()
	if reused {
		if err := c.Noop(); err != nil {
			return nil, hostErr(t, ip, fromSMTPError(err, remote)), false
		}
	}
	sc.uses++

	// RFC 3461 section 5.2.1: a next hop that supports DSN gets the
	// parameters and sends the notices from there on; go-smtp's client
	// sends RET, ENVID, NOTIFY and ORCPT only to a server that
	// announced DSN. To one that did not, we report "relayed" ourselves
	// (section 5.2.2).
	nextDSN, _ := c.Extension("DSN")
	success := dsn.Relayed
	if nextDSN {
		success = ""
	}
	opts := &smtp.MailOptions{Size: e.Size, Return: e.Return, EnvelopeID: e.EnvelopeID}
	nextUTF8, _ := c.Extension("SMTPUTF8")
	from, ok := wireAddress(e.From, nextUTF8)
	if !ok {
		return nil, hostErr(t, ip, permanent("5.6.7", "the sender %s has a non-ASCII local part and the server does not support SMTPUTF8 (RFC 6531 section 3.2)", e.From)), false
	}
	results = make([]*result, len(rcpts))
	wire := make([]string, len(rcpts))
	sendable := 0
	opts.UTF8 = !isASCII(from)
	for i, r := range rcpts {
		w, ok := wireAddress(r, nextUTF8)
		if !ok {
			results[i] = permanent("5.6.7", "the recipient %s has a non-ASCII local part and the server does not support SMTPUTF8 (RFC 6531 section 3.2)", r)
			results[i].remote = remote
			continue
		}
		wire[i] = w
		sendable++
		opts.UTF8 = opts.UTF8 || !isASCII(w)
	}
	if sendable == 0 {
		return results, nil, false
	}
	if err := c.Mail(from, opts); err != nil {
		return nil, hostErr(t, ip, fromSMTPError(err, remote)), false
	}
	accepted := 0
	for i, r := range rcpts {
		if results[i] != nil {
			continue
		}
		var ro *smtp.RcptOptions
		if rc := e.recipient(r); rc != nil {
			ro = &smtp.RcptOptions{Notify: rc.Notify, OriginalRecipientType: rc.OriginalRecipientType, OriginalRecipient: rc.OriginalRecipient}
		}
		if err := c.Rcpt(wire[i], ro); err != nil {
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				// The connection broke: nothing is known for the
				// others; try the next host for all.
				return nil, hostErr(t, ip, fromSMTPError(err, remote)), false
			}
			results[i] = fromSMTPError(err, remote)
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return results, nil, false
	}
	setAccepted := func(r *result) {
		for i := range results {
			if results[i] == nil {
				rc := *r
				results[i] = &rc
			}
		}
	}
	w, err := c.Data()
	if err != nil {
		setAccepted(fromSMTPError(err, remote))
		return results, nil, false
	}
	if _, err := io.Copy(w, body); err != nil {
		setAccepted(temporary("4.4.2", "%s: sending message: %v", remote, oneLine(err.Error())))
		return results, nil, false
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		// After the final dot a broken connection leaves the outcome
		// unknown; retrying may duplicate, which at-least-once allows
		// and losing the message would not (RFC 5321 section 6.1).
		setAccepted(fromSMTPError(err, remote))
		return results, nil, false
	}
	setAccepted(&result{out: outDelivered, status: "2.0.0", text: oneLine("250 " + resp.StatusText), remote: remote, success: success})
	return results, nil, true
}

// open greets the server, says EHLO and negotiates TLS as mode asks, and
// returns a go-smtp client on the (possibly TLS) connection.
//
// go-smtp's client offers STARTTLS only through NewClientStartTLS, which
// introduces itself as "localhost" before TLS and gives up on servers
// without STARTTLS. RFC 5321 section 4.1.4 wants our name in every EHLO,
// and opportunistic TLS must carry on without it, so the exchange up to
// TLS is done here and the client starts on the result, fed the greeting
// it would otherwise wait for.
func (q *Queue) open(conn net.Conn, t target, mode tlsPolicy) (*smtp.Client, bool, *hostError) {
	fail := func(r *result, tlsFailed bool) (*smtp.Client, bool, *hostError) {
		return nil, false, &hostError{result: *r, tlsFailed: tlsFailed}
	}
	verified := func() *tls.Config {
		return &tls.Config{ServerName: t.host, MinVersion: tls.VersionTLS12, RootCAs: q.cfg.TLSConfig.RootCAs}
	}
	deadline := time.Now().Add(q.cfg.CommandTimeout)
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})

	if mode == tlsImplicitTLS {
		tc := tls.Client(conn, verified())
		if err := tc.Handshake(); err != nil {
			return fail(temporary("4.7.5", "TLS handshake: %v", oneLine(err.Error())), true)
		}
		return smtp.NewClient(tc), true, nil
	}

	br := bufio.NewReader(conn)
	tp := textproto.NewConn(struct {
		io.Reader
		io.WriteCloser
	}{br, conn})
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fail(replyError(err, "greeting"), false)
	}
	if mode == tlsOff {
		return smtp.NewClient(prefixConn{Conn: conn, r: io.MultiReader(strings.NewReader("220 resumed\r\n"), br)}), false, nil
	}
	if err := tp.PrintfLine("EHLO %s", q.cfg.Hostname); err != nil {
		return fail(temporary("4.4.2", "EHLO: %v", err), false)
	}
	_, msg, err := tp.ReadResponse(250)
	starttls := false
	if err == nil {
		for _, l := range strings.Split(msg, "\n")[1:] {
			if strings.EqualFold(strings.TrimSpace(l), "STARTTLS") {
				starttls = true
			}
		}
	}
	if !starttls {
		if mode == tlsRequired {
			return fail(temporary("4.7.5", "TLS required but STARTTLS not offered"), false)
		}
		// EHLO refused or no STARTTLS: the client says EHLO (or HELO)
		// again on the same connection, which RFC 5321 section 4.1.4
		// allows.
		return smtp.NewClient(prefixConn{Conn: conn, r: io.MultiReader(strings.NewReader("220 resumed\r\n"), br)}), false, nil
	}
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		return fail(temporary("4.4.2", "STARTTLS: %v", err), false)
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fail(replyError(err, "STARTTLS"), true)
	}
	// Anything the server sent after its 220 would be read as if it came
	// over TLS: refuse it (the STARTTLS command injection problem, RFC
	// 3207 section 4.2 requires discarding pre-TLS knowledge).
	if br.Buffered() > 0 {
		return fail(temporary("4.7.0", "server sent data after its STARTTLS reply"), false)
	}
	cfg := q.cfg.TLSConfig.Clone()
	if mode == tlsRequired {
		cfg = verified()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.host
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return fail(temporary("4.7.5", "TLS handshake: %v", oneLine(err.Error())), true)
	}
	// RFC 3207 section 4.2: after TLS the client starts over with EHLO.
	return smtp.NewClient(prefixConn{Conn: tc, r: io.MultiReader(strings.NewReader("220 resumed\r\n"), tc)}), true, nil
}

// replyError turns a textproto reply error into a result.
func replyError(err error, what string) *result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fromSMTPError(&smtp.SMTPError{Code: te.Code, Message: te.Msg}, "")
	}
	return temporary("4.4.2", "%s: %v", what, oneLine(err.Error()))
}

// prefixConn is a connection whose reads start with a replayed prefix.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// wireAddress returns the form of envelope address a to send to a next
// hop, or false when it cannot be sent there. A server with SMTPUTF8 gets
// a as it is (RFC 6531 section 3.2). One without it gets the domain as
// A-labels, the ASCII form of the same name (RFC 5890 section 2.3.2.1),
// but a non-ASCII local part has no ASCII form: the recipient (or, for the
// sender, the message) fails with X.6.7, "non-ASCII addresses not
// permitted" (RFC 6531 section 3.2 asks the client to return a
// non-delivery notification rather than send).
func wireAddress(a string, nextUTF8 bool) (string, bool) {
	if isASCII(a) || nextUTF8 {
		return a, true
	}
	at := strings.LastIndexByte(a, '@')
	if at < 0 || !isASCII(a[:at]) {
		return "", false
	}
	w := a[:at+1] + domainOf(a)
	if !isASCII(w) {
		return "", false
	}
	return w, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
