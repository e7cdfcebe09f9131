package e2e

import (
	"bytes"
	"mime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAPClientWholeServer drives the whole in-process server with an
// independent client, go-imap/v2's imapclient: real corpus messages
// delivered over SMTP are read back through LIST, SELECT, FETCH
// (ENVELOPE, BODYSTRUCTURE, body sections), changed with STORE, found with
// SEARCH, copied, moved and expunged, and a delivery over SMTP reaches a
// client in IDLE.
func TestIMAPClientWholeServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil, "alice")
	user := "alice@" + testDomain
	smtpAddr := ts.addr(t, "smtp")
	corpus := loadIMAPCorpus(t)
	for _, m := range corpus {
		if err := smtpSend(smtpAddr, "sender@remote.test", user, m.Data); err != nil {
			t.Fatalf("deliver %s: %v", m.Name, err)
		}
	}

	exists := make(chan uint32, 64)
	c := imapLogin(t, ts.addr(t, "imap"), user, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	for _, cp := range []imap.Cap{imap.CapIMAP4rev2, imap.CapIMAP4rev1, imap.CapIdle, imap.CapMove, imap.CapUIDPlus, imap.CapCondStore} {
		if !c.Caps().Has(cp) {
			t.Errorf("capability %s not advertised after login: %v", cp, c.Caps())
		}
	}

	// LIST: INBOX and the special-use folders of a new account.
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	uses := map[string]imap.MailboxAttr{}
	for _, l := range list {
		for _, a := range l.Attrs {
			if slices.Contains([]imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive, imap.MailboxAttrDrafts}, a) {
				uses[l.Mailbox] = a
			}
		}
	}
	if !slices.ContainsFunc(list, func(d *imap.ListData) bool { return d.Mailbox == "INBOX" }) {
		t.Fatalf("LIST lacks INBOX: %+v", list)
	}
	if uses["Archive"] != imap.MailboxAttrArchive || uses["Junk"] != imap.MailboxAttrJunk || uses["Sent"] != imap.MailboxAttrSent {
		t.Errorf("special-use attributes %v, want Archive \\Archive, Junk \\Junk, Sent \\Sent (RFC 6154)", uses)
	}

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT INBOX: %v", err)
	}
	if sel.NumMessages != uint32(len(corpus)) || sel.UIDValidity == 0 || sel.UIDNext != imap.UID(len(corpus)+1) {
		t.Fatalf("SELECT INBOX = %+v, want %d messages, UIDNEXT %d", sel, len(corpus), len(corpus)+1)
	}

	// FETCH: envelope, structure and full body of every message, in
	// delivery order, match what was sent.
	msgs, err := c.Fetch(allSeq(), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:*: %v", err)
	}
	if len(msgs) != len(corpus) {
		t.Fatalf("FETCH 1:* returned %d messages, want %d", len(msgs), len(corpus))
	}
	dec := &mime.WordDecoder{}
	multiparts := 0
	for i, m := range msgs {
		want := corpus[i]
		body := m.FindBodySection(&imap.FetchItemBodySection{Peek: true})
		if m.UID != imap.UID(i+1) || m.SeqNum != uint32(i+1) {
			t.Errorf("message %d: UID %d seq %d, want %d", i+1, m.UID, m.SeqNum, i+1)
		}
		if !deliveredAs(body, want.Data) {
			t.Errorf("%s: BODY[] (%d bytes) is not the delivered message (%d bytes) under trace fields", want.Name, len(body), len(want.Data))
		}
		if m.RFC822Size != int64(len(body)) {
			t.Errorf("%s: RFC822.SIZE %d, BODY[] has %d octets", want.Name, m.RFC822Size, len(body))
		}
		if len(m.Flags) != 0 {
			t.Errorf("%s: flags %v after BODY.PEEK[], want none", want.Name, m.Flags)
		}
		wantSubject, err := dec.DecodeHeader(headerValue(want.Data, "Subject"))
		if err != nil {
			wantSubject = headerValue(want.Data, "Subject")
		}
		if m.Envelope == nil || m.Envelope.Subject != wantSubject {
			t.Errorf("%s: ENVELOPE subject %q, want %q", want.Name, envSubject(m.Envelope), wantSubject)
		}
		if mid := strings.Trim(headerValue(want.Data, "Message-ID"), "<>"); m.Envelope != nil && m.Envelope.MessageID != mid {
			t.Errorf("%s: ENVELOPE message-id %q, want %q", want.Name, m.Envelope.MessageID, mid)
		}
		mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
		if isMultipart(want.Data) != ok {
			t.Errorf("%s: BODYSTRUCTURE %T, multipart in the message: %v", want.Name, m.BodyStructure, isMultipart(want.Data))
		}
		if ok {
			multiparts++
			checkMultipartSections(t, c, m.UID, want, mp)
		}
	}
	if multiparts == 0 {
		t.Fatal("no multipart message in the corpus: BODYSTRUCTURE and part sections went untested")
	}

	// BODY.PEEK[HEADER.FIELDS (SUBJECT)] and BODY[TEXT] of message 1.
	hf := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}
	one, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{hf, text}, Flags: true}).Collect()
	if err != nil || len(one) != 1 {
		t.Fatalf("FETCH 1 (HEADER.FIELDS, TEXT): %v %v", one, err)
	}
	if got, want := string(one[0].FindBodySection(hf)), rawField(corpus[0].Data, "Subject")+"\r\n"; got != want {
		t.Errorf("BODY[HEADER.FIELDS (SUBJECT)] = %q, want %q", got, want)
	}
	_, wantText, _ := bytes.Cut(corpus[0].Data, []byte("\r\n\r\n"))
	if got := one[0].FindBodySection(text); !bytes.Equal(got, wantText) {
		t.Errorf("BODY[TEXT] of message 1 differs from the delivered body (%d vs %d bytes)", len(got), len(wantText))
	}
	// BODY[TEXT] without PEEK sets \Seen (RFC 9051 section 6.4.5).
	seen := fetchFlags(t, c, 1)
	if !slices.Contains(seen, `\Seen`) {
		t.Errorf("flags after BODY[TEXT] %v, want \\Seen", seen)
	}

	// STORE and SEARCH.
	if err := c.Store(imap.UIDSetNum(2, 4, 6), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Label1"}}, nil).Close(); err != nil {
		t.Fatalf("UID STORE +FLAGS: %v", err)
	}
	if err := c.Store(imap.UIDSetNum(4), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{"$Label1"}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("UID STORE -FLAGS.SILENT: %v", err)
	}
	searches := []struct {
		name     string
		criteria imap.SearchCriteria
		want     []imap.UID
	}{
		{"flagged", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []imap.UID{2, 4, 6}},
		{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"$Label1"}}, []imap.UID{2, 6}},
		{"seen", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []imap.UID{1}},
		{"unseen and flagged", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}, Flag: []imap.Flag{imap.FlagFlagged}}, []imap.UID{2, 4, 6}},
		{"message-id header", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: strings.Trim(headerValue(corpus[9].Data, "Message-ID"), "<>")}}}, []imap.UID{10}},
		{"larger", imap.SearchCriteria{Larger: 20000}, uidsWhere(corpus, func(m corpusMessage) bool { return len(m.Data) > 20000 })},
	}
	for _, s := range searches {
		res, err := c.UIDSearch(&s.criteria, nil).Wait()
		if err != nil {
			t.Errorf("UID SEARCH %s: %v", s.name, err)
			continue
		}
		if got := res.AllUIDs(); !slices.Equal(got, s.want) {
			t.Errorf("UID SEARCH %s = %v, want %v", s.name, got, s.want)
		}
	}
	// SEARCH BODY for a word of one message's text.
	word := uniqueBodyWord(t, corpus)
	res, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{word.word}}, nil).Wait()
	if err != nil || !slices.Equal(res.AllUIDs(), []imap.UID{imap.UID(word.index + 1)}) {
		t.Errorf("UID SEARCH BODY %q = %v (%v), want [%d]", word.word, res, err, word.index+1)
	}

	// COPY 1:3 to Archive, MOVE 4:5 to Junk (RFC 4315 COPYUID; RFC 6851).
	cp, err := c.Copy(imap.SeqSetNum(1, 2, 3), "Archive").Wait()
	if err != nil {
		t.Fatalf("COPY: %v", err)
	}
	if got, _ := cp.DestUIDs.Nums(); !slices.Equal(got, []imap.UID{1, 2, 3}) {
		t.Errorf("COPYUID destination %v, want 1:3", cp.DestUIDs)
	}
	mv, err := c.Move(imap.SeqSetNum(4, 5), "Junk").Wait()
	if err != nil {
		t.Fatalf("MOVE: %v", err)
	}
	if got, _ := mv.SourceUIDs.(imap.UIDSet); got.String() != "4:5" {
		t.Errorf("MOVE COPYUID source %v, want 4:5", mv.SourceUIDs)
	}
	// EXPUNGE message 1 (UID 1) after \Deleted.
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("STORE \\Deleted: %v", err)
	}
	expunged, err := c.Expunge().Collect()
	if err != nil || !slices.Equal(expunged, []uint32{1}) {
		t.Fatalf("EXPUNGE = %v (%v), want [1]", expunged, err)
	}

	// APPEND a message with flags and a date; read it back byte for byte.
	appended := []byte(testMessage("me@example.test", user, "appended by imapclient", "Appended body line.\r\n.leading dot"))
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	app := c.Append("Archive", int64(len(appended)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Work"}, Time: date})
	if _, err := app.Write(appended); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	ad, err := app.Wait()
	if err != nil || ad.UID != 4 {
		t.Fatalf("APPEND to Archive = %+v (%v), want APPENDUID with UID 4", ad, err)
	}

	// IDLE in INBOX; a delivery over SMTP arrives as EXISTS.
	for len(exists) > 0 {
		<-exists
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	if err := smtpSend(smtpAddr, "sender@remote.test", user, []byte(testMessage("sender@remote.test", user, "during idle", "Hello idler."))); err != nil {
		t.Fatalf("deliver during IDLE: %v", err)
	}
	// INBOX had 16 - 2 moved - 1 expunged = 13 messages; now 14.
	wantExists := uint32(len(corpus) - 3 + 1)
	select {
	case n := <-exists:
		if n != wantExists {
			t.Errorf("EXISTS %d during IDLE, want %d", n, wantExists)
		}
	case <-time.After(imapDeadline):
		t.Fatal("no EXISTS during IDLE after an SMTP delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatalf("DONE: %v", err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("IDLE completion: %v", err)
	}

	// Final state of every mailbox, read back by a fresh view.
	inbox := mailboxContents(t, c, "INBOX")
	archive := mailboxContents(t, c, "Archive")
	junk := mailboxContents(t, c, "Junk")
	if got := sortedUIDs(inbox); !slices.Equal(got, []imap.UID{2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}) {
		t.Errorf("INBOX UIDs %v", got)
	}
	if len(archive) != 4 || len(junk) != 2 {
		t.Fatalf("Archive has %d, Junk %d messages; want 4 and 2", len(archive), len(junk))
	}
	for i, m := range archive[:3] {
		if !deliveredAs(m.Body, corpus[i].Data) {
			t.Errorf("Archive UID %d is not a copy of %s", m.UID, corpus[i].Name)
		}
	}
	if !bytes.Equal(archive[3].Body, appended) || !slices.Equal(archive[3].Flags, []string{"$Work", `\Seen`}) {
		t.Errorf("appended message: flags %v, body equal %v", archive[3].Flags, bytes.Equal(archive[3].Body, appended))
	}
	// The copy keeps the flags (RFC 9051 section 6.4.7).
	if !slices.Equal(archive[1].Flags, []string{"$Label1", `\Flagged`}) {
		t.Errorf("copied UID 2 has flags %v, want $Label1 \\Flagged", archive[1].Flags)
	}
	for i, m := range junk {
		if !deliveredAs(m.Body, corpus[3+i].Data) {
			t.Errorf("Junk UID %d is not %s", m.UID, corpus[3+i].Name)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}
}

// rawField returns a header field as it is in msg, folding and CRLF
// included ("" when absent).
func rawField(msg []byte, name string) string {
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	lines := strings.Split(string(hdr), "\r\n")
	for i, l := range lines {
		if k, _, ok := strings.Cut(l, ":"); !ok || !strings.EqualFold(k, name) {
			continue
		}
		f := l + "\r\n"
		for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
			f += lines[j] + "\r\n"
		}
		return f
	}
	return ""
}

func envSubject(e *imap.Envelope) string {
	if e == nil {
		return "<no envelope>"
	}
	return e.Subject
}

// fetchFlags returns the flags of one message by sequence number.
func fetchFlags(t *testing.T, c *imapclient.Client, seq uint32) []string {
	t.Helper()
	m, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(m) != 1 {
		t.Fatalf("FETCH %d FLAGS: %v %v", seq, m, err)
	}
	return flagStrings(m[0].Flags)
}

// checkMultipartSections fetches every top-level part's MIME header and
// content and requires them to appear, joined, in the delivered message:
// the server cut the parts at the right boundaries.
func checkMultipartSections(t *testing.T, c *imapclient.Client, uid imap.UID, want corpusMessage, mp *imap.BodyStructureMultiPart) {
	t.Helper()
	if mp.Subtype == "" || len(mp.Children) == 0 {
		t.Errorf("%s: multipart BODYSTRUCTURE without subtype or children: %+v", want.Name, mp)
		return
	}
	var sections []*imap.FetchItemBodySection
	for i := range mp.Children {
		sections = append(sections,
			&imap.FetchItemBodySection{Part: []int{i + 1}, Specifier: imap.PartSpecifierMIME, Peek: true},
			&imap.FetchItemBodySection{Part: []int{i + 1}, Peek: true})
	}
	got, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: sections}).Collect()
	if err != nil || len(got) != 1 {
		t.Fatalf("%s: UID FETCH part sections: %v", want.Name, err)
	}
	for i := 0; i < len(sections); i += 2 {
		hdr, content := got[0].FindBodySection(sections[i]), got[0].FindBodySection(sections[i+1])
		if len(hdr) == 0 && len(content) == 0 {
			t.Errorf("%s: part %d is empty", want.Name, i/2+1)
			continue
		}
		if !bytes.Contains(want.Data, append(append([]byte{}, hdr...), content...)) {
			t.Errorf("%s: BODY[%d.MIME] + BODY[%d] (%d+%d bytes) is not a piece of the message", want.Name, i/2+1, i/2+1, len(hdr), len(content))
		}
		if single, ok := mp.Children[i/2].(*imap.BodyStructureSinglePart); ok && single.Size != uint32(len(content)) {
			t.Errorf("%s: BODYSTRUCTURE size of part %d is %d, BODY[%d] has %d octets", want.Name, i/2+1, single.Size, i/2+1, len(content))
		}
	}
}

func uidsWhere(corpus []corpusMessage, f func(corpusMessage) bool) []imap.UID {
	var u []imap.UID
	for i, m := range corpus {
		if f(m) {
			u = append(u, imap.UID(i+1))
		}
	}
	return u
}

type bodyWord struct {
	word  string
	index int
}

// uniqueBodyWord finds a long word that occurs in the plain body of
// exactly one non-multipart corpus message (and in no header), so that
// SEARCH BODY has one right answer.
func uniqueBodyWord(t *testing.T, corpus []corpusMessage) bodyWord {
	t.Helper()
	for i, m := range corpus {
		if isMultipart(m.Data) || headerValue(m.Data, "Content-Transfer-Encoding") != "" {
			continue
		}
		_, body, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
	words:
		for _, w := range strings.Fields(string(body)) {
			if len(w) < 9 || strings.IndexFunc(w, func(r rune) bool { return !(r >= 'a' && r <= 'z') }) >= 0 {
				continue
			}
			for j, o := range corpus {
				if j != i && bytes.Contains(bytes.ToLower(o.Data), []byte(w)) {
					continue words
				}
			}
			hdr, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
			if bytes.Contains(bytes.ToLower(hdr), []byte(w)) || bytes.Count(bytes.ToLower(body), []byte(w)) == 0 {
				continue
			}
			return bodyWord{word: w, index: i}
		}
	}
	t.Fatal("no word unique to one corpus body")
	return bodyWord{}
}
