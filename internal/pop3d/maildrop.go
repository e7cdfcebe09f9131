package pop3d

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"mailport/internal/notify"
)

// uidl is the unique-id of a message, RFC 1939 section 7: 1 to 70
// characters in 0x21..0x7E, the same for a message in every session. The
// mailbox's UIDVALIDITY with the message's UID is exactly that, and it
// changes if the mailbox is ever recreated, as it must.
func (ss *session) uidl(m message) string {
	return fmt.Sprintf("%d.%d", ss.mailbox.UIDValidity, m.uid)
}

// stat counts the messages not marked deleted and their size.
func (ss *session) stat() (n int, size int64) {
	for _, m := range ss.msgs {
		if !m.deleted {
			n++
			size += m.size
		}
	}
	return n, size
}

// lookup resolves a message-number argument (RFC 1939 section 5: numbers
// start at 1; deleted messages may not be referred to). It answers the
// client itself when the number is bad.
func (ss *session) lookup(arg string) (int, bool) {
	n, ok := parseNumber(arg)
	if !ok || n < 1 || n > len(ss.msgs) || ss.msgs[n-1].deleted {
		ss.reply("-ERR no such message")
		return 0, false
	}
	return n, true
}

// parseNumber accepts only plain decimal digits (no sign, no spaces), at
// most 9 of them so the value always fits in an int.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// cmdStat is RFC 1939 section 5 STAT: "+OK nn mm" exactly, clients parse it.
func (ss *session) cmdStat(args []string) bool {
	if len(args) != 0 {
		return ss.syntaxError("STAT")
	}
	n, size := ss.stat()
	ss.reply("+OK %d %d", n, size)
	return false
}

// cmdList is RFC 1939 section 5 LIST.
func (ss *session) cmdList(args []string) bool {
	switch len(args) {
	case 0:
		n, size := ss.stat()
		ss.reply("+OK %d messages (%d octets)", n, size)
		for i, m := range ss.msgs {
			if !m.deleted {
				ss.reply("%d %d", i+1, m.size)
			}
		}
		ss.reply(".")
	case 1:
		if n, ok := ss.lookup(args[0]); ok {
			ss.reply("+OK %d %d", n, ss.msgs[n-1].size)
		} else {
			return ss.countError()
		}
	default:
		return ss.syntaxError("LIST")
	}
	return false
}

// cmdUidl is RFC 1939 section 7 UIDL.
func (ss *session) cmdUidl(args []string) bool {
	switch len(args) {
	case 0:
		ss.reply("+OK unique-id listing follows")
		for i, m := range ss.msgs {
			if !m.deleted {
				ss.reply("%d %s", i+1, ss.uidl(m))
			}
		}
		ss.reply(".")
	case 1:
		if n, ok := ss.lookup(args[0]); ok {
			ss.reply("+OK %d %s", n, ss.uidl(ss.msgs[n-1]))
		} else {
			return ss.countError()
		}
	default:
		return ss.syntaxError("UIDL")
	}
	return false
}

// cmdRetr is RFC 1939 section 5 RETR.
func (ss *session) cmdRetr(args []string) bool {
	if len(args) != 1 {
		return ss.syntaxError("RETR")
	}
	n, ok := ss.lookup(args[0])
	if !ok {
		return ss.countError()
	}
	return ss.sendMessage(n, -1)
}

// cmdTop is RFC 1939 section 7 TOP: the header, the blank line, and the
// first lines of the body.
func (ss *session) cmdTop(args []string) bool {
	if len(args) != 2 {
		return ss.syntaxError("TOP")
	}
	lines, ok := parseNumber(args[1])
	if !ok {
		return ss.syntaxError("TOP")
	}
	n, ok := ss.lookup(args[0])
	if !ok {
		return ss.countError()
	}
	return ss.sendMessage(n, lines)
}

// sendMessage streams message n as a multi-line response; bodyLines < 0
// sends it whole. If reading the blob fails after "+OK" has gone out, the
// response cannot be ended correctly, so the connection is closed.
func (ss *session) sendMessage(n, bodyLines int) bool {
	m := ss.msgs[n-1]
	if ss.srv.cfg.Blobs == nil {
		ss.reply("-ERR [SYS/TEMP] message storage unavailable")
		return false
	}
	f, err := ss.srv.cfg.Blobs.Open(m.blobID)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Removed since the snapshot (by an IMAP expunge).
			ss.log.Info("pop3: message gone", "uid", m.uid, "err", err)
			ss.reply("-ERR [SYS/PERM] message no longer exists")
			return false
		}
		ss.log.Error("pop3: open message failed", "uid", m.uid, "err", err)
		ss.reply("-ERR [SYS/TEMP] cannot read message, try again later")
		return false
	}
	defer f.Close()
	ss.reply("+OK %d octets", m.size)
	if ss.writeErr != nil {
		return true
	}
	dw := newDotWriter(ss.w, bodyLines)
	if _, err := io.Copy(dw, f); err != nil && !errors.Is(err, errTopDone) {
		ss.log.Error("pop3: sending message failed", "uid", m.uid, "err", err)
		return true
	}
	if err := dw.finish(); err != nil {
		ss.writeErr = err
		return true
	}
	return false
}

// cmdDele is RFC 1939 section 5 DELE: only marks; UPDATE removes.
func (ss *session) cmdDele(args []string) bool {
	if len(args) != 1 {
		return ss.syntaxError("DELE")
	}
	n, ok := parseNumber(args[0])
	if ok && n >= 1 && n <= len(ss.msgs) && ss.msgs[n-1].deleted {
		ss.reply("-ERR message %d already deleted", n)
		return ss.countError()
	}
	if n, ok = ss.lookup(args[0]); !ok {
		return ss.countError()
	}
	ss.msgs[n-1].deleted = true
	ss.reply("+OK message %d deleted", n)
	return false
}

// cmdRset is RFC 1939 section 5 RSET: unmark every deletion.
func (ss *session) cmdRset(args []string) bool {
	if len(args) != 0 {
		return ss.syntaxError("RSET")
	}
	for i := range ss.msgs {
		ss.msgs[i].deleted = false
	}
	n, size := ss.stat()
	ss.reply("+OK maildrop has %d messages (%d octets)", n, size)
	return false
}

// cmdQuit in TRANSACTION enters the UPDATE state (RFC 1939 section 6):
// the marked messages are expunged from the store, their blobs deleted
// and subscribers (IMAP IDLE) told.
func (ss *session) cmdQuit(args []string) bool {
	if len(args) != 0 {
		return ss.syntaxError("QUIT")
	}
	ss.state = stateUpdate
	var uids []uint32
	for _, m := range ss.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	n, _ := ss.stat()
	if len(uids) > 0 {
		st := ss.srv.cfg.Store
		blobs, err := st.Expunge(ss.ctx, ss.mailbox.ID, uids)
		if err != nil {
			ss.log.Error("pop3: expunge failed", "uids", len(uids), "err", err)
			// RFC 1939 section 6: -ERR when some deleted messages could
			// not be removed.
			ss.reply("-ERR [SYS/TEMP] some deleted messages not removed")
			return true
		}
		ss.log.Info("pop3: expunged", "messages", len(uids))
		if ss.srv.cfg.Blobs != nil && len(blobs) > 0 {
			if err := ss.srv.cfg.Blobs.Delete(blobs...); err != nil {
				// The messages are gone from the store; a leftover file
				// only wastes space.
				ss.log.Warn("pop3: deleting message files failed", "err", err)
			}
		}
		if bus := ss.srv.cfg.Bus; bus != nil {
			ev := notify.Event{AccountID: ss.acct.ID, MailboxID: ss.mailbox.ID, Kind: notify.MessagesExpunged}
			if mb, err := st.GetMailboxByID(ss.ctx, ss.mailbox.ID); err == nil {
				ev.ModSeq = mb.HighestModSeq
			} else {
				ss.log.Warn("pop3: reading mailbox after expunge failed", "err", err)
			}
			bus.Publish(ev)
		}
	}
	if n == 0 {
		ss.reply("+OK %s POP3 server signing off (maildrop empty)", ss.srv.cfg.Hostname)
	} else {
		ss.reply("+OK %s POP3 server signing off (%d messages left)", ss.srv.cfg.Hostname, n)
	}
	return true
}
