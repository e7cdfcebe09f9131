package pop3d

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"mailport/internal/auth"
	"mailport/internal/store"
)

func (s state) String() string {
	switch s {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	case stateUpdate:
		return "UPDATE"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

func (ss *session) plaintextAllowed() bool {
	return auth.PlaintextAllowed(ss.tls, ss.remote)
}

// refusePlaintext answers a login attempt on a connection where passwords
// may not be sent in the clear, with the RFC 3206 [AUTH] code.
func (ss *session) refusePlaintext() bool {
	if ss.srv.cfg.TLS != nil {
		ss.reply("-ERR [AUTH] plaintext authentication requires TLS: use STLS first")
	} else {
		ss.reply("-ERR [AUTH] plaintext authentication requires TLS")
	}
	return ss.countError()
}

// cmdUser is RFC 1939 section 7 USER.
func (ss *session) cmdUser(args []string) bool {
	if len(args) != 1 {
		return ss.syntaxError("USER")
	}
	if !ss.plaintextAllowed() {
		return ss.refusePlaintext()
	}
	ss.user = args[0]
	ss.reply("+OK send PASS")
	return false
}

// cmdPass is RFC 1939 section 7 PASS; it must follow USER.
func (ss *session) cmdPass(args []string) bool {
	if !ss.plaintextAllowed() {
		return ss.refusePlaintext()
	}
	if ss.user == "" {
		ss.reply("-ERR USER first")
		return ss.countError()
	}
	if len(args) != 1 {
		return ss.syntaxError("PASS")
	}
	user := ss.user
	ss.user = ""
	return ss.login(user, args[0])
}

// cmdAuth is RFC 5034 AUTH with the PLAIN (RFC 4616) and SCRAM-SHA-256
// (RFC 7677) mechanisms, with channel binding (-PLUS) on TLS
// (authscram.go).
func (ss *session) cmdAuth(args []string) bool {
	cb := ss.channelBinding()
	if len(args) == 0 {
		// Before RFC 5034, clients probed with a bare AUTH to get the
		// mechanism list (RFC 1734 era); answering it costs nothing.
		ss.reply("+OK SASL mechanisms follow")
		if ss.plaintextAllowed() {
			ss.reply(sasl.Plain)
			for _, m := range cb.SCRAMMechanisms() {
				ss.reply(m)
			}
		}
		ss.reply(".")
		return false
	}
	mech := strings.ToUpper(args[0])
	scramMech, isSCRAM := cb.SCRAMMechanism(mech)
	if mech != sasl.Plain && !isSCRAM {
		ss.reply("-ERR unsupported SASL mechanism")
		return ss.countError()
	}
	// SCRAM keeps the password off the wire, but follows PLAIN's rule so
	// that no login of any kind happens in the clear.
	if !ss.plaintextAllowed() {
		return ss.refusePlaintext()
	}
	ss.user = ""

	var resp []byte
	if len(args) == 2 {
		// RFC 5034 section 4: "=" stands for an empty initial response.
		var err error
		if resp, err = decodeSASL(args[1]); err != nil {
			ss.reply("-ERR invalid base64 in authentication response")
			return ss.countError()
		}
	}
	if isSCRAM {
		return ss.authSCRAM(scramMech, cb, resp)
	}
	if resp == nil {
		// RFC 5034 section 4: no initial response, so send an empty
		// challenge and read the client's response line.
		var ok, end bool
		if resp, ok, end = ss.saslChallenge(nil); !ok {
			return end
		}
	}

	// The PLAIN message itself is decoded by go-sasl; the callback takes
	// the credentials out, and the login runs here where its outcome can
	// be answered with the right response code.
	var identity, username, password string
	server := sasl.NewPlainServer(func(id, user, pass string) error {
		identity, username, password = id, user, pass
		return nil
	})
	if _, _, err := server.Next(resp); err != nil {
		ss.reply("-ERR malformed PLAIN response")
		return ss.countError()
	}
	// RFC 4616 section 2: an authorization identity other than the
	// authentication identity would mean acting as another user, which
	// is not supported. The two are compared as logins are looked up
	// (auth.LoginKey), so both forms of an internationalized domain name
	// are the same user.
	if identity != "" && auth.LoginKey(identity) != auth.LoginKey(username) {
		ss.reply("-ERR [AUTH] authorization identity must match the login")
		return ss.countError()
	}
	return ss.login(username, password)
}

// decodeSASL decodes a client response of an AUTH exchange: base64, or
// "=" for an empty one (RFC 5034 section 4).
func decodeSASL(encoded string) ([]byte, error) {
	if encoded == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(encoded)
}

// saslChallenge sends a challenge of an AUTH exchange ("+ " and base64,
// RFC 5034 section 4) and reads the client's response. ok false means the
// exchange is over, already answered, and end is cmdAuth's result.
func (ss *session) saslChallenge(data []byte) (resp []byte, ok, end bool) {
	ss.reply("+ %s", base64.StdEncoding.EncodeToString(data))
	if !ss.flushNow() {
		return nil, false, true
	}
	line, err := ss.readLine(maxAuthResponseLength)
	if errors.Is(err, errLineTooLong) {
		ss.reply("-ERR authentication response too long")
		return nil, false, ss.countError()
	}
	if err != nil {
		ss.endOnReadError(err)
		return nil, false, true
	}
	// RFC 5034 section 4: "*" cancels the exchange.
	if line == "*" {
		ss.reply("-ERR authentication cancelled")
		return nil, false, false
	}
	if resp, err = decodeSASL(line); err != nil {
		ss.reply("-ERR invalid base64 in authentication response")
		return nil, false, ss.countError()
	}
	return resp, true, false
}

// login authenticates, locks the maildrop and takes its snapshot, moving
// to the TRANSACTION state (RFC 1939 section 4). On any failure the session
// stays in AUTHORIZATION.
func (ss *session) login(user, password string) bool {
	acct, err := ss.srv.cfg.Auth.Authenticate(ss.ctx, user, password, ss.remote)
	return ss.loggedIn(acct, err)
}

// loggedIn answers the outcome of a login by any mechanism and, for a
// success, locks the maildrop and takes its snapshot.
func (ss *session) loggedIn(acct store.Account, err error) bool {
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		// RFC 3206 section 4: [AUTH] for bad credentials.
		ss.reply("-ERR [AUTH] invalid login or password")
		return ss.countError()
	case ss.ctx.Err() != nil:
		return true
	case err != nil:
		ss.log.Error("pop3: authentication unavailable", "err", err)
		ss.reply("-ERR [SYS/TEMP] authentication temporarily unavailable")
		return false
	}

	// RFC 2449 section 8.1.2: [IN-USE] when another session holds the
	// maildrop.
	if !ss.srv.lockMaildrop(acct.ID) {
		ss.log.Info("pop3: maildrop in use", "account", acct.Address)
		ss.reply("-ERR [IN-USE] maildrop already locked")
		return false
	}
	ss.acct, ss.haveLock = acct, true

	mb, msgs, err := ss.snapshot()
	if err != nil {
		ss.srv.unlockMaildrop(acct.ID)
		ss.acct, ss.haveLock = store.Account{}, false
		if errors.Is(err, store.ErrNotFound) {
			ss.log.Info("pop3: account has no INBOX", "account", acct.Address)
			ss.reply("-ERR [SYS/PERM] this account has no maildrop")
			return false
		}
		ss.log.Error("pop3: reading maildrop failed", "account", acct.Address, "err", err)
		ss.reply("-ERR [SYS/TEMP] cannot open maildrop, try again later")
		return false
	}
	ss.mailbox, ss.msgs = mb, msgs
	ss.state = stateTransaction
	ss.log = ss.log.With("account", acct.Address)
	n, size := ss.stat()
	ss.log.Info("pop3: logged in", "messages", n, "tls", ss.tls)
	ss.reply("+OK maildrop locked and ready (%d messages, %d octets)", n, size)
	return false
}

// snapshot reads the INBOX: message numbers 1..n in UID order.
func (ss *session) snapshot() (store.Mailbox, []message, error) {
	st := ss.srv.cfg.Store
	mb, err := st.GetMailbox(ss.ctx, ss.acct.ID, "INBOX")
	if err != nil {
		return store.Mailbox{}, nil, fmt.Errorf("pop3d: get INBOX: %w", err)
	}
	list, err := st.ListMessages(ss.ctx, mb.ID)
	if err != nil {
		return store.Mailbox{}, nil, fmt.Errorf("pop3d: list INBOX: %w", err)
	}
	msgs := make([]message, len(list))
	for i, m := range list {
		msgs[i] = message{uid: m.UID, size: m.Size, blobID: m.BlobID}
	}
	return mb, msgs, nil
}

// cmdStls is RFC 2595 section 4 STLS.
func (ss *session) cmdStls(args []string) bool {
	if len(args) != 0 {
		return ss.syntaxError("STLS")
	}
	if ss.srv.cfg.TLS == nil {
		ss.reply("-ERR STLS not available")
		return ss.countError()
	}
	if ss.tls {
		ss.reply("-ERR TLS already active")
		return ss.countError()
	}
	ss.reply("+OK begin TLS negotiation")
	// Write directly: buffered pipelined input must not delay it.
	if err := ss.w.Flush(); err != nil {
		return true
	}
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	ss.conn = tc
	// A new reader drops whatever the client pipelined after STLS in the
	// clear; the TLS layer reads straight from the socket.
	ss.setStreams(tc)
	if err := tc.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return true
	}
	if err := ss.handshake(tc); err != nil {
		ss.log.Info("pop3: STLS handshake failed", "err", err)
		return true
	}
	if err := tc.SetDeadline(time.Time{}); err != nil {
		return true
	}
	// RFC 2595 section 4: forget anything learnt before TLS.
	ss.user = ""
	ss.log.Debug("pop3: TLS started", "version", tls.VersionName(tc.ConnectionState().Version))
	return false
}

// flushNow sends buffered output regardless of pipelined input; used
// before waiting for a continuation line.
func (ss *session) flushNow() bool {
	if ss.writeErr != nil {
		return false
	}
	if err := ss.w.Flush(); err != nil {
		ss.writeErr = err
		return false
	}
	return true
}
