package queue

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"mailport/internal/blob"
	"mailport/internal/queue/dsn"
)

// spooled puts prefix+testMessage into a blob, as the delivery spool does
// with its Return-Path field in front.
func spooled(t *testing.T, bs *blob.Store, prefix string) string {
	t.Helper()
	id, _, err := bs.Put(context.Background(), strings.NewReader(prefix+testMessage), 0)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// EnqueueLink queues a spooled message without copying it: the entry owns
// its own link (the caller's blob may go), and what is sent (remote MX,
// local delivery, the DSN's header part) starts at the offset.
func TestEnqueueLink(t *testing.T) {
	const prefix = "Return-Path: <alice@local.test>\r\n"
	cases := []struct {
		name  string
		rcpt  string
		setup func(e *env, mx *mxServer)
		check func(t *testing.T, e *env, mx *mxServer)
	}{
		{"remote", "bob@remote.test", func(e *env, mx *mxServer) {}, func(t *testing.T, e *env, mx *mxServer) {
			mx.wait(1)
			if m := mx.messages(); len(m) != 1 || !sameBody(m[0].data) {
				t.Errorf("MX got %d messages (%v), want one without the prefix", len(m), m)
			}
		}},
		{"local", "carol@local.test", func(e *env, mx *mxServer) {}, func(t *testing.T, e *env, mx *mxServer) {
			if got := e.waitLocal(); !sameBody(got) {
				t.Errorf("local delivery got %q, want the message without the prefix", got)
			}
		}},
		{"bounced", "bob@remote.test", func(e *env, mx *mxServer) {
			mx.rcptReply = func(string, int) error { return smtpErr(550, [3]int{5, 1, 1}, "no such user") }
		}, func(t *testing.T, e *env, mx *mxServer) {
			rep, err := dsn.Parse(bytes.NewReader(e.waitLocal()))
			if err != nil {
				t.Fatal(err)
			}
			h := string(rep.OriginalHeader)
			if !strings.HasPrefix(h, "From: alice@local.test") || strings.Contains(h, "Return-Path") {
				t.Errorf("DSN original header %q, want it to start after the prefix", h)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mx := startMX(t, "127.0.0.1", 0, nil)
			e := newEnv(t, mx.port)
			e.dns.addMX("remote.test", "mx.remote.test", 10)
			e.dns.addIP("mx.remote.test", "127.0.0.1")
			tc.setup(e, mx)
			mx.ready()
			q := e.open()
			src := spooled(t, e.blobs, prefix)
			id, err := q.EnqueueLink(context.Background(), "alice@local.test", []string{tc.rcpt}, src, int64(len(prefix)))
			if err != nil {
				t.Fatal(err)
			}
			ent, err := q.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if ent.BlobID == src || ent.Offset != int64(len(prefix)) || ent.Size != int64(len(testMessage)) {
				t.Fatalf("entry blob %s offset %d size %d; want its own link, offset %d, size %d", ent.BlobID, ent.Offset, ent.Size, len(prefix), len(testMessage))
			}
			// The spool's copy goes away as the delivery ends.
			if err := e.blobs.Delete(src); err != nil {
				t.Fatal(err)
			}
			e.run(q)
			tc.check(t, e, mx)
			waitEmpty(t, q)
			// The row goes first and the file right after it (a crash in
			// between leaves a stray file, never a row without its file).
			waitFor(t, "the queue's link removed after the entry is done", func() bool {
				return !e.blobs.Exists(ent.BlobID)
			})
		})
	}
}

func TestEnqueueLinkRefuses(t *testing.T) {
	e := newEnv(t, 25)
	e.cfg.MaxMessageBytes = int64(len(testMessage)) - 1
	q := e.open()
	defer q.Close()
	src := spooled(t, e.blobs, "")
	big := spooled(t, e.blobs, "X-Pad: 1\r\n")
	cases := []struct {
		name   string
		blobID string
		skip   int64
		want   string
	}{
		{"negative offset", src, -1, "negative offset"},
		{"offset beyond the end", src, int64(len(testMessage)) + 1, "beyond the message"},
		{"unknown blob", "0123456789abcdef0123456789abcdef", 0, "no such file"},
		{"bad blob id", "../x", 0, "bad id"},
		{"over the size limit", big, 0, "size limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.EnqueueLink(context.Background(), "alice@local.test", []string{"bob@remote.test"}, tc.blobID, tc.skip)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EnqueueLink: %v, want an error with %q", err, tc.want)
			}
		})
	}
	// The content within the limit, past a skipped prefix, is accepted.
	if _, err := q.EnqueueLink(context.Background(), "alice@local.test", []string{"bob@remote.test"}, big, int64(len("X-Pad: 1\r\n"))+1); err != nil {
		t.Errorf("message within the limit: %v", err)
	}
	l, err := q.List(context.Background())
	if err != nil || len(l) != 1 {
		t.Errorf("queue holds %d entries (%v), want only the accepted one", len(l), err)
	}
	if _, err := q.EnqueueLink(context.Background(), "alice@local.test", nil, src, 0); err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("no recipients: %v", err)
	}
}
