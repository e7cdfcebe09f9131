// Package queue is mailport's durable outbound queue: it keeps messages for
// remote recipients until a remote MTA (or the smarthost) has taken them,
// retries with back-off on temporary failures, and returns a delivery
// status notification (internal/queue/dsn) to the sender when delivery
// fails for good, and once when it is still delayed after
// Routing.DelayWarning.
//
// A queued message is one blob (internal/blob, fsynced; a hard link to the
// spooled copy when it comes from SMTP, EnqueueLink) plus one row in the
// queue's own SQLite file with a row per recipient. Writes go through a
// group commit (committer): concurrent Enqueues and delivery results share
// one transaction and one round of directory fsyncs. Delivery is
// at-least-once: an entry and its blob go away only after every recipient
// is final and the bounce for the failed ones is itself queued, so a crash
// at any point leads to a retry, never to a lost message.
package queue

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/blob"
	"mailport/internal/dns"
	"mailport/internal/domainname"
	"mailport/internal/queue/dsn"
)

// ErrNotFound is returned for an unknown entry id.
var ErrNotFound = errors.New("no such queue entry")

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("queue: closed")

// State is where one recipient of an entry stands.
type State string

// Recipient states. Delivered and Failed are final.
const (
	Pending   State = "pending"
	Delivered State = "delivered"
	Failed    State = "failed"
)

// Recipient is one envelope recipient of a queued message.
type Recipient struct {
	Address string
	State   State
	// Attempts counts the delivery attempts made for this recipient.
	Attempts int
	// LastError is the last failure, e.g. "mx.remote.test: 451 4.7.1 try later".
	LastError string
	// Status is the RFC 3463 code of the last answer (5.1.1, 4.4.1, ...).
	Status string
	// RemoteMTA is the host that gave the last answer.
	RemoteMTA string
	Updated   time.Time
	// Reported is set once the notice about this recipient is queued:
	// the failure notice of a failed one, the success notice (Success)
	// of a delivered one.
	Reported bool
	// Notify is the NOTIFY parameter the client gave with RCPT (RFC 3461
	// section 4.1), nil when it gave none: which notices the sender
	// wants for this recipient (see wants).
	Notify []smtp.DSNNotify
	// OriginalRecipient and its type are the ORCPT parameter of RCPT
	// (RFC 3461 section 4.2), "" when none was given: passed on to a
	// next hop that supports DSN, and written in our notices as
	// Original-Recipient.
	OriginalRecipientType smtp.DSNAddressType
	OriginalRecipient     string
	// Success is the action of the success notice owed to the sender
	// for a delivered recipient whose NOTIFY has SUCCESS: "delivered"
	// for local delivery (RFC 3461 section 5.2.3), "relayed" for a next
	// hop that does not support DSN (section 5.2.2); "" when none is
	// owed (a next hop with DSN reports itself).
	Success dsn.Action
}

// Entry is one queued message.
type Entry struct {
	ID string
	// From is the envelope sender; "" is the null sender (bounces).
	From       string
	Recipients []Recipient
	BlobID     string
	// Offset is where the message starts in its blob: a blob shared with
	// the spool (EnqueueLink) may begin with fields that are not sent
	// on, like Return-Path. Size counts from Offset.
	Offset int64
	Size   int64
	// EightBit is set when the body has octets above 127 (RFC 6152).
	EightBit    bool
	Created     time.Time
	NextAttempt time.Time
	// Attempts counts delivery rounds.
	Attempts  int
	LastError string
	// DSNSent is set once every failed recipient has been reported.
	DSNSent bool
	// DelayNotified is set once the delay notice (RFC 3464 Action
	// "delayed") is queued, or was found not wanted: a message gets at
	// most one.
	DelayNotified bool
	// DKIMSigned records that the message was signed before queueing.
	DKIMSigned bool
	// Route, when set, sends every remote recipient of the entry to this
	// host instead of its MX (Via: split domain routing, relay domains).
	Route *Destination
	// Return and EnvelopeID are the RET and ENVID parameters of MAIL
	// (RFC 3461 sections 4.3 and 4.4), "" when not given: passed on to
	// a next hop that supports DSN, and used by our notices (the whole
	// message in a failure notice for RET=FULL, Original-Envelope-Id).
	Return     smtp.DSNReturn
	EnvelopeID string
}

// Smarthost sends all outbound mail through one relay (the MasterAdmin
// setting of issue 4).
type Smarthost struct {
	Host string
	Port int // default 587, or 465 with TLS mode "tls"
	// Username and Password, when set, are used with AUTH PLAIN. They are
	// only sent over TLS unless TLS is "none".
	Username string
	Password string
	TLS      TLSMode
}

// TLSMode is how the connection to a smarthost is protected.
type TLSMode string

// TLS modes for a smarthost.
const (
	// TLSStartTLS requires STARTTLS with a verified certificate (default).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit connects with TLS from the first byte (port 465, RFC 8314).
	TLSImplicit TLSMode = "tls"
	// TLSOpportunistic uses STARTTLS when offered, unverified.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone never uses TLS.
	TLSNone TLSMode = "none"
)

// Destination overrides MX lookup for a domain: relay domains and split
// domain routing send to a fixed host.
type Destination struct {
	Host string
	Port int // 0 = Config.SMTPPort
}

// Config configures a Queue. Dir, Blobs and Hostname are required.
type Config struct {
	// Dir holds queue.db (usually the data directory).
	Dir   string
	Blobs *blob.Store
	// Resolver answers MX and address lookups.
	Resolver dns.Resolver
	// Hostname is the name in EHLO, in Reporting-MTA and in the DSN's From.
	Hostname string
	// SMTPPort is the port of remote MX hosts (mailport.toml [queue]
	// smtp_port); default 25. It, SourceAddress and Smarthost are the
	// starting Routing (with MaxMessageBytes); SetRouting changes them.
	SMTPPort int
	// Smarthost, when set, receives all outbound mail.
	Smarthost *Smarthost
	// Route, when set, is asked per recipient domain before MX lookup; a
	// non-nil Destination sends that domain's mail there (relay domains,
	// split domain routing).
	Route func(ctx context.Context, domain string) (*Destination, error)
	// Policy, when set, gives the MTA-STS policy of a domain (RFC 8461).
	Policy PolicySource
	// Lifetime is how long a message is retried; default 5 days.
	Lifetime time.Duration
	// DelayWarning is Routing.DelayWarning at the start.
	DelayWarning time.Duration
	// Backoff is the wait after the n-th failed round (n >= 1); default
	// DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Concurrency bounds the entries delivered at once; default 16.
	Concurrency int
	// PollInterval is how often Run re-reads the queue file for changes
	// made by another process (`mailport queue retry`); default 2s.
	PollInterval time.Duration
	// MaxMessageBytes bounds Enqueue; 0 means no limit here.
	MaxMessageBytes int64
	// MaxRecipients bounds the recipients of one entry; default 1000.
	MaxRecipients int
	// DialTimeout and CommandTimeout bound the SMTP client; defaults 30s
	// and 5 minutes (RFC 5321 section 4.5.3.2).
	DialTimeout    time.Duration
	CommandTimeout time.Duration
	// SourceAddress is the IP outbound connections are made from
	// (mailport.toml [queue] source_address, like Postfix's
	// smtp_bind_address): the address the domains' SPF records name on a
	// host with several. "" lets the system choose. It applies to
	// destinations of its own family (IPv4 or IPv6) only.
	SourceAddress string
	// TLSConfig is the client TLS configuration for STARTTLS. The default
	// skips certificate verification for MX hosts (opportunistic TLS,
	// RFC 7435: unauthenticated encryption beats plain text); MTA-STS
	// and the smarthost verify regardless.
	TLSConfig *tls.Config
	// IsLocal tells whether an address is hosted here; LocalDeliver then
	// delivers to it instead of SMTP (used for bounces to local senders).
	IsLocal func(addr string) bool
	// LocalDeliver delivers the message read from body, from from to the
	// local address rcpt. body is the queue's: read it during the call.
	// An error with a Temporary() bool method that returns false is
	// permanent; any other error is retried.
	LocalDeliver func(ctx context.Context, from, rcpt string, body io.Reader) error
	Logger       *slog.Logger
	Metrics      *Metrics
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultBackoff waits 1m, 5m, 15m, 30m, 1h, 2h, then 4h between rounds.
func DefaultBackoff(attempt int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(steps) {
		attempt = len(steps)
	}
	return steps[attempt-1]
}

// Queue is the outbound queue. Its methods are safe for concurrent use.
type Queue struct {
	cfg Config
	db  *db
	log *slog.Logger

	wake    chan struct{}
	closing chan struct{}
	closeMu sync.Mutex
	closed  bool
	runWG   sync.WaitGroup

	mu       sync.Mutex
	inflight map[string]bool
	watchers attemptWatchers

	// conns keeps SMTP connections open between messages to one host.
	conns *connCache

	// routing is read once per use by delivery attempts and replaced
	// whole by SetRouting.
	routing atomic.Pointer[Routing]
}

// New opens (creating if needed) the queue in cfg.Dir.
func New(cfg Config) (*Queue, error) {
	if cfg.Dir == "" || cfg.Blobs == nil || cfg.Hostname == "" {
		return nil, errors.New("queue: Dir, Blobs and Hostname are required")
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 5 * 24 * time.Hour
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 1000
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 5 * time.Minute
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	q := &Queue{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "queue"),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		inflight: map[string]bool{},
		conns:    newConnCache(),
	}
	if err := q.SetRouting(Routing{SMTPPort: cfg.SMTPPort, SourceAddress: cfg.SourceAddress, Smarthost: cfg.Smarthost,
		MaxMessageBytes: cfg.MaxMessageBytes, DelayWarning: cfg.DelayWarning}); err != nil {
		return nil, err
	}
	d, err := openDB(context.Background(), filepath.Join(cfg.Dir, "queue.db"), cfg.Blobs, q.log)
	if err != nil {
		return nil, err
	}
	q.db = d
	return q, nil
}

// Routing is where the queue sends mail: the settings an administrator
// may change while mailport runs (mailport.toml [queue]). A Routing is
// never changed once the queue holds it; SetRouting replaces it whole.
type Routing struct {
	// SMTPPort is the port of remote MX hosts; 0 is 25.
	SMTPPort int
	// SourceAddress is Config.SourceAddress.
	SourceAddress string
	// Smarthost, when set, receives all outbound mail.
	Smarthost *Smarthost
	// MaxMessageBytes is Config.MaxMessageBytes: what the servers that
	// queue mail accept grows with it, so it changes with them.
	MaxMessageBytes int64
	// DelayWarning is how long a recipient may stay undelivered before
	// the sender gets one delay notice for the message (mailport.toml
	// [queue] delay_warning); 0 sends none.
	DelayWarning time.Duration
}

// SetRouting makes the next delivery attempts use r; attempts already
// connected finish where they are. Config.SMTPPort, SourceAddress and
// Smarthost are the routing New starts with.
func (q *Queue) SetRouting(r Routing) error {
	if r.SMTPPort == 0 {
		r.SMTPPort = 25
	}
	if r.DelayWarning < 0 {
		return fmt.Errorf("queue: negative delay warning %v", r.DelayWarning)
	}
	if r.SourceAddress != "" && net.ParseIP(r.SourceAddress) == nil {
		return fmt.Errorf("queue: source address %q is not an IP address", r.SourceAddress)
	}
	if r.Smarthost != nil {
		sh := *r.Smarthost
		if sh.TLS == "" {
			sh.TLS = TLSStartTLS
		}
		if sh.Port == 0 {
			sh.Port = 587
			if sh.TLS == TLSImplicit {
				sh.Port = 465
			}
		}
		r.Smarthost = &sh
	}
	q.routing.Store(&r)
	return nil
}

// Routing is the routing the next delivery attempt uses.
func (q *Queue) Routing() Routing { return *q.routing.Load() }

// Close stops Run (waiting for deliveries in progress to record their
// results) and closes the queue file.
func (q *Queue) Close() error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return nil
	}
	q.closed = true
	close(q.closing)
	q.closeMu.Unlock()
	q.runWG.Wait()
	q.conns.close()
	return q.db.close()
}

func newEntryID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Option modifies an Enqueue.
type Option func(*Entry)

// DKIMSigned records that the message was DKIM-signed before queueing.
func DKIMSigned() Option { return func(e *Entry) { e.DKIMSigned = true } }

// Via sends the entry's recipients to host:port (port 0: Config.SMTPPort)
// rather than to their MX or the smarthost: the destination of a split
// domain routing or relay domain, decided per recipient when the message
// was accepted. Config.Route decides per domain at delivery time instead.
func Via(host string, port int) Option {
	return func(e *Entry) { e.Route = &Destination{Host: host, Port: port} }
}

// Notify records the NOTIFY parameter a client gave with RCPT for rcpt
// (RFC 3461 section 4.1), so the queue sends the sender only the notices
// asked for; an address that is not among the recipients is ignored.
func Notify(rcpt string, n []smtp.DSNNotify) Option {
	return func(e *Entry) {
		if r := e.recipient(rcpt); r != nil {
			r.Notify = append([]smtp.DSNNotify(nil), n...)
		}
	}
}

// OriginalRecipient records the ORCPT parameter a client gave with RCPT
// for rcpt (RFC 3461 section 4.2); an address that is not among the
// recipients is ignored.
func OriginalRecipient(rcpt string, typ smtp.DSNAddressType, addr string) Option {
	return func(e *Entry) {
		if r := e.recipient(rcpt); r != nil {
			r.OriginalRecipientType, r.OriginalRecipient = typ, addr
		}
	}
}

// Return records the RET parameter of MAIL (RFC 3461 section 4.3):
// whether a failure notice returns the whole message or its header.
func Return(ret smtp.DSNReturn) Option { return func(e *Entry) { e.Return = ret } }

// EnvelopeID records the ENVID parameter of MAIL (RFC 3461 section 4.4),
// which notices carry back as Original-Envelope-Id.
func EnvelopeID(id string) Option { return func(e *Entry) { e.EnvelopeID = id } }

// recipient returns e's recipient with address addr, nil when there is
// none.
func (e *Entry) recipient(addr string) *Recipient {
	for i := range e.Recipients {
		if canonical(e.Recipients[i].Address) == canonical(addr) {
			return &e.Recipients[i]
		}
	}
	return nil
}

// Enqueue stores a message for delivery to rcpts and returns its id. When
// it returns nil the message is durable (blob and row fsynced); the body is
// written once whatever the number of recipients. from "" is the null
// sender. Concurrent calls share one queue.db commit (group commit).
func (q *Queue) Enqueue(ctx context.Context, from string, rcpts []string, body io.Reader, opts ...Option) (string, error) {
	return q.enqueue(ctx, from, rcpts, body, nil, opts)
}

// enqueue is Enqueue with also, a change committed in the same
// transaction as the new entry, or with neither when also fails: a
// notice and the mark that it was sent are durable together.
func (q *Queue) enqueue(ctx context.Context, from string, rcpts []string, body io.Reader, also txFunc, opts []Option) (string, error) {
	e, err := q.newEntry(from, rcpts, opts)
	if err != nil {
		return "", err
	}
	cr := &eightBitReader{r: body}
	id, size, err := q.cfg.Blobs.Put(ctx, cr, q.Routing().MaxMessageBytes)
	if err != nil {
		return "", fmt.Errorf("queue: store message: %w", err)
	}
	e.BlobID, e.Size, e.EightBit = id, size, cr.eightBit
	return q.commitEntry(ctx, e, also)
}

// EnqueueLink queues the message that the blob blobID holds from offset
// skip on, without copying it: the entry gets a hard link to the blob
// (blob.Link), so the caller may delete its own id afterwards. The blob's
// content must already be fsynced (blob.Store.Put does that); the link's
// directory entry is made durable with the entry's row. It is Enqueue for
// a message that is on disk already, like the spooled copy of a
// submission, and saves writing and fsyncing the content a second time.
func (q *Queue) EnqueueLink(ctx context.Context, from string, rcpts []string, blobID string, skip int64, opts ...Option) (string, error) {
	e, err := q.newEntry(from, rcpts, opts)
	if err != nil {
		return "", err
	}
	if skip < 0 {
		return "", fmt.Errorf("queue: negative offset %d", skip)
	}
	f, err := q.cfg.Blobs.Open(blobID)
	if err != nil {
		return "", fmt.Errorf("queue: store message: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("queue: store message: %w", err)
	}
	if skip > fi.Size() {
		return "", fmt.Errorf("queue: offset %d beyond the message (%d octets)", skip, fi.Size())
	}
	size := fi.Size() - skip
	if max := q.Routing().MaxMessageBytes; max > 0 && size > max {
		return "", fmt.Errorf("queue: store message: %w", blob.ErrTooLarge)
	}
	// The 8BITMIME decision needs one read of the content; it is in the
	// page cache, just written by the caller.
	cr := &eightBitReader{r: io.NewSectionReader(f, skip, size)}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return "", fmt.Errorf("queue: read message: %w", err)
	}
	id, err := q.cfg.Blobs.Link(blobID)
	if err != nil {
		return "", fmt.Errorf("queue: store message: %w", err)
	}
	e.BlobID, e.Offset, e.Size, e.EightBit = id, skip, size, cr.eightBit
	return q.commitEntry(ctx, e, nil)
}

// newEntry checks an Enqueue's envelope and returns the entry without its
// message.
func (q *Queue) newEntry(from string, rcpts []string, opts []Option) (*Entry, error) {
	q.closeMu.Lock()
	closed := q.closed
	q.closeMu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if from != "" {
		if err := checkAddress(from); err != nil {
			return nil, fmt.Errorf("queue: sender: %w", err)
		}
	}
	if len(rcpts) == 0 {
		return nil, errors.New("queue: no recipients")
	}
	if len(rcpts) > q.cfg.MaxRecipients {
		return nil, fmt.Errorf("queue: %d recipients, limit %d", len(rcpts), q.cfg.MaxRecipients)
	}
	now := q.cfg.Now()
	e := &Entry{ID: newEntryID(), From: from, Created: now, NextAttempt: now}
	seen := map[string]bool{}
	for _, r := range rcpts {
		if err := checkAddress(r); err != nil {
			return nil, fmt.Errorf("queue: recipient: %w", err)
		}
		key := canonical(r)
		if seen[key] {
			continue
		}
		seen[key] = true
		e.Recipients = append(e.Recipients, Recipient{Address: r, State: Pending})
	}
	// Options apply once the recipients are known: Notify names one.
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// commitEntry makes e and its blob (file fsynced, directory entry not yet)
// durable, with also (when set) in the same transaction, and wakes Run;
// on failure the blob is removed.
func (q *Queue) commitEntry(ctx context.Context, e *Entry, also txFunc) (string, error) {
	if err := q.db.insert(ctx, e, also); err != nil {
		q.cfg.Blobs.Delete(e.BlobID)
		return "", err
	}
	q.log.Info("queued", "id", e.ID, "from", e.From, "recipients", len(e.Recipients), "size", e.Size)
	q.cfg.Metrics.queued()
	q.Wake()
	return e.ID, nil
}

// eightBitReader notes whether the message has octets above 127, so
// delivery can ask for BODY=8BITMIME (RFC 6152).
type eightBitReader struct {
	r        io.Reader
	eightBit bool
}

func (c *eightBitReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.eightBit {
		for _, b := range p[:n] {
			if b >= 0x80 {
				c.eightBit = true
				break
			}
		}
	}
	return n, err
}

// List returns every entry, the next to be tried first.
func (q *Queue) List(ctx context.Context) ([]*Entry, error) {
	return q.db.entries(ctx, q.db.sql, `ORDER BY next_attempt, id`)
}

// Get returns one entry.
func (q *Queue) Get(ctx context.Context, id string) (*Entry, error) {
	return q.db.get(ctx, id)
}

// Retry makes an entry due now. A Run loop in this process is woken at
// once; one in another process sees it within its PollInterval.
func (q *Queue) Retry(ctx context.Context, id string) error {
	if err := q.db.setNextAttempt(ctx, id, q.cfg.Now()); err != nil {
		return err
	}
	q.Wake()
	return nil
}

// Remove deletes an entry and its message without delivering it further
// and without a bounce.
func (q *Queue) Remove(ctx context.Context, id string) error {
	blobID, err := q.db.delete(ctx, id)
	if err != nil {
		return err
	}
	q.log.Info("removed", "id", id)
	return q.cfg.Blobs.Delete(blobID)
}

// Wake makes Run look for due entries now.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// maxAddressLen is the RFC 5321 section 4.5.3.1.3 path limit (256 with the
// brackets).
const maxAddressLen = 254

// checkAddress accepts an envelope address local@domain: no brackets, no
// spaces or control characters (which could end an SMTP command line).
func checkAddress(a string) error {
	if len(a) > maxAddressLen {
		return fmt.Errorf("address longer than %d octets", maxAddressLen)
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return fmt.Errorf("%q is not local@domain", a)
	}
	for _, c := range a {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return fmt.Errorf("%q has a character not allowed in an envelope address", a)
		}
	}
	return nil
}

// domainOf returns the domain of an address in canonical form, lower case
// with A-labels (domainname.Canonical): DNS holds A-labels (RFC 5891
// section 5), so an SMTPUTF8 submission to user@bücher.example looks up
// the MX, address and MTA-STS records of xn--bcher-kva.example, and the
// two spellings of one recipient are one.
func domainOf(a string) string {
	return domainname.Canonical(a[strings.LastIndexByte(a, '@')+1:])
}

// canonical is the key that makes two recipient spellings the same one: the
// domain is case-insensitive, the local part is kept as given (RFC 5321
// section 2.4).
func canonical(a string) string {
	at := strings.LastIndexByte(a, '@')
	return a[:at+1] + domainOf(a)
}
