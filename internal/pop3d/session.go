package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"mailport/internal/auth"
	"mailport/internal/netserve"
	"mailport/internal/store"
)

// Session limits.
const (
	// maxErrors is how many bad commands a session may send before it is
	// disconnected; a confused client gets several chances, a scanner not
	// many.
	maxErrors = 10
	// maxDiscard bounds how much of an overlong line is read and thrown
	// away before the connection is dropped.
	maxDiscard = 64 << 10
	// maxAuthResponseLength bounds an AUTH continuation line. RFC 5034
	// section 4 exempts these from the 255-octet command limit; PLAIN
	// with a long password needs a few hundred octets at most.
	maxAuthResponseLength = 4096
	readBufferSize        = 4096
	writeBufferSize       = 16 << 10
)

var (
	errShuttingDown = errors.New("pop3d: server shutting down")
	errLineTooLong  = errors.New("line too long")
	errLineFlood    = errors.New("overlong line flood")
)

// state is the POP3 session state, RFC 1939 section 3.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateUpdate
)

// message is one message of the maildrop snapshot taken at login. Message
// numbers are indexes + 1 and never change during the session (RFC 1939
// section 5).
type message struct {
	uid     uint32
	size    int64
	blobID  string
	deleted bool
}

type session struct {
	srv    *Server
	nc     *netserve.Conn // as accepted: tells Shutdown whether we wait
	conn   net.Conn       // replaced by the TLS conn after STLS
	r      *bufio.Reader
	w      *bufio.Writer
	remote netip.Addr
	tls    bool
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	// idleTimeout is the server's autologout timer when the session
	// began.
	idleTimeout time.Duration

	state    state
	errors   int
	writeErr error

	user     string // from USER, awaiting PASS
	acct     store.Account
	mailbox  store.Mailbox
	msgs     []message
	haveLock bool
}

func newSession(srv *Server, nc *netserve.Conn, implicitTLS bool, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(auth.WithLogger(srv.baseCtx, log))
	ss := &session{
		srv:    srv,
		nc:     nc,
		conn:   nc.Conn,
		remote: nc.Remote,
		tls:    implicitTLS,
		log:    log,
		ctx:    ctx,
		cancel: cancel,

		idleTimeout: time.Duration(srv.idleTimeout.Load()),
	}
	ss.setStreams(nc.Conn)
	return ss
}

// setStreams (re)creates the buffered reader and writer on c. After STLS
// this is what discards any plaintext the client pipelined behind the
// command (RFC 2595 section 4; the CVE-2011-0411 class of injection).
func (ss *session) setStreams(c net.Conn) {
	ss.r = bufio.NewReaderSize(c, readBufferSize)
	ss.w = bufio.NewWriterSize(deadlineWriter{c, ss.idleTimeout}, writeBufferSize)
}

// deadlineWriter refreshes the write deadline on every write so a client
// that stops reading cannot hold a session (and its maildrop lock)
// forever, while a slow but live download of a large message still works.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.c.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.c.Write(p)
}

func (ss *session) run() {
	defer ss.close()
	defer func() {
		// The last resort against a bug: a panic ends this connection,
		// not the server (netserve runs sessions without a recover).
		if v := recover(); v != nil {
			ss.log.Error("pop3: bug: panic in session", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			ss.reply("-ERR internal error")
			ss.flush()
		}
	}()
	ss.log.Debug("pop3: connected", "tls", ss.tls)
	if tc, ok := ss.conn.(*tls.Conn); ok {
		if err := ss.handshake(tc); err != nil {
			ss.log.Info("pop3: TLS handshake failed", "err", err)
			return
		}
	}
	// RFC 1939 section 4: the greeting. No APOP timestamp: APOP is not
	// offered.
	ss.reply("+OK %s POP3 server ready", ss.srv.cfg.Hostname)
	for {
		if !ss.flush() {
			return
		}
		line, err := ss.readLine(ss.srv.cfg.MaxLineLength)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				ss.reply("-ERR line too long")
				if ss.countError() {
					return
				}
				continue
			}
			ss.endOnReadError(err)
			return
		}
		cmd, args, err := parseCommand(line)
		if err != nil {
			ss.reply("-ERR %v", err)
			if ss.countError() {
				return
			}
			continue
		}
		ss.log.Debug("pop3: command", "cmd", cmd, "state", ss.state.String())
		if quit := ss.dispatch(cmd, args); quit {
			ss.flush()
			return
		}
		if ss.writeErr != nil {
			return
		}
	}
}

// endOnReadError says goodbye where that makes sense after a failed read.
func (ss *session) endOnReadError(err error) {
	switch {
	case errors.Is(err, errShuttingDown) || ss.srv.isClosing():
		ss.reply("-ERR [SYS/TEMP] server shutting down")
		ss.flush()
	case errors.Is(err, errLineFlood):
		ss.reply("-ERR line too long, closing connection")
		ss.flush()
	case errors.Is(err, os.ErrDeadlineExceeded):
		// RFC 1939 section 3: on autologout the server closes the
		// connection without a response and without entering UPDATE.
		ss.log.Debug("pop3: idle timeout")
	default:
		ss.log.Debug("pop3: read ended", "err", err)
	}
}

// close releases the maildrop lock and the connection. Deletions are not
// applied here: only QUIT enters the UPDATE state (RFC 1939 section 6).
func (ss *session) close() {
	if ss.haveLock {
		ss.srv.unlockMaildrop(ss.acct.ID)
		ss.haveLock = false
	}
	ss.cancel()
	ss.conn.Close()
	ss.log.Debug("pop3: disconnected")
}

// countError records a protocol error and, once there were too many,
// tells the client and reports that the session must end.
func (ss *session) countError() bool {
	ss.errors++
	if ss.errors >= maxErrors {
		ss.reply("-ERR too many errors, closing connection")
		ss.flush()
		return true
	}
	return false
}

// reply writes one response line. Write errors are remembered and end the
// session after the current command.
func (ss *session) reply(format string, a ...any) {
	if ss.writeErr != nil {
		return
	}
	if _, err := fmt.Fprintf(ss.w, format+"\r\n", a...); err != nil {
		ss.writeErr = err
	}
}

// flush sends buffered responses unless more pipelined commands are
// already waiting (RFC 2449 section 6.6: PIPELINING lets the server batch
// its responses). It reports whether the session can go on.
func (ss *session) flush() bool {
	if ss.writeErr != nil {
		return false
	}
	if ss.r.Buffered() > 0 {
		return true
	}
	if err := ss.w.Flush(); err != nil {
		ss.writeErr = err
		ss.log.Debug("pop3: write failed", "err", err)
		return false
	}
	return true
}

// readLine reads one line of at most limit octets including its line end,
// returned without CRLF (a bare LF is accepted too). Overlong lines are
// read to their end and reported as errLineTooLong; past maxDiscard
// octets errLineFlood ends the session.
func (ss *session) readLine(limit int) (string, error) {
	if err := ss.srv.setIdle(ss, true); err != nil {
		return "", err
	}
	var line []byte
	tooLong := false
	total := 0
	for {
		chunk, err := ss.r.ReadSlice('\n')
		total += len(chunk)
		if !tooLong {
			if len(line)+len(chunk) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if total > maxDiscard {
				return "", errLineFlood
			}
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if err := ss.srv.setIdle(ss, false); err != nil {
		return "", err
	}
	if tooLong {
		return "", errLineTooLong
	}
	s := string(line[:len(line)-1])
	return strings.TrimSuffix(s, "\r"), nil
}

// handshake runs a server TLS handshake within handshakeTimeout.
func (ss *session) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(ss.ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("pop3d: TLS handshake: %w", err)
	}
	ss.tls = true
	return nil
}

// Commands valid in each state; anything else known is answered with a
// state error, anything unknown with "unknown command".
var knownCommands = map[string]bool{
	"CAPA": true, "USER": true, "PASS": true, "AUTH": true, "STLS": true, "QUIT": true,
	"STAT": true, "LIST": true, "RETR": true, "DELE": true, "NOOP": true, "RSET": true,
	"TOP": true, "UIDL": true,
}

// dispatch runs one command; it reports whether the session must end.
func (ss *session) dispatch(cmd string, args []string) (quit bool) {
	switch ss.state {
	case stateAuthorization:
		switch cmd {
		case "CAPA":
			return ss.cmdCapa(args)
		case "USER":
			return ss.cmdUser(args)
		case "PASS":
			return ss.cmdPass(args)
		case "AUTH":
			return ss.cmdAuth(args)
		case "STLS":
			return ss.cmdStls(args)
		case "QUIT":
			ss.reply("+OK %s POP3 server signing off", ss.srv.cfg.Hostname)
			return true
		}
	case stateTransaction:
		switch cmd {
		case "CAPA":
			return ss.cmdCapa(args)
		case "STAT":
			return ss.cmdStat(args)
		case "LIST":
			return ss.cmdList(args)
		case "UIDL":
			return ss.cmdUidl(args)
		case "RETR":
			return ss.cmdRetr(args)
		case "TOP":
			return ss.cmdTop(args)
		case "DELE":
			return ss.cmdDele(args)
		case "RSET":
			return ss.cmdRset(args)
		case "NOOP":
			if len(args) != 0 {
				return ss.syntaxError("NOOP")
			}
			ss.reply("+OK")
			return false
		case "QUIT":
			return ss.cmdQuit(args)
		}
	}
	if knownCommands[cmd] {
		ss.reply("-ERR %s not valid in this state", cmd)
	} else {
		ss.reply("-ERR unknown command")
	}
	return ss.countError()
}

// syntaxError answers a command with wrong arguments.
func (ss *session) syntaxError(cmd string) bool {
	ss.reply("-ERR syntax error in %s arguments", cmd)
	return ss.countError()
}

// cmdCapa lists capabilities, RFC 2449 section 5. What is listed depends
// on the state and the connection: USER and SASL only where a password
// may be sent (RFC 2595 section 2.2 advises against announcing cleartext
// logins that will be refused), STLS only before TLS.
func (ss *session) cmdCapa(args []string) bool {
	if len(args) != 0 {
		return ss.syntaxError("CAPA")
	}
	ss.reply("+OK capability list follows")
	ss.reply("TOP")
	ss.reply("UIDL")
	ss.reply("RESP-CODES")
	ss.reply("AUTH-RESP-CODE")
	ss.reply("PIPELINING")
	if ss.state == stateAuthorization {
		if ss.plaintextAllowed() {
			ss.reply("USER")
			ss.reply("SASL PLAIN " + strings.Join(ss.channelBinding().SCRAMMechanisms(), " "))
		}
		if ss.srv.cfg.TLS != nil && !ss.tls {
			ss.reply("STLS")
		}
	}
	ss.reply("IMPLEMENTATION mailport")
	ss.reply(".")
	return false
}
