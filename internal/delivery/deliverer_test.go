package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"mailport/internal/mime"
	"mailport/internal/notify"
	"mailport/internal/store"
)

func TestDeliverSingleRecipient(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.test", 0)
	sub := e.bus.Subscribe(alice.ID)
	defer sub.Close()
	p := &countingParser{}
	dl := e.deliverer(t, p, 0)
	en := &Envelope{MailFrom: "bob@remote.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), Helo: "mail.remote.test", ESMTP: true, TLS: true}
	e.resolve(t, en, "Alice+news@Example.test")
	d := dl.NewDelivery(en, strings.NewReader(testMessage))
	if err := dl.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	msgs := e.inbox(t, "alice@example.test")
	if len(msgs) != 1 {
		t.Fatalf("inbox has %d messages, want 1", len(msgs))
	}
	got := e.read(t, msgs[0].BlobID)
	want := "Return-Path: <bob@remote.test>\r\n" +
		"Received: from mail.remote.test ([192.0.2.7])\r\n" +
		"\tby mx.example.test (mailport) with ESMTPS id " + d.ID + "\r\n" +
		"\tfor <Alice+news@Example.test>;\r\n" +
		"\tWed, 25 Nov 2026 10:00:00 +0000\r\n" + testMessage
	if got != want {
		t.Errorf("stored message:\n%q\nwant\n%q", got, want)
	}
	if msgs[0].Size != int64(len(want)) || d.Size != int64(len(want)) {
		t.Errorf("size %d / %d, want %d", msgs[0].Size, d.Size, len(want))
	}
	full, err := e.st.GetMessage(context.Background(), msgs[0].MailboxID, msgs[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if p.calls != 1 || string(full.Structure) != `{"type":"text/plain"}` || string(full.Envelope) != `{"subject":"hi"}` {
		t.Errorf("parser calls %d, structure %q, envelope %q", p.calls, full.Structure, full.Envelope)
	}
	if en.Recipients[0].Err != nil || en.Recipients[0].Message.UID != msgs[0].UID || en.Recipients[0].Detail != "news" {
		t.Errorf("recipient outcome %+v", en.Recipients[0])
	}
	select {
	case ev := <-sub.C:
		if ev.Kind != notify.MessageAdded || ev.MailboxID != msgs[0].MailboxID || ev.ModSeq != msgs[0].ModSeq {
			t.Errorf("event %+v", ev)
		}
	default:
		t.Error("no MessageAdded event")
	}
	if n := e.blobFiles(t); n != 1 {
		t.Errorf("%d blob files, want 1 (the stored message)", n)
	}
}

func TestDeliverManyRecipientsShareOneFile(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"a@example.test", "b@example.test", "c@example.test"} {
		e.user(t, u, 0)
	}
	if _, err := e.dirs.AddAlias(context.Background(), "team@example.test", []string{"a@example.test", "b@example.test"}); err != nil {
		t.Fatal(err)
	}
	p := &countingParser{}
	dl := e.deliverer(t, p, 0)
	en := &Envelope{MailFrom: "", ESMTP: true}
	// a appears twice (directly and through the alias): one copy.
	e.resolve(t, en, "team@example.test", "a@example.test", "c@example.test")
	if len(en.Recipients) != 3 {
		t.Fatalf("%d recipients, want 3", len(en.Recipients))
	}
	d := dl.NewDelivery(en, strings.NewReader(testMessage))
	if err := dl.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range []string{"a@example.test", "b@example.test", "c@example.test"} {
		msgs := e.inbox(t, u)
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages", u, len(msgs))
		}
		ids = append(ids, msgs[0].BlobID)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("copies share a blob id: %v", ids)
	}
	if !sameFile(t, e, ids[0], ids[1]) || !sameFile(t, e, ids[0], ids[2]) {
		t.Error("copies are not hard links of one file")
	}
	got := e.read(t, ids[2])
	if !strings.HasPrefix(got, "Return-Path: <>\r\n") || strings.Contains(got, "\tfor <") {
		t.Errorf("trace fields: %q", got)
	}
	if p.calls != 1 {
		t.Errorf("parsed %d times, want once", p.calls)
	}
	if n := e.blobFiles(t); n != 3 {
		t.Errorf("%d blob files, want 3", n)
	}
}

func TestDeliverQuota(t *testing.T) {
	tests := []struct {
		name       string
		rcpts      []string
		wantErr    int // SMTP code of the whole delivery, 0 for accepted
		wantStored map[string]int
	}{
		{"only recipient over quota", []string{"full@example.test"}, 452, map[string]int{"full@example.test": 0}},
		{"others accept: soft overshoot", []string{"ok@example.test", "full@example.test"}, 0,
			map[string]int{"ok@example.test": 1, "full@example.test": 1}},
		{"all over quota", []string{"full@example.test", "full2@example.test"}, 452,
			map[string]int{"full@example.test": 0, "full2@example.test": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user(t, "ok@example.test", 0)
			e.user(t, "full@example.test", 10)
			e.user(t, "full2@example.test", 10)
			dl := e.deliverer(t, nil, 0)
			en := &Envelope{MailFrom: "x@remote.test"}
			e.resolve(t, en, tc.rcpts...)
			err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(testMessage)))
			if tc.wantErr == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != 0 {
				var de *Error
				if !errors.As(err, &de) || de.Code != tc.wantErr || de.Enhanced != [3]int{4, 2, 2} || !errors.Is(err, store.ErrOverQuota) {
					t.Fatalf("error %v, want %d 4.2.2", err, tc.wantErr)
				}
			}
			total := 0
			for u, n := range tc.wantStored {
				if got := len(e.inbox(t, u)); got != n {
					t.Errorf("%s has %d messages, want %d", u, got, n)
				}
				total += n
			}
			if got := e.blobFiles(t); got != total {
				t.Errorf("%d blob files, want %d (nothing left behind)", got, total)
			}
		})
	}
}

type refuseStage struct{ seen *[]string }

func (refuseStage) Name() string { return "refuse" }
func (s refuseStage) Process(_ context.Context, d *Delivery) error {
	*s.seen = append(*s.seen, d.BlobID)
	return &Error{Code: 550, Enhanced: [3]int{5, 7, 1}, Message: "spam"}
}

func TestInsertBeforeAndRefusal(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	dl := e.deliverer(t, nil, 0)
	var seen []string
	if err := dl.InsertBefore("store", refuseStage{&seen}); err != nil {
		t.Fatal(err)
	}
	if err := dl.InsertBefore("nonexistent", refuseStage{&seen}); err == nil {
		t.Error("InsertBefore of an unknown stage succeeded")
	}
	if got := strings.Join(dl.StageNames(), ","); got != "received,spool,refuse,store" {
		t.Errorf("stages %s", got)
	}
	en := &Envelope{MailFrom: "x@remote.test"}
	e.resolve(t, en, "alice@example.test")
	err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(testMessage)))
	var de *Error
	if !errors.As(err, &de) || de.Code != 550 || de.Message != "spam" {
		t.Fatalf("error %v", err)
	}
	if len(seen) != 1 || seen[0] == "" {
		t.Errorf("inserted stage did not see the spooled blob: %v", seen)
	}
	if len(e.inbox(t, "alice@example.test")) != 0 || e.blobFiles(t) != 0 {
		t.Error("refused message left something behind")
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestDeliverSpoolErrors(t *testing.T) {
	bare := ErrorBareLineEnding(nil)
	tests := []struct {
		name string
		data string
		rd   func(string) interface{ Read([]byte) (int, error) }
		max  int64
		code int
	}{
		{"too large", strings.Repeat("x", 200), nil, 100, 552},
		{"exactly the limit", strings.Repeat("x", 100), nil, 100, 0},
		{"reader refusal keeps its meaning", "", func(string) interface{ Read([]byte) (int, error) } { return failingReader{bare} }, 0, 550},
		{"reader I/O error is ours", "", func(string) interface{ Read([]byte) (int, error) } { return failingReader{errors.New("reset")} }, 0, 451},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user(t, "alice@example.test", 0)
			dl := e.deliverer(t, nil, tc.max)
			en := &Envelope{MailFrom: "x@remote.test"}
			e.resolve(t, en, "alice@example.test")
			var d *Delivery
			if tc.rd != nil {
				d = dl.NewDelivery(en, tc.rd(tc.data))
			} else {
				d = dl.NewDelivery(en, strings.NewReader(tc.data))
			}
			err := dl.Deliver(context.Background(), d)
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if de := AsError(err); de == nil || de.Code != tc.code {
				t.Fatalf("error %v, want code %d", err, tc.code)
			}
			if e.blobFiles(t) != 0 {
				t.Error("refused message left files behind")
			}
		})
	}
}

func TestProtocolName(t *testing.T) {
	tests := []struct {
		env  Envelope
		want string
	}{
		{Envelope{}, "SMTP"},
		{Envelope{ESMTP: true}, "ESMTP"},
		{Envelope{ESMTP: true, TLS: true}, "ESMTPS"},
		{Envelope{ESMTP: true, AuthUser: "a"}, "ESMTPA"},
		{Envelope{ESMTP: true, TLS: true, AuthUser: "a"}, "ESMTPSA"},
		{Envelope{ESMTP: true, UTF8: true, TLS: true}, "UTF8SMTPS"},
		{Envelope{ESMTP: true, UTF8: true, TLS: true, AuthUser: "a"}, "UTF8SMTPSA"},
	}
	for _, tc := range tests {
		if got := protocolName(&tc.env); got != tc.want {
			t.Errorf("protocolName(%+v) = %s, want %s", tc.env, got, tc.want)
		}
	}
}

func TestReceivedSanitizesClientText(t *testing.T) {
	en := &Envelope{MailFrom: "a>\r\nX-Evil: 1@x", Helo: "evil)\r\nX-Injected: yes (", RemoteIP: netip.MustParseAddr("2001:db8::1"), ESMTP: true,
		RcptTo: []string{"u@example.test"}}
	d := &Delivery{ID: "ID", Envelope: en}
	if err := (receivedStage{hostname: "mx.example.test"}).Process(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	h := string(d.Header)
	for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "Return-Path: ") && !strings.HasPrefix(line, "Received: ") {
			t.Errorf("client text started a header line: %q", line)
		}
	}
	if strings.Count(h, "\n") != strings.Count(h, "\r\n") || strings.Contains(h, "X-Injected:") && !strings.Contains(h, "evil___X-Injected:") {
		t.Errorf("header %q", h)
	}
	if !strings.Contains(h, "[IPv6:2001:db8::1]") {
		t.Errorf("IPv6 literal missing: %q", h)
	}
	long := strings.Repeat("h", 5000)
	if got := headerSafe(long, 255); len(got) != 255 {
		t.Errorf("headerSafe kept %d octets", len(got))
	}
}

func TestDefaultParserIsMIME(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	dl := e.deliverer(t, nil, 0)
	en := &Envelope{MailFrom: "bob@remote.test"}
	e.resolve(t, en, "alice@example.test")
	body := "From: Bob <bob@remote.test>\r\nSubject: parsed once\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n"
	if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(body))); err != nil {
		t.Fatal(err)
	}
	m := en.Recipients[0].Message
	full, err := e.st.GetMessage(context.Background(), m.MailboxID, m.UID)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mime.Unmarshal(full.Structure)
	if err != nil {
		t.Fatalf("stored structure: %v", err)
	}
	if parsed.Envelope.Subject != "parsed once" || parsed.Size != full.Size {
		t.Errorf("parsed envelope %+v, size %d of %d", parsed.Envelope, parsed.Size, full.Size)
	}
	var env mime.Envelope
	if err := json.Unmarshal(full.Envelope, &env); err != nil || env.Subject != "parsed once" {
		t.Errorf("stored envelope %s: %v", full.Envelope, err)
	}
}

// A delivered message is in the search index: SEARCH BODY/TEXT never reads
// blobs for it.
func TestDeliveredMessageIsIndexed(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	dl := e.deliverer(t, nil, 0)
	en := &Envelope{MailFrom: "bob@remote.test", ESMTP: true}
	e.resolve(t, en, "alice@example.test")
	msg := "From: bob@remote.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Sch=F6ne Gr=FC=DFe aus K=F6ln\r\n"
	if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(msg))); err != nil {
		t.Fatal(err)
	}
	msgs := e.inbox(t, "alice@example.test")
	for _, c := range []struct {
		field  store.TextField
		needle string
	}{{store.TextBody, "GRÜßE AUS"}, {store.TextBody, "köln"}, {store.TextHeader, "subject: grüße"}, {store.TextAll, "schöne"}} {
		uids, err := e.st.SearchText(context.Background(), msgs[0].MailboxID, c.field, c.needle)
		if err != nil {
			t.Fatal(err)
		}
		if len(uids) != 1 || uids[0] != msgs[0].UID {
			t.Errorf("SearchText(%v, %q) = %v, want [%d]", c.field, c.needle, uids, msgs[0].UID)
		}
	}
}
