package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// sessionView is what one session sees of a mailbox: UIDs in sequence
// order and their flags.
type sessionView struct {
	UIDs  []imap.UID
	Flags map[imap.UID][]string
}

// viewOf runs UID FETCH 1:* (UID FLAGS) in the selected mailbox: the
// session's own sequence-number map, kept in memory by the server. (UID
// FETCH, unlike FETCH 1:*, is fine on an empty mailbox; and imapclient
// beta.8 updates Client.Mailbox() only after Select's Wait returns, so
// the count cannot come from there.)
func viewOf(c *imapclient.Client) (sessionView, error) {
	v := sessionView{Flags: map[imap.UID][]string{}}
	var all imap.UIDSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return v, err
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.SeqNum) - int(b.SeqNum) })
	for i, m := range msgs {
		if m.SeqNum != uint32(i+1) {
			return v, fmt.Errorf("FETCH 1:* returned sequence number %d at position %d", m.SeqNum, i+1)
		}
		v.UIDs = append(v.UIDs, m.UID)
		v.Flags[m.UID] = flagStrings(m.Flags)
	}
	return v, nil
}

// TestIMAPConcurrentSessions: 200 messages are delivered over SMTP by
// several clients while 5 sessions IDLE on INBOX, one session flags
// random messages and another moves random ones to Archive. At the end
// every session has the same view of INBOX and Archive as a fresh one,
// each message is in exactly one of them exactly once, and UIDs rise
// strictly with sequence numbers.
func TestIMAPConcurrentSessions(t *testing.T) {
	t.Parallel()
	const (
		messages = 200
		senders  = 4
		idlers   = 5
		moves    = 40
		flags    = 60
	)
	ts := startServer(t, nil, "conc")
	user := "conc@" + testDomain
	imapAddr, smtpAddr := ts.addr(t, "imap"), ts.addr(t, "smtp")

	// The idling sessions, each counting the EXISTS it was told.
	type idler struct {
		c      *imapclient.Client
		exists atomic.Int64
		idle   *imapclient.IdleCommand
	}
	var idleSessions []*idler
	for range idlers {
		s := &idler{}
		s.c = imapLogin(t, imapAddr, user, &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					s.exists.Add(1)
				}
			},
		})
		if _, err := s.c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("SELECT: %v", err)
		}
		idle, err := s.c.Idle()
		if err != nil {
			t.Fatalf("IDLE: %v", err)
		}
		s.idle = idle
		idleSessions = append(idleSessions, s)
	}
	flagger := imapLogin(t, imapAddr, user, nil)
	mover := imapLogin(t, imapAddr, user, nil)
	for _, c := range []*imapclient.Client{flagger, mover} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("SELECT: %v", err)
		}
	}

	var wg sync.WaitGroup
	var delivered atomic.Int64
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < messages; i += senders {
				msg := testMessage("sender@remote.test", user, fmt.Sprintf("conc %d", i), fmt.Sprintf("Message number %d.", i))
				if err := smtpSend(smtpAddr, "sender@remote.test", user, []byte(msg)); err != nil {
					t.Errorf("deliver message %d: %v", i, err)
					return
				}
				delivered.Add(1)
			}
		}()
	}
	// pick returns a random UID of INBOX as the session sees it.
	pick := func(c *imapclient.Client, rnd *rand.Rand) (imap.UID, bool, error) {
		res, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			return 0, false, err
		}
		uids := res.AllUIDs()
		if len(uids) == 0 {
			return 0, false, nil
		}
		return uids[rnd.IntN(len(uids))], true, nil
	}
	var flagged sync.Map // UID in INBOX at the time it was flagged
	wg.Add(2)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < flags; i++ {
			uid, ok, err := pick(flagger, rnd)
			if err != nil {
				t.Errorf("flagger: UID SEARCH: %v", err)
				return
			}
			if !ok {
				i--
				if err := flagger.Noop().Wait(); err != nil {
					t.Errorf("flagger: NOOP: %v", err)
					return
				}
				continue
			}
			// Alternate UID STORE and STORE by sequence number: the
			// latter must not see an expunge in the middle (RFC 9051
			// section 7.5.1).
			if i%2 == 0 {
				err = flagger.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
				flagged.Store(uid, true)
			} else {
				err = flagger.Store(imap.SeqSetNum(uint32(rnd.IntN(int(max(flagger.Mailbox().NumMessages, 1))))+1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
			}
			if err != nil {
				t.Errorf("flagger: STORE: %v", err)
				return
			}
		}
	}()
	var moved atomic.Int64
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < moves; i++ {
			uid, ok, err := pick(mover, rnd)
			if err != nil {
				t.Errorf("mover: UID SEARCH: %v", err)
				return
			}
			if !ok {
				i--
				if err := mover.Noop().Wait(); err != nil {
					t.Errorf("mover: NOOP: %v", err)
					return
				}
				continue
			}
			if _, err := mover.Move(imap.UIDSetNum(uid), "Archive").Wait(); err != nil {
				t.Errorf("mover: UID MOVE %d: %v", uid, err)
				return
			}
			moved.Add(1)
		}
	}()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Every session leaves IDLE (or sends NOOP) and reports its view.
	type named struct {
		name string
		c    *imapclient.Client
	}
	var sessions []named
	for i, s := range idleSessions {
		if err := s.idle.Close(); err != nil {
			t.Fatalf("idler %d: DONE: %v", i, err)
		}
		if err := s.idle.Wait(); err != nil {
			t.Fatalf("idler %d: IDLE: %v", i, err)
		}
		if s.exists.Load() == 0 {
			t.Errorf("idler %d was told of no EXISTS during %d deliveries", i, messages)
		}
		sessions = append(sessions, named{fmt.Sprintf("idler %d", i), s.c})
	}
	sessions = append(sessions, named{"flagger", flagger}, named{"mover", mover})
	fresh := imapLogin(t, imapAddr, user, nil)
	for _, s := range sessions {
		if err := s.c.Noop().Wait(); err != nil {
			t.Fatalf("%s: NOOP: %v", s.name, err)
		}
	}

	// INBOX as each session sees it, against a fresh session.
	if _, err := fresh.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	want, err := viewOf(fresh)
	if err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	checkView(t, "fresh session INBOX", want, want)
	for _, s := range sessions {
		got, err := viewOf(s.c)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		checkView(t, s.name+" INBOX", got, want)
		if n := s.c.Mailbox().NumMessages; n != uint32(len(want.UIDs)) {
			t.Errorf("%s: the client counted %d messages from EXISTS/EXPUNGE, INBOX has %d", s.name, n, len(want.UIDs))
		}
	}
	// Archive, selected afresh by every session.
	if _, err := fresh.Select("Archive", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	wantArchive, err := viewOf(fresh)
	if err != nil {
		t.Fatal(err)
	}
	checkView(t, "fresh session Archive", wantArchive, wantArchive)
	for _, s := range sessions {
		if _, err := s.c.Select("Archive", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("%s: EXAMINE Archive: %v", s.name, err)
		}
		got, err := viewOf(s.c)
		if err != nil {
			t.Fatal(err)
		}
		checkView(t, s.name+" Archive", got, wantArchive)
	}
	if int64(len(wantArchive.UIDs)) != moved.Load() {
		t.Errorf("Archive has %d messages after %d moves", len(wantArchive.UIDs), moved.Load())
	}

	// Every message exactly once across INBOX and Archive.
	seen := map[string]int{}
	for _, mb := range []string{"INBOX", "Archive"} {
		for _, m := range mailboxContents(t, fresh, mb) {
			seen[headerValue(m.Body, "Subject")]++
		}
	}
	for i := range messages {
		if n := seen[fmt.Sprintf("conc %d", i)]; n != 1 {
			t.Errorf("message %d is stored %d times across INBOX and Archive", i, n)
		}
	}
	if len(seen) != messages {
		t.Errorf("%d distinct messages across INBOX and Archive, want %d", len(seen), messages)
	}
	// A message flagged while in INBOX is flagged wherever it is now,
	// unless it was moved out first (then the UID STORE found nothing).
	nFlagged := 0
	for _, v := range []sessionView{want, wantArchive} {
		for _, f := range v.Flags {
			if slices.Contains(f, `\Flagged`) {
				nFlagged++
			}
		}
	}
	if nFlagged == 0 {
		t.Errorf("no message is \\Flagged after %d UID STOREs", flags/2)
	}
	flagged.Range(func(k, _ any) bool {
		uid := k.(imap.UID)
		if f, ok := want.Flags[uid]; ok && !slices.Contains(f, `\Flagged`) {
			t.Errorf("INBOX UID %d was flagged and is still in INBOX but has flags %v", uid, f)
		}
		return true
	})
}

// checkView compares a session's view with the expected one, and checks
// UIDs rise strictly with sequence numbers (RFC 9051 section 2.3.1.1).
func checkView(t *testing.T, name string, got, want sessionView) {
	t.Helper()
	for i := 1; i < len(got.UIDs); i++ {
		if got.UIDs[i] <= got.UIDs[i-1] {
			t.Errorf("%s: UID %d at sequence %d follows UID %d", name, got.UIDs[i], i+1, got.UIDs[i-1])
		}
	}
	if !slices.Equal(got.UIDs, want.UIDs) {
		t.Errorf("%s: UIDs %v, want %v", name, compactUIDs(got.UIDs), compactUIDs(want.UIDs))
		return
	}
	for uid, f := range want.Flags {
		if !slices.Equal(got.Flags[uid], f) {
			t.Errorf("%s: UID %d has flags %v, want %v", name, uid, got.Flags[uid], f)
		}
	}
}

func compactUIDs(uids []imap.UID) string {
	var s imap.UIDSet
	for _, u := range uids {
		s.AddNum(u)
	}
	return strings.TrimSpace(s.String())
}
