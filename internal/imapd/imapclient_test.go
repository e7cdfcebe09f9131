package imapd

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAPClient drives the server with an independent client, go-imap's
// imapclient, over implicit TLS: login, list, select, append, fetch,
// store, expunge, move and idle.
func TestIMAPClient(t *testing.T) {
	ts := newTestServer(t)
	events := make(chan string, 16)
	c, err := imapclient.DialTLS(ts.tlsAddr, &imapclient.Options{
		TLSConfig: ts.clientTLS,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					events <- "exists"
				}
			},
			Expunge: func(seq uint32) { events <- "expunge" },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.CapIMAP4rev2) || !c.Caps().Has(imap.CapMove) {
		t.Fatalf("capabilities %v", c.Caps())
	}

	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
		if l.Mailbox == "Sent" && !slices.Contains(l.Attrs, imap.MailboxAttrSent) {
			t.Errorf("Sent lacks \\Sent: %v", l.Attrs)
		}
	}
	if want := []string{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}; !slices.Equal(names, want) {
		t.Fatalf("list %v, want %v", names, want)
	}

	msg := crlfText(testMessage("from imapclient"))
	app := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}})
	if _, err := app.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	appended, err := app.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if appended.UID != 1 || appended.UIDValidity == 0 {
		t.Fatalf("append data %+v", appended)
	}

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 || sel.UIDNext != 2 {
		t.Fatalf("select %+v", sel)
	}

	fetched, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		Flags: true, Envelope: true, UID: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched) != 1 {
		t.Fatalf("fetched %d messages", len(fetched))
	}
	m := fetched[0]
	if m.UID != 1 || m.Envelope.Subject != "from imapclient" || m.RFC822Size != int64(len(msg)) {
		t.Fatalf("fetched %+v", m)
	}
	var body []byte
	for _, b := range m.BodySection {
		body = b.Bytes
	}
	if string(body) != msg {
		t.Fatalf("body %q, want %q", body, msg)
	}
	if !slices.Contains(m.Flags, imap.FlagSeen) {
		// BODY[] without PEEK sets \Seen; the server reported it.
		fl, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
		if err != nil || !slices.Contains(fl[0].Flags, imap.FlagSeen) {
			t.Fatalf("\\Seen not set by BODY[]: %v %v", fl, err)
		}
	}

	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := res.AllSeqNums(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("search flagged: %v", got)
	}

	// IDLE: a delivery arrives as EXISTS.
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	ts.deliver("INBOX", testMessage("while idling"))
	select {
	case ev := <-events:
		if ev != "exists" {
			t.Fatalf("event %q while idling", ev)
		}
	case <-time.After(testTimeout):
		t.Fatal("no EXISTS while idling")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	// Move the new message away, expunge the first.
	if _, err := c.Move(imap.SeqSetNum(2), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	expunged, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(expunged, []uint32{1}) {
		t.Fatalf("expunged %v", expunged)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 1 {
		t.Fatalf("Archive has %d messages", *st.NumMessages)
	}
	if err := c.Logout().Wait(); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatal(err)
	}
}
