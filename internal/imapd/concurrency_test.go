package imapd

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailport/internal/delivery"
	"mailport/internal/store"
)

var (
	existsRe  = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	expungeRe = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	fetchRe   = regexp.MustCompile(`^\* (\d+) FETCH \(UID (\d+) FLAGS \((.*)\)\)$`)
)

// TestConcurrentSessions: messages arrive while sessions IDLE on INBOX and
// two others move and flag messages. Every idling session must end with a
// consistent stream (EXPUNGE numbers always valid, the message count
// right) and, after a FETCH, the same view as the store: every message
// once, with its UID and flags.
func TestConcurrentSessions(t *testing.T) {
	const deliveries = 200
	ts := newTestServer(t)
	var idlers []*testConn
	for i := 0; i < 5; i++ {
		c := ts.conn().login()
		c.cmd("a SELECT INBOX").ok()
		c.write("i IDLE\r\n")
		c.expect("+ idling")
		idlers = append(idlers, c)
	}
	mover := ts.conn().login()
	mover.cmd("a SELECT INBOX").ok()
	flagger := ts.conn().login()
	flagger.cmd("a SELECT INBOX").ok()

	inbox := ts.mailbox("INBOX")
	errs := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := 0; i < deliveries; i++ {
			raw := crlfText(testMessage(fmt.Sprintf("message %d", i)))
			id, size, err := ts.blobs.Put(ctx, strings.NewReader(raw), 0)
			if err != nil {
				errs <- err
				return
			}
			res, err := ts.committer.Submit(ctx, []delivery.Append{{AccountID: ts.acct.ID,
				Message: store.NewMessage{MailboxID: inbox.ID, InternalDate: time.Now(), Size: size, BlobID: id}}})
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	round := 0
	running := true
	for running || round < 5 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		round++
		mover.cmdf("m%d MOVE 1 Archive", round).ok()
		flagger.cmdf(`f%d STORE * +FLAGS.SILENT (\Flagged)`, round).ok()
		flagger.cmdf(`g%d STORE 1 +FLAGS (\Seen)`, round).ok()
		if round%3 == 0 {
			mover.cmdf(`s%d STORE 1 +FLAGS.SILENT (\Deleted)`, round).ok()
			mover.cmdf("x%d EXPUNGE", round).ok()
		}
	}

	want, err := ts.st.ListMessages(context.Background(), inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wantLines []string
	for i, m := range want {
		wantLines = append(wantLines, fmt.Sprintf("* %d FETCH (UID %d FLAGS (%s))", i+1, m.UID, strings.Join(m.Flags, " ")))
	}
	moved, err := ts.st.ListMessages(context.Background(), ts.mailbox("Archive").ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(want) + len(moved); got+round/3 < deliveries || got > deliveries {
		t.Fatalf("%d in INBOX + %d moved, %d expunge rounds: messages lost or doubled", len(want), len(moved), round/3)
	}

	check := func(name string, c *testConn, stream []string, count int) {
		t.Helper()
		for _, line := range stream {
			if m := existsRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n < count {
					t.Fatalf("%s: EXISTS %d below count %d", name, n, count)
				}
				count = n
			} else if m := expungeRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n < 1 || n > count {
					t.Fatalf("%s: EXPUNGE %d with %d messages", name, n, count)
				}
				count--
			}
		}
		if count != len(want) {
			t.Fatalf("%s: stream leaves %d messages, store has %d", name, count, len(want))
		}
		c.cmd("v FETCH 1:* (UID FLAGS)").ok()
		var got []string
		for _, l := range c.responses() {
			if fetchRe.MatchString(l) {
				got = append(got, l)
			}
		}
		// Unsolicited flag updates may precede the answers; the last
		// FETCH per sequence number is the answer.
		got = lastPerSeq(got)
		if !slices.Equal(got, wantLines) {
			t.Fatalf("%s: view differs from store:\n got  %q\n want %q", name, got, wantLines)
		}
	}
	for i, c := range idlers {
		c.write("DONE\r\n")
		c.readResponse("i").ok()
		check(fmt.Sprintf("idler %d", i), c, c.responses(), 0)
	}
	mover.cmd("n NOOP").ok()
	flagger.cmd("n NOOP").ok()
	for name, c := range map[string]*testConn{"mover": mover, "flagger": flagger} {
		c.cmd("v FETCH 1:* (UID FLAGS)").ok()
		if got := lastPerSeq(c.responses()); !slices.Equal(got, wantLines) {
			t.Fatalf("%s: view differs from store:\n got  %q\n want %q", name, got, wantLines)
		}
	}
}

// lastPerSeq keeps, in order of sequence number, the last FETCH line per
// message.
func lastPerSeq(lines []string) []string {
	bySeq := map[int]string{}
	maxSeq := 0
	for _, l := range lines {
		m := fetchRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		bySeq[n] = l
		maxSeq = max(maxSeq, n)
	}
	var out []string
	for i := 1; i <= maxSeq; i++ {
		if l, ok := bySeq[i]; ok {
			out = append(out, l)
		}
	}
	return out
}
