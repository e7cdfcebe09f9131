package delivery

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"mailport/internal/dns"
	"mailport/internal/msgauth/dkim"
)

// signedMessage signs testMessage for remote.test with a fresh key and
// publishes the key in zone.
func signedMessage(t *testing.T, zone *dns.Mock) string {
	t.Helper()
	key, err := dkim.GenerateKey(dkim.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.DNSRecord(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	zone.AddTXT(dkim.RecordName("s1", "remote.test"), rec)
	field, err := dkim.Sign(strings.NewReader(testMessage), "remote.test", "s1", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return field + testMessage
}

func TestAuthResultsStage(t *testing.T) {
	cases := []struct {
		name     string
		dmarc    string
		spf      string
		signed   bool
		wantCode int
		want     []string
	}{
		{"all pass", "v=DMARC1; p=reject", "v=spf1 ip4:192.0.2.7 -all", true, 0,
			[]string{"spf=pass", "dkim=pass", "dmarc=pass", "header.d=remote.test"}},
		{"spf only", "v=DMARC1; p=reject", "v=spf1 ip4:192.0.2.7 -all", false, 0,
			[]string{"spf=pass", "dkim=none", "dmarc=pass"}},
		{"dmarc reject", "v=DMARC1; p=reject", "v=spf1 -all", false, 550, nil},
		{"dmarc none policy", "v=DMARC1; p=none", "v=spf1 -all", false, 0,
			[]string{"spf=fail", "dmarc=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user(t, "alice@example.test", 0)
			zone := &dns.Mock{}
			zone.AddTXT("remote.test", tc.spf)
			zone.AddTXT("_dmarc.remote.test", tc.dmarc)
			msg := testMessage
			if tc.signed {
				msg = signedMessage(t, zone)
			}
			dl := e.deliverer(t, nil, 0)
			if err := dl.InsertBefore("spool", AuthResults(zone, "mx.example.test")); err != nil {
				t.Fatal(err)
			}
			en := &Envelope{MailFrom: "bob@remote.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), Helo: "mail.remote.test", ESMTP: true}
			e.resolve(t, en, "alice@example.test")
			d := dl.NewDelivery(en, strings.NewReader(msg))
			err := dl.Deliver(context.Background(), d)
			if tc.wantCode != 0 {
				var de *Error
				if !errors.As(err, &de) || de.Code != tc.wantCode || de.Enhanced != [3]int{5, 7, 1} {
					t.Fatalf("Deliver = %v, want %d 5.7.1", err, tc.wantCode)
				}
				if n := len(e.inbox(t, "alice@example.test")); n != 0 {
					t.Errorf("refused message stored %d times", n)
				}
				if n := e.blobFiles(t); n != 0 {
					t.Errorf("%d blob files left", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.inbox(t, "alice@example.test")
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			got := e.read(t, msgs[0].BlobID)
			hdrEnd := strings.Index(got, msg)
			if hdrEnd < 0 {
				t.Fatalf("content not kept verbatim:\n%s", got)
			}
			trace := got[:hdrEnd]
			if !strings.Contains(trace, "Authentication-Results: mx.example.test;") {
				t.Fatalf("no Authentication-Results in\n%s", trace)
			}
			for _, w := range tc.want {
				if !strings.Contains(trace, w) {
					t.Errorf("trace lacks %q:\n%s", w, trace)
				}
			}
			if d.Auth == nil {
				t.Error("Delivery.Auth not set")
			}
			if msgs[0].Size != int64(len(got)) {
				t.Errorf("size %d, blob %d", msgs[0].Size, len(got))
			}
		})
	}
}

func TestAuthResultsSkipsAuthenticated(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	zone := &dns.Mock{}
	zone.AddTXT("_dmarc.remote.test", "v=DMARC1; p=reject")
	dl := e.deliverer(t, nil, 0)
	if err := dl.InsertBefore("spool", AuthResults(zone, "mx.example.test")); err != nil {
		t.Fatal(err)
	}
	en := &Envelope{MailFrom: "bob@remote.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), AuthUser: "bob@remote.test"}
	e.resolve(t, en, "alice@example.test")
	if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(testMessage))); err != nil {
		t.Fatal(err)
	}
	got := e.read(t, e.inbox(t, "alice@example.test")[0].BlobID)
	if strings.Contains(got, "Authentication-Results") {
		t.Errorf("authenticated submission evaluated:\n%s", got)
	}
}

// TestDKIMSignStage signs with the key of the From domain. A domain
// written in U-labels (RFC 6532) or in A-labels of any case is signed with
// d= in A-labels (RFC 6376 section 3.5): the key is asked for, and the
// record found, under that name.
func TestDKIMSignStage(t *testing.T) {
	key, err := dkim.GenerateKey(dkim.RSA)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	keys := func(_ context.Context, domain string) (string, crypto.Signer, bool, error) {
		asked = append(asked, domain)
		if domain == "remote.test" || domain == "xn--bcher-kva.test" {
			return "sel", key, true, nil
		}
		return "", nil, false, nil
	}
	rec, err := dkim.DNSRecord(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	zone := &dns.Mock{}
	zone.AddTXT(dkim.RecordName("sel", "remote.test"), rec)
	zone.AddTXT(dkim.RecordName("sel", "xn--bcher-kva.test"), rec)
	from := func(f string) string { return strings.Replace(testMessage, "From: bob@remote.test", "From: "+f, 1) }
	cases := []struct {
		name     string
		msg      string
		authUser string
		d        string // d= of the signature; "" unsigned
	}{
		{"signed", testMessage, "bob@remote.test", "remote.test"},
		{"no key for domain", from("bob@other.test"), "bob@other.test", ""},
		{"not authenticated", testMessage, "", ""},
		{"U-label From", from("bob@bücher.test"), "bob@xn--bcher-kva.test", "xn--bcher-kva.test"},
		{"upper-case U-label From with a name", from("Bob <bob@BÜCHER.test>"), "bob@xn--bcher-kva.test", "xn--bcher-kva.test"},
		{"upper-case A-label From", from("bob@XN--BCHER-KVA.test"), "bob@xn--bcher-kva.test", "xn--bcher-kva.test"},
	}
	dTag := regexp.MustCompile(`[;\s]d=([^;\s]+)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			e := newEnv(t)
			e.user(t, "alice@example.test", 0)
			dl := e.deliverer(t, nil, 0)
			if err := dl.InsertBefore("spool", DKIMSign(keys)); err != nil {
				t.Fatal(err)
			}
			en := &Envelope{MailFrom: tc.authUser, AuthUser: tc.authUser, RemoteIP: netip.MustParseAddr("127.0.0.1")}
			e.resolve(t, en, "alice@example.test")
			d := dl.NewDelivery(en, strings.NewReader(tc.msg))
			if err := dl.Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			got := e.read(t, e.inbox(t, "alice@example.test")[0].BlobID)
			wantSigned := tc.d != ""
			if d.DKIMSigned != wantSigned || strings.Contains(got, "DKIM-Signature:") != wantSigned {
				t.Fatalf("signed %v, want %v:\n%s", d.DKIMSigned, wantSigned, got)
			}
			if !wantSigned {
				return
			}
			if len(asked) != 1 || asked[0] != tc.d {
				t.Errorf("keys asked for %q, want [%s]", asked, tc.d)
			}
			if m := dTag.FindStringSubmatch(got); m == nil || m[1] != tc.d {
				t.Errorf("d= %q, want %s:\n%s", m, tc.d, got)
			}
			res, err := dkim.Verify(context.Background(), strings.NewReader(got), zone)
			if err != nil || len(res) != 1 || res[0].Status != dkim.StatusPass {
				t.Errorf("verify: %+v, %v", res, err)
			}
		})
	}
}

// recordingOutbound keeps what the outbound stage hands over.
type recordingOutbound struct {
	copies []string
	err    error
}

func (o *recordingOutbound) Enqueue(_ context.Context, d *Delivery) error {
	if o.err != nil {
		return o.err
	}
	r, err := d.OpenRelayCopy()
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	o.copies = append(o.copies, string(b))
	return err
}

func TestOutboundStage(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	out := &recordingOutbound{}
	dl := e.deliverer(t, nil, 0)
	if err := dl.InsertBefore("store", OutboundStage(out)); err != nil {
		t.Fatal(err)
	}
	// Only remote recipients: the spool blob is read before it is removed.
	en := &Envelope{MailFrom: "alice@example.test", AuthUser: "alice@example.test", Remote: []string{"x@remote.test"}, RcptTo: []string{"x@remote.test"}}
	if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(testMessage))); err != nil {
		t.Fatal(err)
	}
	if len(out.copies) != 1 {
		t.Fatalf("%d copies queued", len(out.copies))
	}
	if strings.Contains(out.copies[0], "Return-Path") || !strings.HasPrefix(out.copies[0], "Received: ") || !strings.HasSuffix(out.copies[0], testMessage) {
		t.Errorf("relayed copy:\n%s", out.copies[0])
	}
	if n := e.blobFiles(t); n != 0 {
		t.Errorf("%d spool blobs left", n)
	}

	// A queue failure refuses the message and stores no local copy.
	out.err = errors.New("disk full")
	en = &Envelope{MailFrom: "alice@example.test", Remote: []string{"x@remote.test"}, RcptTo: []string{"x@remote.test", "alice@example.test"}}
	e.resolve(t, en, "alice@example.test")
	err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(testMessage)))
	if de := AsError(err); de == nil || de.Code != 451 {
		t.Fatalf("Deliver = %v, want 451", err)
	}
	if n := len(e.inbox(t, "alice@example.test")); n != 0 {
		t.Errorf("%d local copies after queue failure", n)
	}
}

func TestContentSizeLimit(t *testing.T) {
	e := newEnv(t)
	e.user(t, "alice@example.test", 0)
	dl := e.deliverer(t, nil, 10)
	zone := &dns.Mock{}
	if err := dl.InsertBefore("spool", AuthResults(zone, "mx.example.test")); err != nil {
		t.Fatal(err)
	}
	en := &Envelope{MailFrom: "bob@remote.test", RemoteIP: netip.MustParseAddr("192.0.2.7")}
	e.resolve(t, en, "alice@example.test")
	err := dl.Deliver(context.Background(), dl.NewDelivery(en, bytes.NewReader([]byte(testMessage))))
	if de := AsError(err); de == nil || de.Code != 552 {
		t.Fatalf("Deliver = %v, want 552", err)
	}
}

func TestFromAddresses(t *testing.T) {
	cases := []struct {
		hdr     string
		want    []string
		wantErr bool
	}{
		{"From: Bob <bob@remote.test>\r\nTo: a@b.test\r\n\r\n", []string{"bob@remote.test"}, false},
		{"From: a@x.test, b@y.test\r\n\r\n", []string{"a@x.test", "b@y.test"}, false},
		{"To: a@b.test\r\n\r\n", nil, true},
		{"From: not an address\r\n\r\n", nil, true},
	}
	for _, tc := range cases {
		got, err := FromAddresses([]byte(tc.hdr))
		if (err != nil) != tc.wantErr || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("FromAddresses(%q) = %v, %v", tc.hdr, got, err)
		}
	}
}

// TestAuthResultsDropsForgedFields: fields that claim our authserv-id are
// removed from mail arriving from outside and from our users' submissions
// (RFC 8601 section 5); other servers' fields stay. Small messages are
// rewritten in memory, large ones in a temporary file.
func TestAuthResultsDropsForgedFields(t *testing.T) {
	forged := "Authentication-Results: MX.example.test; dmarc=pass header.from=bank.test\r\n" +
		"Authentication-Results: (c) mx.example.test;\r\n\tspf=pass\r\n" +
		"Authentication-Results: mx.other.test; spf=pass\r\n"
	for _, tc := range []struct {
		name     string
		authUser string
		bodyLen  int
	}{
		{"remote small", "", 0},
		{"remote large", "", memBufferBytes + 1000},
		{"submission", "bob@remote.test", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.user(t, "alice@example.test", 0)
			zone := &dns.Mock{}
			dl := e.deliverer(t, nil, 0)
			if err := dl.InsertBefore("spool", AuthResults(zone, "mx.example.test")); err != nil {
				t.Fatal(err)
			}
			body := testMessage + strings.Repeat("x", tc.bodyLen)
			en := &Envelope{MailFrom: "bob@remote.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), Helo: "mail.remote.test", AuthUser: tc.authUser}
			e.resolve(t, en, "alice@example.test")
			if err := dl.Deliver(context.Background(), dl.NewDelivery(en, strings.NewReader(forged+body))); err != nil {
				t.Fatal(err)
			}
			msgs := e.inbox(t, "alice@example.test")
			got := e.read(t, msgs[0].BlobID)
			if strings.Contains(got, "dmarc=pass header.from=bank.test") || strings.Contains(got, "(c) mx.example.test") {
				t.Errorf("forged field kept:\n%.600s", got)
			}
			if !strings.Contains(got, "Authentication-Results: mx.other.test; spf=pass\r\n"+body) {
				t.Errorf("other server's field or the content changed:\n%.600s", got)
			}
			if msgs[0].Size != int64(len(got)) {
				t.Errorf("size %d, blob %d", msgs[0].Size, len(got))
			}
		})
	}
}
