package delivery

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/blob"
	"mailport/internal/directory"
	"mailport/internal/metrics"
	"mailport/internal/msgauth"
	"mailport/internal/store"
)

// Stage is one named step of the pipeline. Process may refuse the whole
// message by returning an error (preferably an *Error with its SMTP
// meaning) or act per recipient through Delivery.Recipients.
type Stage interface {
	Name() string
	Process(ctx context.Context, d *Delivery) error
}

// Finisher is a Stage with work for the moment the message is accepted:
// every stage has run and the local copies are stored, and the client
// has not had its reply yet. Deliver calls Finish in stage order; an
// error refuses the message like one from Process.
type Finisher interface {
	Finish(ctx context.Context, d *Delivery) error
}

// Parser parses a spooled message once at delivery (and at IMAP APPEND) and
// returns what the store keeps beside it, so IMAP never re-parses a large
// message and SEARCH never reads blobs. It must bound its own memory.
type Parser interface {
	Parse(src Source) (Parsed, error)
}

// Source is a spooled message: read once in order to parse it, and at
// offsets to extract the text of its parts.
type Source interface {
	io.Reader
	io.ReaderAt
}

// Parsed is a Parser's output.
type Parsed struct {
	// Envelope and Structure are the cached parse (store.NewMessage).
	Envelope  []byte
	Structure []byte
	// HeaderText and BodyText are the decoded text for the search index.
	HeaderText string
	BodyText   string
}

// Fill copies the parse into the message to store.
func (p Parsed) Fill(m *store.NewMessage) {
	m.Envelope, m.Structure = p.Envelope, p.Structure
	m.HeaderText, m.BodyText = p.HeaderText, p.BodyText
}

// ParserFunc adapts a function to Parser.
type ParserFunc func(src Source) (Parsed, error)

// Parse calls f(src).
func (f ParserFunc) Parse(src Source) (Parsed, error) { return f(src) }

// Envelope is what the protocol layer learned about a message before its
// content: the SMTP envelope (RFC 5321 section 2.3.1) and the connection.
type Envelope struct {
	// MailFrom is the reverse-path; "" is the null sender <>.
	MailFrom string
	// RcptTo holds the recipient addresses as accepted at RCPT, in order.
	RcptTo []string
	// Recipients are the local mailboxes, each account once.
	Recipients []*Recipient
	// Remote holds accepted recipients outside our domains (for the
	// outbound queue; see smtpd.Outbound), sent with MailFrom as it is.
	Remote []string
	// Forwarded holds external targets of aliases and forwards: they are
	// queued with the sender rewritten (SRS) so that SPF passes at the
	// receiver.
	Forwarded []string
	// Relayed holds recipients of split-routed and relay domains with the
	// host each goes to; they are queued to that host, not to the MX.
	Relayed []RelayedRecipient
	// Return and EnvelopeID are the RET and ENVID parameters of MAIL
	// (RFC 3461 sections 4.3 and 4.4), "" when not given; the queue
	// keeps them with the message.
	Return     smtp.DSNReturn
	EnvelopeID string
	// dsn holds the NOTIFY and ORCPT parameters of RCPT for the
	// outbound addresses (Remote, Forwarded, Relayed), by lower-cased
	// address (SetRecipientDSN).
	dsn map[string]RecipientDSN
	// expanded are the RCPTs that led to several addresses and whose
	// sender asked for an "expanded" notice (AddExpansion).
	expanded []Success

	RemoteIP netip.Addr
	// Helo is the client's EHLO/HELO argument; ReverseName its reverse
	// DNS name when the front end looked it up ("" otherwise).
	Helo        string
	ReverseName string
	// ESMTP says the client greeted with EHLO (else HELO: protocol "SMTP").
	ESMTP bool
	TLS   bool
	// AuthUser is the login of an authenticated (submission) client.
	AuthUser string
	// UTF8 says MAIL carried SMTPUTF8 (RFC 6531).
	UTF8 bool
}

// RelayedRecipient is a recipient sent to a fixed host (split domain
// routing, relay domains) instead of the MX of its domain.
type RelayedRecipient struct {
	Address string
	Host    string
	Port    int
}

// HasOutbound reports whether some recipient goes through the outbound
// queue.
func (e *Envelope) HasOutbound() bool {
	return len(e.Remote) > 0 || len(e.Forwarded) > 0 || len(e.Relayed) > 0
}

// AddLocal adds the local recipient lr, with what its RCPT asked of
// notices (d, from Expansion.For), unless its account is already a
// recipient (one copy per mailbox however many addresses lead to it; the
// first RCPT's parameters stay). It reports whether it was added.
func (e *Envelope) AddLocal(lr directory.LocalRecipient, d RecipientDSN) bool {
	for _, r := range e.Recipients {
		if r.Account.ID == lr.Account.ID {
			return false
		}
	}
	e.Recipients = append(e.Recipients, &Recipient{LocalRecipient: lr, DSN: d})
	return true
}

// Recipient is one local mailbox of a delivery and its outcome.
type Recipient struct {
	directory.LocalRecipient
	// MailboxID is the target folder; 0 means INBOX (set by "store").
	MailboxID int64
	// Flags are set on the stored copy (sieve addflag later).
	Flags []string
	// Message is the stored copy when Err is nil after "store".
	Message store.Message
	Err     error
	// DSN is what the sender asked of notices for this mailbox (RFC
	// 3461): NOTIFY=SUCCESS brings a "delivered" notice once the copy
	// is stored (Delivery.Successes).
	DSN RecipientDSN
}

// Delivery is one message passing through the pipeline.
type Delivery struct {
	// ID names the delivery in Received and in logs.
	ID         string
	Envelope   *Envelope
	ReceivedAt time.Time
	// Header holds header fields written in front of the content when it
	// is spooled (trace fields from "received"). Stages before "spool"
	// may append to it; each field must end in CRLF.
	Header []byte
	// BlobID and Size are the spooled message, Header included (set by
	// "spool"); the blob belongs to the delivery until "store" hands it
	// to a stored message.
	BlobID string
	Size   int64
	// Parsed is the Parser's output ("spool"); empty when the message
	// could not be parsed (it is stored anyway).
	Parsed Parsed
	// Auth is the authentication verdict of an inbound message
	// ("authres"), nil when it was not evaluated; for antispam and sieve.
	Auth *msgauth.Verdict
	// DKIMSigned says the "dkim" stage signed the message.
	DKIMSigned bool
	// MaxMessageBytes bounds the content read (0: no limit); NewDelivery
	// sets Config.MaxMessageBytes, and a caller whose limit changes at
	// run time (smtpd's SetLimits) sets its own before Deliver.
	MaxMessageBytes int64
	Log             *slog.Logger

	dl         *Deliverer
	data       io.Reader
	buffer     contentBuffer // the content, when a stage asked for it before "spool"
	dataEnd    time.Time     // when data reached EOF (end of DATA)
	spoolTaken bool          // a stored message owns BlobID
	// returnPathLen is the length of the Return-Path field at the start
	// of Header (and of the blob), left out of copies relayed onwards.
	returnPathLen int
}

// Config configures a Deliverer.
type Config struct {
	// Hostname is our name in Received fields.
	Hostname  string
	Store     store.Store
	Blobs     *blob.Store
	Committer *Committer
	// Parser parses the spooled message; nil means MIMEParser.
	Parser Parser
	// MaxMessageBytes bounds the content read into the spool (the trace
	// header not counted); 0 is unlimited.
	MaxMessageBytes int64
	Logger          *slog.Logger
	// BufferDir holds the temporary copy of a message that stages before
	// "spool" read (authentication results, DKIM signing); default the
	// system's temporary directory. The copy is not fsynced: the spool
	// blob is the durable one.
	BufferDir string
	// Metrics, when set, receives the delivery latency: from the end of
	// the content stream to the copies being durably stored.
	Metrics *metrics.Metrics
	// Now returns the current time (tests set it); default time.Now.
	Now func() time.Time
}

// Deliverer runs the pipeline. Its stage list may be extended with
// InsertBefore while it is in use.
type Deliverer struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	stages []Stage
}

// NewDeliverer returns a Deliverer with the stages "received", "spool" and
// "store".
func NewDeliverer(cfg Config) *Deliverer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Parser == nil {
		cfg.Parser = MIMEParser
	}
	d := &Deliverer{cfg: cfg, log: cfg.Logger}
	d.stages = []Stage{
		receivedStage{hostname: cfg.Hostname},
		spoolStage{blobs: cfg.Blobs, parser: cfg.Parser},
		storeStage{st: cfg.Store, blobs: cfg.Blobs, committer: cfg.Committer},
	}
	return d
}

// StageNames lists the pipeline in order.
func (dl *Deliverer) StageNames() []string {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	names := make([]string, len(dl.stages))
	for i, s := range dl.stages {
		names[i] = s.Name()
	}
	return names
}

// InsertBefore puts s in front of the stage named before.
func (dl *Deliverer) InsertBefore(before string, s Stage) error {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	for i, st := range dl.stages {
		if st.Name() == before {
			// Copy on write: Deliver calls in progress keep their list.
			n := make([]Stage, 0, len(dl.stages)+1)
			n = append(n, dl.stages[:i]...)
			n = append(n, s)
			n = append(n, dl.stages[i:]...)
			dl.stages = n
			return nil
		}
	}
	return fmt.Errorf("delivery: no stage %q", before)
}

var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

func newDeliveryID() string {
	var b [10]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// NewDelivery prepares a delivery of data for env; Deliver runs it. The
// ID is available before (the SMTP layer logs it).
func (dl *Deliverer) NewDelivery(env *Envelope, data io.Reader) *Delivery {
	id := newDeliveryID()
	return &Delivery{
		ID:         id,
		Envelope:   env,
		ReceivedAt: dl.cfg.Now(),
		Log:        dl.log.With("delivery", id),
		dl:         dl,
		data:       data,
		// The limit of the message itself; spool allows the trace
		// fields on top.
		MaxMessageBytes: dl.cfg.MaxMessageBytes,
	}
}

// Deliver runs every stage over d. It returns nil when each local
// recipient either has its copy stored or, with others stored, its own
// Err; otherwise the *Error that refuses the message. Data is consumed by
// "spool"; the spool blob is removed unless a stored message owns it.
func (dl *Deliverer) Deliver(ctx context.Context, d *Delivery) error {
	dl.mu.Lock()
	stages := dl.stages
	dl.mu.Unlock()
	defer func() {
		d.closeBuffer()
		if d.BlobID != "" && !d.spoolTaken {
			if err := dl.cfg.Blobs.Delete(d.BlobID); err != nil {
				d.Log.Warn("removing spooled message", "err", err)
			}
		}
	}()
	for _, s := range stages {
		if err := s.Process(ctx, d); err != nil {
			e := AsError(err)
			d.Log.Info("delivery refused", "stage", s.Name(), "code", e.Code, "err", err)
			return e
		}
	}
	for _, s := range stages {
		f, ok := s.(Finisher)
		if !ok {
			continue
		}
		if err := f.Finish(ctx, d); err != nil {
			e := AsError(err)
			d.Log.Warn("delivery refused once every stage had run", "stage", s.Name(), "code", e.Code, "err", err)
			return e
		}
	}
	if m := dl.cfg.Metrics; m != nil && !d.dataEnd.IsZero() {
		m.DeliveryLatency.Observe(time.Since(d.dataEnd).Seconds())
	}
	return nil
}
