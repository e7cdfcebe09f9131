// Package wire is the IMAP wire format of mailport's IMAP server: it
// parses client commands into plain typed values and encodes responses. It
// does no I/O beyond reading a bufio.Reader and writing a bufio.Writer and
// knows nothing of storage or sessions ("parsing apart from behaviour",
// STYLE.md); internal/imapd builds the session and one file per command on
// top of it.
//
// # Reading commands
//
//	r := wire.NewReader(bufio.NewReader(conn))
//	r.Continue = func() error { w.Continuation("Ready"); return w.Flush() }
//	for {
//		cmd, err := r.ReadCommand()
//		if pe, ok := wire.AsParseError(err); ok {
//			w.Status(pe.Tag, pe.Status, pe.Code, pe.Msg)
//			if pe.Fatal { /* write "* BYE", close */ }
//			continue
//		} else if err != nil { /* I/O error: close */ }
//		switch args := cmd.Args.(type) { ... }
//	}
//
// Command.Args has one concrete type per command (see Command). Mailbox
// names arrive decoded to UTF-8: set Reader.UTF8 (and Writer.UTF8) after
// the client enables IMAP4rev2 or UTF8=ACCEPT.
//
// Literals (RFC 9051 section 4.3, RFC 7888, RFC 3516): a synchronizing
// literal "{N}" within limits makes the Reader call Continue before it
// reads the bytes; one beyond the limits is refused with a recoverable
// ParseError (Code "TOOBIG") without a continuation, so the client never
// sends it. A non-synchronizing literal "{N+}" beyond the limits is a
// fatal ParseError: its bytes are already on the way. With
// Reader.LiteralMinus, non-synchronizing literals above 4096 bytes are
// refused (RFC 7888 section 5) and skipped.
//
// Reader.AppendCheck lets the session refuse an APPEND message from its
// announcement (NO [TRYCREATE] for a missing mailbox, NO [OVERQUOTA])
// before a continuation request is sent or its bytes are read.
//
// APPEND messages are streamed: ReadCommand returns *AppendArgs whose
// Message.Body reads the literal straight from the connection (at most
// Reader.MaxLiteralSize, "NO [TOOBIG]" above). After consuming it the
// session calls Reader.NextAppendMessage, which returns the next message
// of a MULTIAPPEND or nil at the end of the command. A session that stops
// early (after replying NO) simply calls ReadCommand again; the rest of
// the APPEND is skipped.
//
// IDLE's "DONE" and AUTHENTICATE's client responses are lines outside the
// command grammar: read them with ReadIdleDone and ReadSASLResponse.
//
// # Writing responses
//
// Writer writes tokens with automatic single spaces (see Writer), chooses
// between quoted strings and literals, streams literals from an io.Reader
// (WriteLiteralFrom), and encodes ENVELOPE and BODY/BODYSTRUCTURE from
// internal/mime's parsed structures.
package wire
