package wire

import (
	"strings"
	"time"
)

// ReadCommand reads the next command.
//
// Errors:
//   - *ParseError with Fatal false: the command was bad (or refused for a
//     limit); the rest of its line has been skipped; the session answers
//     "tag BAD ..." (or "tag NO [TOOBIG] ...", see ParseError.Status) and
//     reads on.
//   - *ParseError with Fatal true: answer, then close the connection.
//   - anything else: an I/O error (io.EOF when the client closed the
//     connection between commands); close the connection.
//
// For APPEND the message literal is not read: see AppendArgs.
func (r *Reader) ReadCommand() (*Command, error) {
	if r.fatal != nil {
		return nil, r.fatal
	}
	if r.inAppend {
		// The session gave up on an APPEND: skip its remaining bytes.
		if err := r.abandonAppend(); err != nil {
			return nil, err
		}
	}
	r.seg, r.total, r.depth, r.lineDone = 0, 0, 0, false
	r.tag, r.name = "", ""
	cmd, err := r.readCommand()
	if err == nil {
		return cmd, nil
	}
	pe, ok := AsParseError(err)
	if !ok {
		return nil, err
	}
	pe.Tag, pe.Command = r.tag, r.name
	if pe.Status == "" {
		pe.Status = "BAD"
	}
	if !pe.Fatal {
		r.inAppend, r.append = false, nil
		if !r.lineDone {
			if derr := r.discardLine(); derr != nil {
				if dpe, ok := AsParseError(derr); ok {
					dpe.Tag, dpe.Command = r.tag, r.name
				}
				return nil, derr
			}
		}
	}
	return nil, pe
}

func (r *Reader) readCommand() (*Command, error) {
	if eol, err := r.atEOL(); err != nil || eol {
		if err != nil {
			return nil, err
		}
		return nil, badf("empty command line")
	}
	tag, err := r.run(isTagChar, "tag")
	if err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c != ' ' {
		// Not a valid tag: answer untagged (RFC 9051 section 7.1.3).
		return nil, badf("invalid tag or missing command")
	}
	r.tag = tag
	if err := r.sp(); err != nil {
		return nil, err
	}
	name, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	cmd := &Command{Tag: tag, Name: name}
	if name == "UID" {
		if err := r.sp(); err != nil {
			return nil, err
		}
		if name, err = r.upperAtom(); err != nil {
			return nil, err
		}
		switch name {
		case "FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE", "SORT", "THREAD":
		default:
			r.name = "UID " + name
			return nil, badf("unknown UID command %q", name)
		}
		cmd.Name, cmd.UID = name, true
	}
	r.name = cmd.Name
	parse, ok := commandParsers[cmd.Name]
	if !ok {
		return nil, badf("unknown command %q", cmd.Name)
	}
	if cmd.Args, err = parse(r, cmd); err != nil {
		return nil, err
	}
	if cmd.Name != "APPEND" {
		if err := r.crlf(); err != nil {
			return nil, err
		}
	}
	return cmd, nil
}

type parseFunc func(r *Reader, cmd *Command) (any, error)

var commandParsers map[string]parseFunc

func init() {
	noArgs := func(*Reader, *Command) (any, error) { return nil, nil }
	commandParsers = map[string]parseFunc{
		"CAPABILITY": noArgs, "NOOP": noArgs, "LOGOUT": noArgs, "STARTTLS": noArgs,
		"CHECK": noArgs, "CLOSE": noArgs, "UNSELECT": noArgs, "NAMESPACE": noArgs,
		"IDLE":         noArgs,
		"EXPUNGE":      parseExpunge,
		"AUTHENTICATE": parseAuthenticate,
		"LOGIN":        parseLogin,
		"ENABLE":       parseEnable,
		"SELECT":       parseSelect,
		"EXAMINE":      parseSelect,
		"CREATE":       parseCreate,
		"DELETE":       parseMailboxOnly,
		"SUBSCRIBE":    parseMailboxOnly,
		"UNSUBSCRIBE":  parseMailboxOnly,
		"GETQUOTAROOT": parseMailboxOnly,
		"RENAME":       parseRename,
		"LIST":         parseList,
		"LSUB":         parseLsub,
		"STATUS":       parseStatus,
		"APPEND":       parseAppend,
		"SEARCH":       parseSearch,
		"FETCH":        parseFetch,
		"STORE":        parseStore,
		"COPY":         parseCopy,
		"MOVE":         parseCopy,
		"SORT":         parseSort,
		"THREAD":       parseThread,
		"GETQUOTA":     parseGetQuota,
		"SETQUOTA":     parseSetQuota,
		"ID":           parseID,
		"COMPRESS":     parseCompress,
	}
}

// RFC 4315 section 2.1: UID EXPUNGE sequence-set; plain EXPUNGE has no
// argument.
func parseExpunge(r *Reader, cmd *Command) (any, error) {
	if !cmd.UID {
		return nil, nil
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	set, err := r.seqSet()
	if err != nil {
		return nil, err
	}
	return &ExpungeArgs{UIDs: set}, nil
}

// RFC 9051 section 6.2.2 and RFC 4959: AUTHENTICATE SP auth-type
// [SP (base64 / "=")].
func parseAuthenticate(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mech, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	args := &AuthenticateArgs{Mechanism: mech}
	if eol, err := r.atEOL(); err != nil || eol {
		return args, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	ir, err := r.run(func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '='
	}, "initial response")
	if err != nil {
		return nil, err
	}
	if args.InitialResponse, err = decodeSASL(ir); err != nil {
		return nil, err
	}
	return args, nil
}

// RFC 9051 section 6.2.3: LOGIN SP userid SP password.
func parseLogin(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	user, err := r.astring()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	pass, err := r.astring()
	if err != nil {
		return nil, err
	}
	return &LoginArgs{Username: user, Password: pass}, nil
}

// RFC 5161 section 3.1: ENABLE 1*(SP capability).
func parseEnable(r *Reader, _ *Command) (any, error) {
	args := &EnableArgs{}
	for {
		if eol, err := r.atEOL(); err != nil || eol {
			if err == nil && len(args.Capabilities) == 0 {
				err = badf("ENABLE needs at least one capability")
			}
			return args, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		c, err := r.upperAtom()
		if err != nil {
			return nil, err
		}
		args.Capabilities = append(args.Capabilities, c)
	}
}

// RFC 9051 section 6.3.2, RFC 7162 sections 3.1.8 and 3.2.5:
// SELECT SP mailbox [SP "(" select-param *(SP select-param) ")"].
func parseSelect(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	args := &SelectArgs{Mailbox: mbox}
	if eol, err := r.atEOL(); err != nil || eol {
		return args, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	err = r.list(false, func() error {
		p, err := r.upperAtom()
		if err != nil {
			return err
		}
		switch p {
		case "CONDSTORE":
			args.CondStore = true
			return nil
		case "QRESYNC":
			if args.QResync != nil {
				return badf("QRESYNC given twice")
			}
			if err := r.sp(); err != nil {
				return err
			}
			args.QResync, err = r.qresyncParams()
			return err
		}
		return badf("unknown SELECT parameter %q", p)
	})
	return args, err
}

// qresyncParams parses "(" uidvalidity SP mod-sequence-value [SP
// known-uids] [SP seq-match-data] ")" (RFC 7162 section 3.2.5).
func (r *Reader) qresyncParams() (*QResyncArgs, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	q := &QResyncArgs{}
	var err error
	if q.UIDValidity, err = r.nzNumber(); err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = r.number64(); err != nil {
		return nil, err
	}
	for {
		if ok, err := r.maybe(')'); err != nil || ok {
			r.depth--
			return q, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c == '(' {
			if q.SeqMatch != nil {
				return nil, badf("QRESYNC sequence match data given twice")
			}
			if err := r.open(); err != nil {
				return nil, err
			}
			seqs, err := r.seqSet()
			if err != nil {
				return nil, err
			}
			if err := r.sp(); err != nil {
				return nil, err
			}
			uids, err := r.seqSet()
			if err != nil {
				return nil, err
			}
			if err := r.close(); err != nil {
				return nil, err
			}
			q.SeqMatch, q.UIDMatch = &seqs, &uids
			continue
		}
		if q.KnownUIDs != nil || q.SeqMatch != nil {
			return nil, badf("unexpected QRESYNC parameter")
		}
		known, err := r.seqSet()
		if err != nil {
			return nil, err
		}
		if known.Saved {
			return nil, badf("$ not allowed in QRESYNC known UIDs")
		}
		q.KnownUIDs = &known
	}
}

// RFC 9051 section 6.3.4, RFC 6154 section 3: CREATE SP mailbox
// [SP "(" "USE" SP "(" use-attr *(SP use-attr) ")" ")"].
func parseCreate(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	args := &CreateArgs{Mailbox: mbox}
	if eol, err := r.atEOL(); err != nil || eol {
		return args, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	err = r.list(false, func() error {
		p, err := r.upperAtom()
		if err != nil {
			return err
		}
		if p != "USE" {
			return badf("unknown CREATE parameter %q", p)
		}
		if err := r.sp(); err != nil {
			return err
		}
		return r.list(false, func() error {
			f, err := r.flag()
			if err == nil && !strings.HasPrefix(f, `\`) {
				err = badf("special-use attribute must start with a backslash")
			}
			args.SpecialUse = append(args.SpecialUse, f)
			return err
		})
	})
	return args, err
}

func parseMailboxOnly(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	return &MailboxArgs{Mailbox: mbox}, nil
}

// RFC 9051 section 6.3.6: RENAME SP mailbox SP mailbox.
func parseRename(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	from, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	to, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	return &RenameArgs{From: from, To: to}, nil
}

// RFC 5258 section 6: list = "LIST" [SP list-select-opts] SP mailbox SP
// mbox-or-pat [SP list-return-opts].
func parseList(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &ListArgs{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		args.Extended = true
		err := r.list(true, func() error {
			opt, err := r.upperAtom()
			if err != nil {
				return err
			}
			switch opt {
			case "SUBSCRIBED":
				args.SelectSubscribed = true
			case "REMOTE":
				args.SelectRemote = true
			case "RECURSIVEMATCH":
				args.SelectRecursiveMatch = true
			case "SPECIAL-USE":
				args.SelectSpecialUse = true
			default:
				// RFC 5258 section 3: unknown selection options are an
				// error.
				return badf("unknown LIST selection option %q", opt)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// RFC 5258 section 3.1: RECURSIVEMATCH needs another option.
		if args.SelectRecursiveMatch && !args.SelectSubscribed && !args.SelectSpecialUse {
			return nil, badf("RECURSIVEMATCH needs another selection option")
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	if args.Reference, err = r.mailbox(); err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if c, err = r.peek(); err != nil {
		return nil, err
	}
	if c == '(' {
		args.Extended = true
		err = r.list(false, func() error {
			p, err := r.listMailbox()
			args.Patterns = append(args.Patterns, p)
			return err
		})
	} else {
		var p string
		p, err = r.listMailbox()
		args.Patterns = []string{p}
	}
	if err != nil {
		return nil, err
	}
	if eol, err := r.atEOL(); err != nil || eol {
		return args, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	word, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	if word != "RETURN" {
		return nil, badf("expected RETURN, got %q", word)
	}
	args.Extended = true
	if err := r.sp(); err != nil {
		return nil, err
	}
	err = r.list(true, func() error {
		opt, err := r.upperAtom()
		if err != nil {
			return err
		}
		switch opt {
		case "SUBSCRIBED":
			args.ReturnSubscribed = true
		case "CHILDREN":
			args.ReturnChildren = true
		case "SPECIAL-USE":
			args.ReturnSpecialUse = true
		case "STATUS":
			// RFC 5819 section 2: STATUS (status-att ...).
			if err := r.sp(); err != nil {
				return err
			}
			items, err := r.statusItems()
			if err != nil {
				return err
			}
			args.ReturnStatus = items
		default:
			return badf("unknown LIST return option %q", opt)
		}
		return nil
	})
	return args, err
}

// RFC 3501 section 6.3.9: LSUB SP mailbox SP list-mailbox.
func parseLsub(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	ref, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	p, err := r.listMailbox()
	if err != nil {
		return nil, err
	}
	return &ListArgs{Reference: ref, Patterns: []string{p}, SelectSubscribed: true}, nil
}

// statusItems reads "(" status-att *(SP status-att) ")" (RFC 9051 section
// 6.3.11, SIZE RFC 8438, HIGHESTMODSEQ RFC 7162, APPENDLIMIT RFC 7889,
// RECENT RFC 3501).
func (r *Reader) statusItems() ([]string, error) {
	var items []string
	err := r.list(false, func() error {
		it, err := r.upperAtom()
		if err != nil {
			return err
		}
		switch it {
		case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT":
		default:
			return badf("unknown STATUS item %q", it)
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

// RFC 9051 section 6.3.11: STATUS SP mailbox SP "(" status-att ... ")".
func parseStatus(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	items, err := r.statusItems()
	if err != nil {
		return nil, err
	}
	return &StatusArgs{Mailbox: mbox, Items: items}, nil
}

// RFC 9051 section 6.3.12: APPEND SP mailbox [SP flag-list] [SP date-time]
// SP literal; RFC 3502 repeats the message part; RFC 3516 allows literal8.
func parseAppend(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	r.appendTo = mbox
	msg, err := r.appendMessage()
	if err != nil {
		return nil, err
	}
	return &AppendArgs{Mailbox: mbox, Message: msg}, nil
}

// appendMessage parses [flag-list SP] [date-time SP] literal and leaves
// the literal's bytes unread behind msg.Body.
func (r *Reader) appendMessage() (*AppendMessage, error) {
	msg := &AppendMessage{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		if msg.Flags, err = r.flagList(); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		if c, err = r.peek(); err != nil {
			return nil, err
		}
	}
	if c == '"' {
		s, err := r.quoted()
		if err != nil {
			return nil, err
		}
		if msg.Date, err = parseDateTime(s); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	if msg.Binary, err = r.maybe('~'); err != nil {
		return nil, err
	}
	var check func(int64) error
	if r.AppendCheck != nil {
		mbox := r.appendTo
		check = func(n int64) error { return r.AppendCheck(mbox, n) }
	}
	n, err := r.literalHeader(r.MaxLiteralSize, "NO", false, check)
	if err != nil {
		return nil, err
	}
	msg.Size = n
	r.append = &literalBody{r: r, left: n}
	r.inAppend = true
	msg.Body = r.append
	return msg, nil
}

// NextAppendMessage continues an APPEND after the session has read the
// previous message's Body (unread bytes are skipped). It returns the next
// message of a MULTIAPPEND (RFC 3502), or nil when the command ended. A
// *ParseError here is answered like one from ReadCommand (the session
// must then discard the messages of this command it already stored, RFC
// 3502 section 6.3.11).
func (r *Reader) NextAppendMessage() (*AppendMessage, error) {
	if r.fatal != nil {
		return nil, r.fatal
	}
	if !r.inAppend {
		return nil, errNotAppending
	}
	msg, err := r.nextAppendMessage()
	if err == nil {
		return msg, nil
	}
	r.inAppend, r.append = false, nil
	pe, ok := AsParseError(err)
	if !ok {
		return nil, err
	}
	pe.Tag, pe.Command = r.tag, r.name
	if pe.Status == "" {
		pe.Status = "BAD"
	}
	if !pe.Fatal && !r.lineDone {
		if derr := r.discardLine(); derr != nil {
			return nil, derr
		}
	}
	return nil, pe
}

func (r *Reader) nextAppendMessage() (*AppendMessage, error) {
	if r.append != nil && r.append.left > 0 {
		if err := r.skip(r.append.left); err != nil {
			return nil, err
		}
		r.append.left = 0
	}
	r.append = nil
	r.seg = 0
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c != ' ' {
		if err := r.crlf(); err != nil {
			return nil, err
		}
		r.inAppend = false
		return nil, nil
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	return r.appendMessage()
}

// abandonAppend finishes an APPEND whose messages the session stopped
// reading (after answering it): the rest of the current literal and of the
// line are skipped. Further messages are not parsed, so no continuation
// request is sent for a synchronizing literal the client will not send
// after it saw the tagged reply.
func (r *Reader) abandonAppend() error {
	r.inAppend = false
	if r.append != nil && r.append.left > 0 {
		if err := r.skip(r.append.left); err != nil {
			return err
		}
	}
	r.append = nil
	r.seg, r.lineDone = 0, false
	return r.discardLine()
}

// parseDateTime parses an RFC 9051 date-time: "dd-Mon-yyyy hh:mm:ss
// +zzzz", the day may be space-padded or one digit.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{"_2-Jan-2006 15:04:05 -0700", "2-Jan-2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badf("invalid date-time %q", s)
}

// parseDate parses an RFC 9051 date (search keys): "d-Mon-yyyy", possibly
// quoted.
func (r *Reader) date() (time.Time, error) {
	c, err := r.peek()
	if err != nil {
		return time.Time{}, err
	}
	var s string
	if c == '"' {
		s, err = r.quoted()
	} else {
		s, err = r.atom()
	}
	if err != nil {
		return time.Time{}, err
	}
	t, perr := time.Parse("2-Jan-2006", s)
	if perr != nil || len(s) > len("02-Jan-2006") {
		return time.Time{}, badf("invalid date %q", s)
	}
	return t, nil
}

// RFC 9051 section 6.4.6 and RFC 7162 section 3.1.3: STORE SP
// sequence-set [SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"] SP
// store-att-flags.
func parseStore(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	set, err := r.seqSet()
	if err != nil {
		return nil, err
	}
	args := &StoreArgs{Set: set}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '(' {
		err := r.list(false, func() error {
			m, err := r.upperAtom()
			if err != nil {
				return err
			}
			if m != "UNCHANGEDSINCE" || args.HasUnchangedSince {
				return badf("unknown STORE modifier %q", m)
			}
			if err := r.sp(); err != nil {
				return err
			}
			args.UnchangedSince, err = r.number64()
			args.HasUnchangedSince = true
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '+' || c == '-' {
		args.Op = c
		if _, err := r.next(); err != nil {
			return nil, err
		}
	}
	item, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		args.Silent = true
	default:
		return nil, badf("expected FLAGS or FLAGS.SILENT, got %q", item)
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	// store-att-flags: flag-list / (flag *(SP flag)).
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c == '(' {
		if args.Flags, err = r.flagList(); err != nil {
			return nil, err
		}
		return args, nil
	}
	args.Flags = []string{}
	for {
		f, err := r.flag()
		if err != nil {
			return nil, err
		}
		args.Flags = append(args.Flags, f)
		if eol, err := r.atEOL(); err != nil || eol {
			return args, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
}

// RFC 9051 sections 6.4.7 and 6.4.8: COPY/MOVE SP sequence-set SP mailbox.
func parseCopy(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	set, err := r.seqSet()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	mbox, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	return &CopyArgs{Set: set, Mailbox: mbox}, nil
}

// RFC 9208 section 4.2: GETQUOTA SP quota-root.
func parseGetQuota(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	root, err := r.astring()
	if err != nil {
		return nil, err
	}
	return &QuotaArgs{Root: root}, nil
}

// RFC 9208 section 4.4: SETQUOTA SP quota-root SP "(" [setquota-resource
// *(SP setquota-resource)] ")".
func parseSetQuota(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	root, err := r.astring()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &SetQuotaArgs{Root: root, Limits: []QuotaLimit{}}
	err = r.list(true, func() error {
		res, err := r.upperAtom()
		if err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
		n, err := r.number64()
		args.Limits = append(args.Limits, QuotaLimit{Resource: res, Limit: n})
		return err
	})
	return args, err
}

// RFC 2971 section 4: ID SP ("(" string SP nstring *(SP string SP
// nstring) ")" / nil), at most 30 pairs, keys of at most 30 octets,
// values of at most 1024.
func parseID(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	args := &IDArgs{}
	if c != '(' {
		a, err := r.atom()
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(a, "NIL") {
			return nil, badf("expected ID parameter list or NIL")
		}
		return args, nil
	}
	args.Params = []IDParam{}
	err = r.list(true, func() error {
		if len(args.Params) >= 30 {
			return badf("too many ID fields")
		}
		k, err := r.str()
		if err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
		v, ok, err := r.nstring()
		if err != nil {
			return err
		}
		if len(k) > 30 || len(v) > 1024 {
			return badf("ID field too long")
		}
		args.Params = append(args.Params, IDParam{Key: k, Value: v, Nil: !ok})
		return nil
	})
	return args, err
}

// RFC 4978 section 3: COMPRESS SP algorithm.
func parseCompress(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mech, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	return &CompressArgs{Mechanism: mech}, nil
}
