package imapd

import (
	"errors"
	"fmt"
	"time"

	"mailport/internal/blob"
	"mailport/internal/delivery"
	"mailport/internal/imapd/wire"
	"mailport/internal/store"
)

// appendCheck is the wire Reader's AppendCheck: it refuses an APPEND
// message from its announcement, before the client sends the bytes
// (RFC 9051 section 6.3.12: NO [TRYCREATE] for a missing mailbox; RFC
// 9208 section 7: NO [OVERQUOTA]). Sizes above MaxLiteralSize never get
// here: the Reader answers NO [TOOBIG] itself.
func (s *session) appendCheck(mailbox string, size int64) error {
	if s.state != stateAuthenticated && s.state != stateSelected {
		return &wire.ParseError{Status: "BAD", Msg: "APPEND not allowed in this state"}
	}
	st := s.srv.cfg.Store
	if _, err := st.GetMailbox(s.ctx, s.account.ID, mailbox); errors.Is(err, store.ErrNotFound) {
		return &wire.ParseError{Status: "NO", Code: "TRYCREATE", Msg: "no such mailbox"}
	} else if err != nil {
		s.log.Error("imap: append check", "err", err)
		return &wire.ParseError{Status: "NO", Code: "UNAVAILABLE", Msg: "mailbox temporarily unavailable"}
	}
	acct, err := st.GetAccount(s.ctx, s.account.ID)
	if err != nil {
		s.log.Error("imap: append check", "err", err)
		return &wire.ParseError{Status: "NO", Code: "UNAVAILABLE", Msg: "account temporarily unavailable"}
	}
	if overQuota(acct, size) {
		return &wire.ParseError{Status: "NO", Code: "OVERQUOTA", Msg: "quota exceeded"}
	}
	return nil
}

// cmdAppend: APPEND (RFC 9051 section 6.3.12) and MULTIAPPEND (RFC
// 3502). Each message is written to a blob as it streams in (never held
// in memory), parsed once like a delivery, and all of the command's
// messages are committed together through the group Committer, which
// syncs the blobs first. The tagged OK carries APPENDUID (RFC 4315
// section 3). RFC 3502 section 6.3.11: if any message fails, none is
// kept.
func (s *session) cmdAppend(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.AppendArgs)
	cfg := s.srv.cfg
	mb, err := s.getMailbox(args.Mailbox)
	if err != nil {
		if se, ok := err.(*statusError); ok && se.code == "NONEXISTENT" {
			return "", no("TRYCREATE", "no such mailbox")
		}
		return "", err
	}
	var items []delivery.Append
	var blobs []string
	discard := func() {
		s.deleteBlobs(blobs)
	}
	for msg := args.Message; msg != nil; {
		flags, err := storeFlags(msg.Flags)
		if err != nil {
			discard()
			return "", err
		}
		id, size, err := cfg.Blobs.Put(s.ctx, msg.Body, s.maxLiteral)
		if err != nil {
			discard()
			if errors.Is(err, blob.ErrTooLarge) {
				return "", no("TOOBIG", "message too large")
			}
			// The literal could not be read to its end: the stream is
			// out of step with the client.
			s.log.Info("imap: append literal", "err", err)
			return "", errCloseConn
		}
		blobs = append(blobs, id)
		parsed := s.parseBlob(id)
		date := msg.Date
		if date.IsZero() {
			date = time.Now()
		}
		nm := store.NewMessage{MailboxID: mb.ID, Flags: flags, InternalDate: date, Size: size, BlobID: id}
		parsed.Fill(&nm)
		items = append(items, delivery.Append{AccountID: s.account.ID, Message: nm})
		msg, err = s.r.NextAppendMessage()
		if err != nil {
			discard()
			if pe, ok := wire.AsParseError(err); ok {
				if pe.Fatal {
					s.w.Status(cmd.Tag, pe.Status, pe.Code, pe.Msg)
					s.bye("protocol error")
					return "", errCloseConn
				}
				return "", &statusError{status: pe.Status, code: pe.Code, text: pe.Msg}
			}
			return "", errCloseConn
		}
	}

	results, err := cfg.Committer.Submit(s.ctx, items)
	if err != nil {
		discard()
		return "", fmt.Errorf("append: %w", err)
	}
	var stored []uint32
	var failure error
	for _, r := range results {
		if r.Err != nil {
			if failure == nil {
				failure = r.Err
			}
			continue
		}
		stored = append(stored, r.Message.UID)
	}
	if failure != nil {
		// All or nothing (RFC 3502): take back what was stored.
		var kept []string
		if len(stored) > 0 {
			if freed, err := cfg.Store.Expunge(s.ctx, mb.ID, stored); err != nil {
				s.log.Error("imap: undoing partial append", "err", err)
			} else {
				kept = freed
			}
		}
		for i, r := range results {
			if r.Err != nil {
				kept = append(kept, items[i].Message.BlobID)
			}
		}
		s.deleteBlobs(kept)
		switch {
		case errors.Is(failure, store.ErrOverQuota):
			return "", no("OVERQUOTA", "quota exceeded")
		case errors.Is(failure, store.ErrNotFound):
			return "", no("TRYCREATE", "no such mailbox")
		}
		return "", fmt.Errorf("append: %w", failure)
	}
	return fmt.Sprintf("APPENDUID %d %s", mb.UIDValidity, wire.SeqSetFromNumbers(stored).String()), nil
}

// parseBlob parses a stored message once for its envelope and structure,
// as delivery's spool stage does; a message that cannot be parsed is
// stored without them rather than refused.
func (s *session) parseBlob(id string) delivery.Parsed {
	f, err := s.srv.cfg.Blobs.Open(id)
	if err != nil {
		s.log.Warn("imap: reopen appended message", "err", err)
		return delivery.Parsed{}
	}
	defer f.Close()
	parsed, err := s.srv.cfg.Parser.Parse(f)
	if err != nil {
		s.log.Warn("imap: appended message not parsed; stored without cached structure", "err", err)
		return delivery.Parsed{}
	}
	return parsed
}
