package imapd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"mailport/internal/store"
)

// TestSelectListingCache: SELECT answers from the server's listing cache,
// which must follow every change other sessions make (flags, expunges,
// new messages) and a mailbox deleted and created again under the same
// name.
func TestSelectListingCache(t *testing.T) {
	ts := newTestServer(t)
	for i := range 5 {
		ts.deliver("INBOX", testMessage(fmt.Sprintf("m%d", i)))
	}
	c := ts.conn().login()
	d := ts.conn().login()
	c.cmd("a SELECT INBOX").untagged("* 5 EXISTS").ok()

	// view lists "uid flags" of every message as SELECT + FETCH show it.
	view := func(conn *testConn, mailbox string) []string {
		t.Helper()
		conn.cmd("s SELECT " + mailbox).ok()
		conn.cmd("f FETCH 1:* (UID FLAGS)").ok()
		return conn.responses()
	}
	// want is the same from the store's own listing.
	want := func(mailbox string) []string {
		t.Helper()
		msgs, err := ts.st.ListMessages(context.Background(), ts.mailbox(mailbox).ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, m := range msgs {
			flags := ""
			for j, f := range m.Flags {
				if j > 0 {
					flags += " "
				}
				flags += f
			}
			out = append(out, fmt.Sprintf("* %d FETCH (UID %d FLAGS (%s))", i+1, m.UID, flags))
		}
		return out
	}
	check := func(step string) {
		t.Helper()
		if got, w := view(c, "INBOX"), want("INBOX"); !slices.Equal(got, w) {
			t.Fatalf("%s: SELECT view\n got %q\nwant %q", step, got, w)
		}
	}
	check("first")
	d.cmd("s SELECT INBOX").ok()
	d.cmd(`a STORE 2 +FLAGS (\Flagged $Work)`).ok()
	check("flags")
	d.cmd(`b STORE 3 +FLAGS.SILENT (\Deleted)`).ok()
	d.cmd("c EXPUNGE").ok()
	check("expunge")
	ts.deliver("INBOX", testMessage("new1"))
	ts.deliver("INBOX", testMessage("new2"), store.FlagSeen)
	check("new messages")
	d.cmd(`e STORE 1:* -FLAGS.SILENT (\Flagged)`).ok()
	d.cmd(`f STORE 5 +FLAGS.SILENT (\Deleted)`).ok()
	d.cmd("g EXPUNGE").ok()
	ts.deliver("INBOX", testMessage("new3"))
	check("all at once")

	// Deleted and created again: a new UIDVALIDITY, no messages.
	c.cmd("h CREATE Box").ok()
	ts.deliver("Box", testMessage("in box"))
	if got, w := view(c, "Box"), want("Box"); !slices.Equal(got, w) || len(got) != 1 {
		t.Fatalf("Box: got %q, want %q", got, w)
	}
	c.cmd("i UNSELECT").ok()
	c.cmd("j DELETE Box").ok()
	c.cmd("k CREATE Box").ok()
	c.cmd("l SELECT Box").untagged("* 0 EXISTS").ok()
}

// TestListingApply: changes put into a listing in any order, and twice,
// give the same listing as the store would.
func TestListingApply(t *testing.T) {
	msg := func(uid uint32, modseq uint64, flags ...string) store.Message {
		return store.Message{UID: uid, ModSeq: modseq, Flags: flags}
	}
	uidsOf := func(msgs []store.Message) []string {
		var out []string
		for _, m := range msgs {
			out = append(out, fmt.Sprintf("%d/%d%v", m.UID, m.ModSeq, m.Flags))
		}
		return out
	}
	tests := []struct {
		name  string
		start []store.Message
		ch    store.Changes
		want  []store.Message
	}{
		{"append", []store.Message{msg(1, 1), msg(2, 2)},
			store.Changes{Changed: []store.Message{msg(3, 3), msg(4, 4)}, HighestModSeq: 4},
			[]store.Message{msg(1, 1), msg(2, 2), msg(3, 3), msg(4, 4)}},
		{"flags and expunge", []store.Message{msg(1, 1), msg(2, 2), msg(3, 3)},
			store.Changes{Changed: []store.Message{msg(1, 5, `\Seen`)}, Expunged: []uint32{2}, HighestModSeq: 6},
			[]store.Message{msg(1, 5, `\Seen`), msg(3, 3)}},
		{"missing in the middle is inserted", []store.Message{msg(1, 1), msg(5, 5)},
			store.Changes{Changed: []store.Message{msg(3, 6)}, HighestModSeq: 6},
			[]store.Message{msg(1, 1), msg(3, 6), msg(5, 5)}},
		{"expunge of unknown uid", []store.Message{msg(1, 1)},
			store.Changes{Expunged: []uint32{9}, HighestModSeq: 7},
			[]store.Message{msg(1, 1)}},
		{"empty start", nil,
			store.Changes{Changed: []store.Message{msg(2, 2), msg(7, 3)}, HighestModSeq: 3},
			[]store.Message{msg(2, 2), msg(7, 3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &listing{loaded: true, msgs: slices.Clone(tc.start)}
			// A session shares the slice SELECT handed out: apply
			// must leave it as it was (and its spare capacity
			// unwritten, which append would reuse).
			handed := slices.Grow(e.msgs, 4)
			e.msgs = handed
			for round := range 2 {
				e.apply(tc.ch)
				if got, want := uidsOf(handed[:cap(handed)][:len(tc.start)]), uidsOf(tc.start); !slices.Equal(got, want) {
					t.Fatalf("round %d: the handed-out listing changed to %v, want %v", round, got, want)
				}
				if spare := handed[len(tc.start):cap(handed)]; slices.ContainsFunc(spare, func(m store.Message) bool { return m.UID != 0 }) {
					t.Fatalf("round %d: apply wrote into the handed-out slice's capacity", round)
				}
				if got, want := uidsOf(e.msgs), uidsOf(tc.want); !slices.Equal(got, want) {
					t.Fatalf("round %d: %v, want %v", round, got, want)
				}
				if e.modseq != tc.ch.HighestModSeq {
					t.Fatalf("round %d: modseq %d, want %d", round, e.modseq, tc.ch.HighestModSeq)
				}
			}
		})
	}
}

// TestListingCacheBound: the cache counts the messages it holds and drops
// the least recently used listings beyond maxCachedMessages.
func TestListingCacheBound(t *testing.T) {
	var c listingCache
	c.entries = map[int64]*listing{}
	add := func(id int64, n int) *listing {
		e := &listing{loaded: true, msgs: make([]store.Message, n)}
		c.tick++
		e.used = c.tick
		c.entries[id] = e
		c.account(id, e)
		return e
	}
	half := maxCachedMessages / 2
	add(1, half)
	add(2, half)
	if c.total != 2*half || len(c.entries) != 2 {
		t.Fatalf("total %d, %d entries", c.total, len(c.entries))
	}
	add(3, 10) // over the bound: mailbox 1, the oldest, goes
	if _, ok := c.entries[1]; ok || len(c.entries) != 2 || c.total != half+10 {
		t.Fatalf("after third: entries %v, total %d", slices.Collect(maps.Keys(c.entries)), c.total)
	}
	add(4, maxCachedMessages+1) // larger than the cache: not kept
	if _, ok := c.entries[4]; ok || c.total != half+10 {
		t.Fatalf("huge listing kept: total %d", c.total)
	}
}
