package imapd

import (
	"errors"
	"fmt"
	"time"

	"mailport/internal/imapd/wire"
)

// cmdIdle: IDLE (RFC 2177, RFC 9051 section 6.3.13). After "+ idling"
// the session reports changes of the selected mailbox as they happen:
// the change bus wakes it (no polling), and it reads the store's changes
// since its MODSEQ exactly as after a command. A second goroutine, alive
// only during IDLE, waits for the client's "DONE". The autologout timer
// is re-armed when IDLE starts.
func (s *session) cmdIdle(cmd *wire.Command) (string, error) {
	// Events from before IDLE are covered by the sync below.
drain:
	for {
		select {
		case <-s.sub.C:
		default:
			break drain
		}
	}
	if s.sel != nil {
		if err := s.syncSelected(true); err != nil {
			return "", err
		}
	}
	s.w.Continuation("idling")
	if err := s.flush(); err != nil {
		return "", errCloseConn
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(s.idleTimeout)); err != nil {
		return "", errCloseConn
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			// Like the session's own recover: a bug ends this
			// connection, not the server.
			if v := recover(); v != nil {
				s.log.Error("imap: bug: panic reading DONE", "panic", fmt.Sprint(v))
				done <- errCloseConn
			}
		}()
		done <- s.r.ReadIdleDone()
	}()
	for {
		select {
		case err := <-done:
			if err == nil {
				return "", nil
			}
			if _, ok := wire.AsParseError(err); ok {
				return "", bad("expected DONE")
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				s.bye("autologout; idle for too long")
			}
			return "", errCloseConn
		case ev := <-s.sub.C:
			if s.sel == nil || ev.MailboxID != s.sel.mailbox.ID {
				continue
			}
			if err := s.syncSelected(true); err != nil {
				s.conn.Close()
				<-done
				if errors.Is(err, errCloseConn) {
					return "", errCloseConn
				}
				return "", err
			}
			if err := s.flush(); err != nil {
				s.conn.Close()
				<-done
				return "", errCloseConn
			}
		case <-s.srv.conns.Closing():
			s.bye("server shutting down")
			s.conn.Close()
			<-done
			return "", errCloseConn
		}
	}
}
