package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

var (
	respCodeRe   = regexp.MustCompile(`\[(UIDVALIDITY|HIGHESTMODSEQ) (\d+)\]`)
	fetchModSeq  = regexp.MustCompile(`MODSEQ \((\d+)\)`)
	vanishedLine = regexp.MustCompile(`^\* VANISHED \(EARLIER\) ([0-9:,]+)$`)
)

// expandSet expands an IMAP sequence set of UIDs ("3:5,9").
func expandSet(t *testing.T, set string) []imap.UID {
	t.Helper()
	var out []imap.UID
	for _, r := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(r, ":")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 32)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("bad UID set %q", set)
		}
		for u := min(a, b); u <= max(a, b); u++ {
			out = append(out, imap.UID(u))
		}
	}
	slices.Sort(out)
	return out
}

// qresyncState is what a client keeps between sessions (RFC 7162
// section 3.2.5): UIDVALIDITY, HIGHESTMODSEQ and the UIDs it knows.
type qresyncState struct {
	uidValidity, highestModSeq uint64
}

func selectCodes(t *testing.T, untagged []string, done string) qresyncState {
	t.Helper()
	var st qresyncState
	for _, l := range append(untagged, done) {
		for _, m := range respCodeRe.FindAllStringSubmatch(l, -1) {
			v, _ := strconv.ParseUint(m[2], 10, 64)
			if m[1] == "UIDVALIDITY" {
				st.uidValidity = v
			} else {
				st.highestModSeq = v
			}
		}
	}
	if st.uidValidity == 0 || st.highestModSeq == 0 {
		t.Fatalf("SELECT gave no UIDVALIDITY or HIGHESTMODSEQ: %q %q", untagged, done)
	}
	return st
}

// resyncResult is what a QRESYNC SELECT or a CHANGEDSINCE/VANISHED FETCH
// reported: the UIDs that vanished and, per changed UID, its FETCH line.
type resyncResult struct {
	vanished []imap.UID
	fetched  map[imap.UID]string
	other    []string
}

func parseResync(t *testing.T, untagged []string, since uint64) resyncResult {
	t.Helper()
	r := resyncResult{fetched: map[imap.UID]string{}}
	for _, l := range untagged {
		if m := vanishedLine.FindStringSubmatch(l); m != nil {
			r.vanished = append(r.vanished, expandSet(t, m[1])...)
			continue
		}
		if strings.HasPrefix(l, "* ") && strings.Contains(l, " FETCH (") {
			u := fetchUIDRe.FindStringSubmatch(l)
			ms := fetchModSeq.FindStringSubmatch(l)
			if u == nil || ms == nil {
				t.Errorf("FETCH during resync without UID or MODSEQ (RFC 7162 section 3.2.5.2): %q", l)
				continue
			}
			uid, _ := strconv.ParseUint(u[1], 10, 32)
			if mod, _ := strconv.ParseUint(ms[1], 10, 64); mod <= since {
				t.Errorf("FETCH %q has MODSEQ %d, not above the known %d", l, mod, since)
			}
			if _, dup := r.fetched[imap.UID(uid)]; dup {
				t.Errorf("UID %d reported twice: %q", uid, l)
			}
			r.fetched[imap.UID(uid)] = l
			continue
		}
		r.other = append(r.other, l)
	}
	slices.Sort(r.vanished)
	return r
}

// TestIMAPQResyncAfterDisconnect: a client records UIDVALIDITY and
// HIGHESTMODSEQ, disconnects; other sessions change flags, expunge
// (including a message changed first), move one away and deliveries add
// new ones; on reconnect SELECT ... (QRESYNC (...)) must report exactly
// those changes (RFC 7162 section 3.2.5.2): VANISHED (EARLIER) for the
// gone and FETCH for the changed and the new, nothing else. The same
// changes come from UID FETCH (CHANGEDSINCE ... VANISHED).
func TestIMAPQResyncAfterDisconnect(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil, "qr")
	user := "qr@" + testDomain
	imapAddr, smtpAddr := ts.addr(t, "imap"), ts.addr(t, "smtp")
	for i := 1; i <= 20; i++ {
		if err := smtpSend(smtpAddr, "sender@remote.test", user, []byte(testMessage("sender@remote.test", user, fmt.Sprintf("qresync %d", i), "body"))); err != nil {
			t.Fatal(err)
		}
	}

	// First session: learn the state, then disconnect.
	a := dialRawIMAP(t, imapAddr, false)
	a.cmd("LOGIN %s %s", user, userPassword)
	a.cmd("ENABLE QRESYNC")
	untagged, done := a.cmd("SELECT INBOX (CONDSTORE)")
	known := selectCodes(t, untagged, done)
	a.cmd("LOGOUT")
	a.conn.Close()

	// Changes by other sessions.
	b := imapLogin(t, imapAddr, user, nil)
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	storeFlags(t, b, imap.UIDSetNum(3), imap.StoreFlagsAdd, imap.FlagFlagged)
	storeFlags(t, b, imap.UIDSetNum(5), imap.StoreFlagsAdd, imap.FlagSeen, "$Important")
	storeFlags(t, b, imap.UIDSetNum(9), imap.StoreFlagsAdd, imap.FlagAnswered)
	storeFlags(t, b, imap.UIDSetNum(7, 8, 9), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := b.UIDExpunge(imap.UIDSetNum(7, 8, 9)).Close(); err != nil {
		t.Fatalf("UID EXPUNGE: %v", err)
	}
	if _, err := b.Move(imap.UIDSetNum(15), "Archive").Wait(); err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	// A flag set and removed again is a change too (its MODSEQ rose).
	storeFlags(t, b, imap.UIDSetNum(11), imap.StoreFlagsAdd, imap.FlagDraft)
	storeFlags(t, b, imap.UIDSetNum(11), imap.StoreFlagsDel, imap.FlagDraft)
	for i := 21; i <= 22; i++ {
		if err := smtpSend(smtpAddr, "sender@remote.test", user, []byte(testMessage("sender@remote.test", user, fmt.Sprintf("qresync %d", i), "body"))); err != nil {
			t.Fatal(err)
		}
	}
	// A change in another mailbox is not a change of INBOX.
	if _, err := b.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	storeFlags(t, b, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagFlagged)

	wantVanished := []imap.UID{7, 8, 9, 15}
	wantFetched := []imap.UID{3, 5, 11, 21, 22}
	wantFlags := map[imap.UID]string{3: `\Flagged`, 5: `\Seen $Important`, 11: ``, 21: ``, 22: ``}
	check := func(name string, r resyncResult) {
		t.Helper()
		if !slices.Equal(r.vanished, wantVanished) {
			t.Errorf("%s: VANISHED (EARLIER) %v, want %v", name, r.vanished, wantVanished)
		}
		var got []imap.UID
		for u := range r.fetched {
			got = append(got, u)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantFetched) {
			t.Errorf("%s: FETCH for UIDs %v, want exactly %v", name, got, wantFetched)
		}
		for u, want := range wantFlags {
			l, ok := r.fetched[u]
			if !ok {
				continue
			}
			f := fetchFlagsRe.FindStringSubmatch(l)
			if f == nil || !sameFlagSet(f[1], want) {
				t.Errorf("%s: UID %d reported as %q, want FLAGS (%s)", name, u, l, want)
			}
		}
	}

	// Reconnect and resynchronize in SELECT.
	c := dialRawIMAP(t, imapAddr, false)
	c.cmd("LOGIN %s %s", user, userPassword)
	c.cmd("ENABLE QRESYNC")
	untagged, done = c.cmd("SELECT INBOX (QRESYNC (%d %d 1:20))", known.uidValidity, known.highestModSeq)
	now := selectCodes(t, untagged, done)
	if now.uidValidity != known.uidValidity || now.highestModSeq <= known.highestModSeq {
		t.Errorf("after the changes: UIDVALIDITY %d (was %d), HIGHESTMODSEQ %d (was %d)", now.uidValidity, known.uidValidity, now.highestModSeq, known.highestModSeq)
	}
	r := parseResync(t, untagged, known.highestModSeq)
	check("SELECT (QRESYNC)", r)
	// Nothing else than the usual SELECT responses (RFC 9051 section
	// 6.3.2; RFC 7162 section 3.2.5).
	for _, l := range r.other {
		ok := strings.HasPrefix(l, "* FLAGS ") || strings.HasPrefix(l, "* OK [") || strings.HasPrefix(l, "* LIST ") ||
			regexp.MustCompile(`^\* \d+ (EXISTS|RECENT)$`).MatchString(l)
		if !ok {
			t.Errorf("unexpected response during the QRESYNC SELECT: %q", l)
		}
	}
	if !slices.Contains(r.other, "* 18 EXISTS") {
		t.Errorf("SELECT responses %q lack * 18 EXISTS (20 - 3 expunged - 1 moved + 2 new)", r.other)
	}

	// The same from UID FETCH (CHANGEDSINCE ... VANISHED) (RFC 7162
	// section 3.2.6), in the selected mailbox.
	untagged, _ = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", known.highestModSeq)
	r = parseResync(t, untagged, known.highestModSeq)
	check("UID FETCH (CHANGEDSINCE VANISHED)", r)
	if len(r.other) != 0 {
		t.Errorf("unexpected responses to UID FETCH (CHANGEDSINCE): %q", r.other)
	}

	// Nothing changed since the new HIGHESTMODSEQ: an empty resync.
	c.cmd("UNSELECT")
	untagged, _ = c.cmd("SELECT INBOX (QRESYNC (%d %d))", now.uidValidity, now.highestModSeq)
	r = parseResync(t, untagged, now.highestModSeq)
	if len(r.vanished) != 0 || len(r.fetched) != 0 {
		t.Errorf("a resync from the current HIGHESTMODSEQ reported vanished %v and FETCH %v", r.vanished, r.fetched)
	}
	// A stale UIDVALIDITY gets a plain SELECT, no changes.
	c.cmd("UNSELECT")
	untagged, _ = c.cmd("SELECT INBOX (QRESYNC (%d %d 1:20))", known.uidValidity+1, known.highestModSeq)
	r = parseResync(t, untagged, 0)
	if len(r.vanished) != 0 || len(r.fetched) != 0 {
		t.Errorf("QRESYNC with a wrong UIDVALIDITY reported vanished %v and FETCH %v; RFC 7162 section 3.2.5.2 wants none", r.vanished, r.fetched)
	}
	c.cmd("LOGOUT")
}

// sameFlagSet compares space-separated flag lists as sets, ignoring case
// of system flags and \Recent.
func sameFlagSet(got, want string) bool {
	norm := func(s string) []string {
		var out []string
		for _, f := range strings.Fields(s) {
			if !strings.EqualFold(f, `\Recent`) {
				out = append(out, strings.ToLower(f))
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(got), norm(want))
}
