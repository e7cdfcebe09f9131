package imapd

import (
	"bufio"
	"compress/flate"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"mailport/internal/auth"
	"mailport/internal/imapd/wire"
	"mailport/internal/netserve"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// Buffer sizes of a connection: small, because an idle connection should
// cost little memory (issue 3: at most 64 KiB per idle connection). The
// wire Reader grows its own buffer only for a command that needs it.
const (
	readBufferSize  = 4 << 10
	writeBufferSize = 4 << 10
)

// session states, RFC 9051 section 3.
type state int

const (
	stateNotAuthenticated state = iota
	stateAuthenticated
	stateSelected
	stateLogout
)

var (
	errShuttingDown = errors.New("imapd: server shutting down")
	// errCloseConn ends the session after the handler has written what it
	// wanted (BYE, a broken stream).
	errCloseConn = errors.New("imapd: close connection")
	// errTaggedDone says the handler wrote its tagged response itself
	// (STARTTLS and COMPRESS must answer before switching the stream).
	errTaggedDone = errors.New("imapd: tagged response written")
)

// statusError is a command's failure with its protocol meaning: the tagged
// response "tag STATUS [CODE] text" (RFC 9051 section 7.1).
type statusError struct {
	status string // NO or BAD
	code   string
	text   string
}

func (e *statusError) Error() string { return e.status + " " + e.text }

func no(code, format string, args ...any) error {
	return &statusError{status: "NO", code: code, text: fmt.Sprintf(format, args...)}
}

func bad(format string, args ...any) error {
	return &statusError{status: "BAD", text: fmt.Sprintf(format, args...)}
}

// session is one client connection. Everything runs on the connection's
// goroutine; IDLE adds a second one that only reads "DONE" (idle.go).
type session struct {
	srv *Server
	// maxLiteral is the server's APPEND limit when the session began.
	maxLiteral int64
	// idleTimeout is the server's autologout timer when the session
	// began.
	idleTimeout time.Duration
	nc          *netserve.Conn // as accepted: tells Shutdown whether we wait
	conn        net.Conn       // the client connection; a *tls.Conn once TLS is on
	remote      netip.Addr
	log         *slog.Logger
	ctx         context.Context
	cancel      context.CancelFunc

	tls        bool
	compressed bool
	br         *bufio.Reader
	bw         *bufio.Writer
	fw         *flate.Writer // COMPRESS=DEFLATE output, flushed with bw
	zbuf       *bufio.Writer // under fw: one write per flush
	zout       *countWriter  // over fw: bytes not yet flushed
	r          *wire.Reader
	w          *wire.Writer

	state   state
	account store.Account
	sub     *notify.Subscription

	// Extensions the client enabled (RFC 5161, RFC 7162 section 3.1).
	rev2      bool // IMAP4rev2
	utf8      bool // UTF8=ACCEPT or IMAP4rev2
	condstore bool
	qresync   bool

	sel *selected
}

func newSession(srv *Server, nc *netserve.Conn, implicitTLS bool, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{srv: srv, maxLiteral: srv.maxLiteral.Load(), idleTimeout: time.Duration(srv.idleTimeout.Load()), nc: nc, conn: nc.Conn, remote: nc.Remote, tls: implicitTLS, log: log, ctx: ctx, cancel: cancel}
}

// setupIO (re)builds the buffered reader, writer and the wire codec on rd
// and wr: at the start, after STARTTLS and after COMPRESS.
func (s *session) setupIO(rd io.Reader, wr io.Writer) {
	s.br = bufio.NewReaderSize(rd, readBufferSize)
	s.bw = bufio.NewWriterSize(wr, writeBufferSize)
	r := wire.NewReader(s.br)
	r.MaxLiteralSize = s.maxLiteral
	r.UTF8 = s.utf8
	r.Continue = func() error {
		s.w.Continuation("Ready for literal data")
		return s.flush()
	}
	r.AppendCheck = s.appendCheck
	s.r = r
	s.w = wire.NewWriter(s.bw)
	s.w.UTF8 = s.utf8
}

// flush sends everything written so far to the client. The write
// deadline is renewed first, so a client that stops reading cannot hold a
// session (and its goroutine) forever; the next flush renews it again.
func (s *session) flush() error {
	s.conn.SetWriteDeadline(time.Now().Add(s.idleTimeout))
	if err := s.w.Flush(); err != nil {
		return err
	}
	if s.fw != nil && s.zout.n > 0 {
		s.zout.n = 0
		if err := s.fw.Flush(); err != nil {
			return err
		}
		if err := s.zbuf.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) run() {
	defer s.close()
	defer func() {
		// The last resort against a bug: a panic ends this connection,
		// not the server.
		if v := recover(); v != nil {
			s.log.Error("imap: bug: panic in session", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if s.w != nil {
				s.w.Status("", "BYE", "SERVERBUG", "internal error")
				s.flush()
			}
		}
	}()

	if s.tls {
		tc := tls.Server(s.conn, s.srv.cfg.TLS)
		tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.HandshakeContext(s.ctx); err != nil {
			s.log.Info("imap: tls handshake failed", "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
		s.conn = tc
	}
	s.setupIO(s.conn, s.conn)
	s.log.Debug("imap: connected", "tls", s.tls)

	// RFC 9051 section 7.1.1: the greeting may carry the capabilities.
	s.w.Status("", "OK", "CAPABILITY "+strings.Join(s.capabilities(), " "), s.srv.cfg.Hostname+" mailport IMAP ready")
	if s.flush() != nil {
		return
	}
	for s.state != stateLogout {
		if !s.serveCommand() {
			return
		}
	}
}

func (s *session) close() {
	s.cancel()
	if s.sub != nil {
		s.sub.Close()
	}
	s.sel = nil
	s.conn.Close()
	s.log.Debug("imap: connection closed")
}

// serveCommand reads and answers one command; false ends the session.
func (s *session) serveCommand() bool {
	if err := s.srv.setWaiting(s, true); err != nil {
		s.bye("server shutting down")
		return false
	}
	cmd, err := s.r.ReadCommand()
	if s.srv.setWaiting(s, false) != nil && err != nil {
		s.bye("server shutting down")
		return false
	}
	if err != nil {
		if pe, ok := wire.AsParseError(err); ok {
			s.w.Status(pe.Tag, pe.Status, pe.Code, pe.Msg)
			if pe.Fatal {
				s.log.Info("imap: fatal protocol error", "err", err)
				s.bye("protocol error")
				return false
			}
			return s.flush() == nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// RFC 9051 section 5.4: the autologout timer expired.
			s.bye("autologout; idle for too long")
		} else if !errors.Is(err, io.EOF) {
			s.log.Info("imap: read failed", "err", err)
		}
		return false
	}
	return s.execute(cmd)
}

// bye sends "* BYE text" (RFC 9051 section 7.1.5) and flushes; the caller
// closes the connection.
func (s *session) bye(text string) {
	s.w.Status("", "BYE", "", text)
	s.flush()
}

// commands maps a command name to its handler and the states it is valid
// in (RFC 9051 sections 6.1 to 6.4).
type handler func(s *session, cmd *wire.Command) (okCode string, err error)

type commandSpec struct {
	fn     handler
	states uint8 // bit set of 1<<state
}

const (
	inNotAuth  = 1 << stateNotAuthenticated
	inAuth     = 1 << stateAuthenticated
	inSelected = 1 << stateSelected
	inAny      = inNotAuth | inAuth | inSelected
	inLoggedIn = inAuth | inSelected
)

var commands map[string]commandSpec

func init() {
	commands = map[string]commandSpec{
		"CAPABILITY":   {(*session).cmdCapability, inAny},
		"NOOP":         {(*session).cmdNoop, inAny},
		"LOGOUT":       {(*session).cmdLogout, inAny},
		"ID":           {(*session).cmdID, inAny},
		"STARTTLS":     {(*session).cmdStartTLS, inNotAuth},
		"LOGIN":        {(*session).cmdLogin, inNotAuth},
		"AUTHENTICATE": {(*session).cmdAuthenticate, inNotAuth},
		"ENABLE":       {(*session).cmdEnable, inLoggedIn},
		"NAMESPACE":    {(*session).cmdNamespace, inLoggedIn},
		"LIST":         {(*session).cmdList, inLoggedIn},
		"LSUB":         {(*session).cmdList, inLoggedIn},
		"STATUS":       {(*session).cmdStatus, inLoggedIn},
		"CREATE":       {(*session).cmdCreate, inLoggedIn},
		"DELETE":       {(*session).cmdDelete, inLoggedIn},
		"RENAME":       {(*session).cmdRename, inLoggedIn},
		"SUBSCRIBE":    {(*session).cmdSubscribe, inLoggedIn},
		"UNSUBSCRIBE":  {(*session).cmdSubscribe, inLoggedIn},
		"SELECT":       {(*session).cmdSelect, inLoggedIn},
		"EXAMINE":      {(*session).cmdSelect, inLoggedIn},
		"APPEND":       {(*session).cmdAppend, inLoggedIn},
		"IDLE":         {(*session).cmdIdle, inLoggedIn},
		"GETQUOTA":     {(*session).cmdGetQuota, inLoggedIn},
		"GETQUOTAROOT": {(*session).cmdGetQuotaRoot, inLoggedIn},
		"SETQUOTA":     {(*session).cmdSetQuota, inLoggedIn},
		"COMPRESS":     {(*session).cmdCompress, inLoggedIn},
		"CHECK":        {(*session).cmdCheck, inSelected},
		"CLOSE":        {(*session).cmdClose, inSelected},
		"UNSELECT":     {(*session).cmdUnselect, inSelected},
		"EXPUNGE":      {(*session).cmdExpunge, inSelected},
		"FETCH":        {(*session).cmdFetch, inSelected},
		"STORE":        {(*session).cmdStore, inSelected},
		"SEARCH":       {(*session).cmdSearch, inSelected},
		"SORT":         {(*session).cmdSort, inSelected},
		"THREAD":       {(*session).cmdThread, inSelected},
		"COPY":         {(*session).cmdCopy, inSelected},
		"MOVE":         {(*session).cmdMove, inSelected},
	}
}

// execute runs one parsed command and writes its tagged response; false
// ends the session.
func (s *session) execute(cmd *wire.Command) bool {
	name := cmd.Name
	if cmd.UID {
		name = "UID " + name
	}
	spec, ok := commands[cmd.Name]
	if !ok {
		s.w.Status(cmd.Tag, "BAD", "", "unknown command "+name)
		return s.flush() == nil
	}
	if spec.states&(1<<s.state) == 0 {
		s.w.Status(cmd.Tag, "BAD", "", name+" not allowed in this state")
		return s.flush() == nil
	}
	start := time.Now()
	// Responses written before the final flush (a long FETCH) get the
	// same bound.
	s.conn.SetWriteDeadline(start.Add(s.idleTimeout))
	code, err := spec.fn(s, cmd)
	if errors.Is(err, errCloseConn) {
		return false
	}
	if errors.Is(err, errTaggedDone) {
		return s.flush() == nil
	}
	var se *statusError
	if err != nil && !errors.As(err, &se) {
		// A failure of ours, not the client's: log it with the
		// connection id and say no more than that to the client.
		s.log.Error("imap: command failed", "cmd", name, "err", err)
		se = &statusError{status: "NO", code: "SERVERBUG", text: name + " failed: internal error"}
		if s.w.Err() != nil {
			return false
		}
	}
	// RFC 9051 section 7.5.1 / 5.5: pending changes of the selected
	// mailbox are reported before the tagged response; expunges are held
	// back during FETCH, STORE and SEARCH by sequence number.
	if s.state == stateSelected && s.sel != nil {
		if err := s.syncSelected(expungeAllowed(cmd)); err != nil {
			if errors.Is(err, errCloseConn) {
				return false
			}
			s.log.Error("imap: reporting mailbox changes", "err", err)
		}
	}
	if se != nil {
		s.w.Status(cmd.Tag, se.status, se.code, se.text)
	} else {
		s.w.Status(cmd.Tag, "OK", code, name+" completed")
	}
	s.log.Debug("imap: command", "cmd", name, "ok", se == nil, "duration", time.Since(start))
	if s.flush() != nil {
		return false
	}
	return s.state != stateLogout
}

// expungeAllowed tells whether EXPUNGE responses may be sent while
// answering cmd. RFC 9051 section 7.5.1: not during FETCH, STORE or SEARCH
// (UID FETCH, UID STORE and UID SEARCH are different commands and may);
// SORT and THREAD by sequence number are SEARCH variants (RFC 5256) and
// are treated alike.
func expungeAllowed(cmd *wire.Command) bool {
	if cmd.UID {
		return true
	}
	switch cmd.Name {
	case "FETCH", "STORE", "SEARCH", "SORT", "THREAD":
		return false
	}
	return true
}

// capabilities lists what the session offers in its current state (RFC
// 9051 section 6.1.1): authentication mechanisms only before login, the
// rest of the extensions after.
func (s *session) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE", "IDLE", "SASL-IR"}
	if s.state == stateNotAuthenticated {
		if !s.tls && s.srv.cfg.TLS != nil {
			caps = append(caps, "STARTTLS")
		}
		if auth.PlaintextAllowed(s.tls, s.remote) {
			caps = append(caps, "AUTH=PLAIN")
			for _, m := range s.channelBinding().SCRAMMechanisms() {
				caps = append(caps, "AUTH="+m)
			}
		} else {
			// RFC 9051 section 6.2.3: LOGIN refused until TLS is on.
			caps = append(caps, "LOGINDISABLED")
		}
		return caps
	}
	caps = append(caps,
		"NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "SPECIAL-USE", "CREATE-SPECIAL-USE",
		"CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "ESEARCH", "SEARCHRES",
		"CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE",
		"APPENDLIMIT="+strconv.FormatInt(s.maxLiteral, 10), "MULTIAPPEND",
		"BINARY", "SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "UTF8=ACCEPT")
	if !s.compressed {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return caps
}

// cmdCapability: RFC 9051 section 6.1.1.
func (s *session) cmdCapability(cmd *wire.Command) (string, error) {
	s.w.StartUntagged()
	s.w.Atom("CAPABILITY")
	for _, c := range s.capabilities() {
		s.w.Atom(c)
	}
	s.w.EndLine()
	return "", nil
}

// cmdNoop: RFC 9051 section 6.1.2. Its work, reporting changes of the
// selected mailbox, happens in execute like after every command.
func (s *session) cmdNoop(cmd *wire.Command) (string, error) {
	return "", nil
}

// cmdLogout: RFC 9051 section 6.1.3: BYE, then the tagged OK.
func (s *session) cmdLogout(cmd *wire.Command) (string, error) {
	s.w.Status("", "BYE", "", "logging out")
	s.state = stateLogout
	s.sel = nil
	return "", nil
}

// cmdID: RFC 2971. The client's fields are logged, not used.
func (s *session) cmdID(cmd *wire.Command) (string, error) {
	if args, ok := cmd.Args.(*wire.IDArgs); ok && len(args.Params) > 0 {
		attrs := make([]any, 0, 2*len(args.Params))
		for i, p := range args.Params {
			if i >= 30 {
				break // RFC 2971 section 3.3: at most 30 pairs
			}
			attrs = append(attrs, "id_"+strings.ToLower(p.Key), p.Value)
		}
		s.log.Info("imap: client id", attrs...)
	}
	s.w.StartUntagged()
	s.w.Atom("ID")
	s.w.Open()
	s.w.Quoted("name")
	s.w.Quoted("mailport")
	s.w.Close()
	s.w.EndLine()
	return "", nil
}

// cmdNamespace: RFC 2342 / RFC 9051 section 6.3.10: one personal
// namespace with "/" as the hierarchy delimiter, no shared ones.
func (s *session) cmdNamespace(cmd *wire.Command) (string, error) {
	s.w.StartUntagged()
	s.w.Raw(`NAMESPACE (("" "/")) NIL NIL`)
	s.w.EndLine()
	return "", nil
}

// publish tells the change bus (so other sessions' IDLE wakes up) that a
// mailbox of this account changed.
func (s *session) publish(mailboxID int64, kind notify.Kind) {
	s.srv.cfg.Bus.Publish(notify.Event{AccountID: s.account.ID, MailboxID: mailboxID, Kind: kind})
}

// deleteBlobs removes blobs the store no longer refers to; a failure only
// leaves garbage behind, so it is logged.
func (s *session) deleteBlobs(ids []string) {
	if len(ids) == 0 || s.srv.cfg.Blobs == nil {
		return
	}
	if err := s.srv.cfg.Blobs.Delete(ids...); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("imap: removing message blobs", "err", err)
	}
}
