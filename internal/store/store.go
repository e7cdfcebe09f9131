// Package store defines mailport's domain types and the storage interface
// every backend (store/sqlite now, store/postgres later) implements. No SQL
// lives outside the backend packages; the storetest package holds the one
// conformance suite every backend must pass.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped) so callers can test with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrOverQuota = errors.New("mailbox over quota")
	// ErrModified is returned by UpdateFlags for messages whose MODSEQ is
	// above the caller's UNCHANGEDSINCE (RFC 7162 section 3.1.3).
	ErrModified = errors.New("modified since")
)

// Role is the permission level of an account.
type Role string

const (
	RoleUser        Role = "user"
	RoleDomainAdmin Role = "domainadmin"
	RoleMasterAdmin Role = "masteradmin"
)

// Domain is a mail domain hosted here.
type Domain struct {
	ID        int64
	Name      string // lower case, IDNA A-label form
	CreatedAt time.Time
	// SDRHost and SDRPort are the split domain routing destination: mail
	// for an address of the domain that matches no mailbox or alias is
	// relayed there instead of refused. SDRHost "" means off.
	SDRHost string
	SDRPort int
}

// RelayDomain is a domain mailport accepts mail for and relays to another
// server (backup MX style). Recipients, when not empty, are the only
// addresses accepted (lower case); empty accepts any address of the domain.
type RelayDomain struct {
	Name       string
	Host       string
	Port       int
	Recipients []string
}

// DKIMKey is a DKIM signing key of a hosted domain. Every key of a domain
// is published (listed) until it is deleted; exactly the Active one signs.
// Keeping the previous key published while a new one takes over is what
// makes a rotation safe for mail already in flight.
type DKIMKey struct {
	Domain        string
	Selector      string // lower case DNS label(s)
	Algorithm     string // "rsa" or "ed25519"
	PrivateKeyPEM []byte // PKCS #8 PEM
	Active        bool
	CreatedAt     time.Time
}

// DomainAlias makes every address at Alias the same address at Domain.
type DomainAlias struct {
	Alias  string
	Domain string
}

// Account is a login. Mailbox accounts have Address = local@domain and a
// DomainID; the MasterAdmin "admin" has no domain and no mail folders.
type Account struct {
	ID           int64
	Address      string // lower case login: local@domain, or "admin"
	DomainID     int64  // 0 for accounts without a domain
	DisplayName  string
	PasswordHash string // argon2id PHC (auth.HashPassword); imported {BLF-CRYPT}/{SHA512-CRYPT} until a login rehashes
	// SCRAMSHA256 is "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey" for
	// SCRAM-SHA-256 logins (auth.SetPassword), or "" until a PLAIN or
	// LOGIN login derives it.
	SCRAMSHA256 string
	QuotaBytes  int64 // 0 = unlimited
	UsedBytes   int64 // maintained by the store as messages come and go
	Enabled     bool
	Role        Role
	CreatedAt   time.Time
}

// Alias sends mail for Address to one or more Targets (local or external
// addresses, or other aliases).
type Alias struct {
	ID      int64
	Address string
	Targets []string
}

// SenderAddress is an extra address a mailbox may send as.
type SenderAddress struct {
	AccountID int64
	Address   string
}

// Forward is a copy of a mailbox's incoming mail sent to an external address.
// KeepCopy says whether the mailbox keeps its own copy as well.
type Forward struct {
	AccountID int64
	Target    string
	KeepCopy  bool
}

// MailboxSender is a sender address of the account whose login is
// Mailbox: what imports create and QuerySenderAddresses lists.
type MailboxSender struct {
	Mailbox string
	Address string
}

// MailboxForward is a forward of the account whose login is Mailbox:
// what imports create and QueryForwards lists.
type MailboxForward struct {
	Mailbox  string
	Target   string
	KeepCopy bool
}

// Special-use attributes, RFC 6154 section 2.
const (
	SpecialDrafts  = `\Drafts`
	SpecialSent    = `\Sent`
	SpecialJunk    = `\Junk`
	SpecialTrash   = `\Trash`
	SpecialArchive = `\Archive`
	SpecialAll     = `\All`
	SpecialFlagged = `\Flagged`
)

// Mailbox is an IMAP folder. Names are UTF-8 with "/" as the hierarchy
// separator; "INBOX" is always spelled that way.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string
	SpecialUse    string // one of the Special* constants or ""
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Subscribed    bool
	Messages      uint32 // number of messages
	Unseen        uint32 // messages without \Seen
	Size          int64  // sum of message sizes
}

// MailboxSpec describes a folder to create.
type MailboxSpec struct {
	Name       string
	SpecialUse string
}

// System flags, RFC 9051 section 2.3.2. Other flags are keywords.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Message is one message in one mailbox.
type Message struct {
	ID           int64
	MailboxID    int64
	UID          uint32
	ModSeq       uint64
	Flags        []string // system flags and keywords, in canonical case
	InternalDate time.Time
	Size         int64
	BlobID       string
	// HeaderSize is the length of the top-level header, the offset of
	// the body: BODY[HEADER] is the blob's first HeaderSize bytes. The
	// store takes it from Structure (the root part's body offset in
	// package mime's stored format) when it adds the message, and lists
	// it with the cheap columns, so header reads need no Structure; 0
	// means unknown (read Structure instead).
	HeaderSize int64
	// Parsed at delivery (package mime) and cached so IMAP never re-parses
	// the blob for ENVELOPE or BODYSTRUCTURE. Opaque JSON to the store,
	// apart from the one offset HeaderSize is taken from.
	Envelope  []byte
	Structure []byte
}

// NewMessage is a message to add to a mailbox; its blob is already durable.
type NewMessage struct {
	MailboxID    int64
	Flags        []string
	InternalDate time.Time
	Size         int64
	BlobID       string
	Envelope     []byte
	Structure    []byte
	// IgnoreQuota skips the quota check (moves within an account).
	IgnoreQuota bool
	// HeaderText and BodyText are the decoded, UTF-8 header and text-part
	// contents indexed for IMAP SEARCH (HEADER/FROM/SUBJECT... and
	// BODY/TEXT), so SEARCH never scans blobs: what mime.ExtractText
	// produces (the header text one "name: value" line per field, which
	// SearchHeaderField relies on). Either may be empty.
	HeaderText string
	BodyText   string
}

// MaxGetMessages bounds the UIDs of one GetMessages call, so one call
// holds a bounded number of cached structures in memory.
const MaxGetMessages = 1000

// UIDPair maps a source message to its copy (RFC 4315 COPYUID).
type UIDPair struct {
	Src, Dst uint32
}

// TextField selects the indexed text SearchText looks in.
type TextField int

const (
	TextHeader TextField = iota // header fields (decoded)
	TextBody                    // decoded text parts
	TextAll                     // both (IMAP SEARCH TEXT)
)

// ValidFieldName reports whether name is a header field name as RFC 5322
// section 3.6.8 defines it (printable US-ASCII except colon), the names
// SearchHeaderField takes.
func ValidFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// AppendResult is the outcome of one NewMessage in a batch: either the
// stored message or an error (ErrOverQuota, ErrNotFound) for that message
// alone; the other messages of the batch are unaffected.
type AppendResult struct {
	Message Message
	Err     error
}

// FlagOp says how UpdateFlags combines the given flags with the current ones.
type FlagOp int

const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// Changes is what happened in a mailbox after a MODSEQ: messages added or
// whose flags changed (with their current state), and UIDs expunged.
type Changes struct {
	HighestModSeq uint64
	Changed       []Message
	Expunged      []uint32
}

// Store is the storage every backend implements. All methods are safe for
// concurrent use. Lookups by address or name are case-insensitive (callers
// pass lower case; backends compare exactly).
type Store interface {
	// AdminStore: the permission model's tables (admin.go).
	AdminStore
	// ImportStore: batch creation for directory imports (import.go).
	ImportStore

	// Domains.
	CreateDomain(ctx context.Context, name string) (Domain, error)
	GetDomain(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context) ([]Domain, error)
	// DeleteDomain removes a domain with all its accounts, aliases and
	// domain aliases. Blobs of removed messages are returned for deletion.
	DeleteDomain(ctx context.Context, name string) (blobs []string, err error)

	CreateDomainAlias(ctx context.Context, alias, domain string) error
	GetDomainAlias(ctx context.Context, alias string) (DomainAlias, error)
	ListDomainAliases(ctx context.Context) ([]DomainAlias, error)
	DeleteDomainAlias(ctx context.Context, alias string) error

	// SetDomainSDR sets the split domain routing destination of a hosted
	// domain; host "" turns it off (the port is then stored as 0).
	SetDomainSDR(ctx context.Context, domain, host string, port int) error

	// Relay domains. A name is at most one of: hosted domain, domain
	// alias, relay domain (ErrExists otherwise).
	CreateRelayDomain(ctx context.Context, r RelayDomain) error
	GetRelayDomain(ctx context.Context, name string) (RelayDomain, error)
	// ListRelayDomains returns relay domains ordered by name, with their
	// recipient lists.
	ListRelayDomains(ctx context.Context) ([]RelayDomain, error)
	// UpdateRelayDomain replaces the host, port and recipient list of the
	// relay domain called r.Name in one transaction (ErrNotFound if none).
	UpdateRelayDomain(ctx context.Context, r RelayDomain) error
	DeleteRelayDomain(ctx context.Context, name string) error
	// RelayRoute returns the relay domain called name without its
	// recipient list, and whether address (lower case, full address) is
	// accepted: the list is empty or holds it. It is what RCPT TO asks,
	// so it never loads a long list.
	RelayRoute(ctx context.Context, name, address string) (RelayDomain, bool, error)

	// DKIM keys of hosted domains. AddDKIMKey with Active set makes the
	// new key the only active one of its domain, in one transaction.
	AddDKIMKey(ctx context.Context, k DKIMKey) error
	// ListDKIMKeys returns a domain's keys, oldest first.
	ListDKIMKeys(ctx context.Context, domain string) ([]DKIMKey, error)
	SetActiveDKIMKey(ctx context.Context, domain, selector string) error
	// DeleteDKIMKey removes a key. When it was the active one, the newest
	// remaining key becomes active, so a domain with keys always signs.
	DeleteDKIMKey(ctx context.Context, domain, selector string) error

	// Accounts. CreateAccount also creates the given folders, atomically.
	CreateAccount(ctx context.Context, a Account, folders []MailboxSpec) (Account, error)
	GetAccount(ctx context.Context, id int64) (Account, error)
	GetAccountByAddress(ctx context.Context, address string) (Account, error)
	// ListAccounts lists accounts of a domain, or all when domain is "".
	ListAccounts(ctx context.Context, domain string) ([]Account, error)
	// UpdateAccount writes DisplayName, PasswordHash, QuotaBytes, Enabled, Role.
	UpdateAccount(ctx context.Context, a Account) error
	DeleteAccount(ctx context.Context, id int64) (blobs []string, err error)

	// Aliases.
	CreateAlias(ctx context.Context, a Alias) (Alias, error)
	GetAlias(ctx context.Context, address string) (Alias, error)
	ListAliases(ctx context.Context, domain string) ([]Alias, error)
	// SetAliasTargets replaces an alias's targets in one transaction,
	// keeping its ID (ErrNotFound if there is no such alias); order and
	// duplicates are handled as in CreateAlias.
	SetAliasTargets(ctx context.Context, address string, targets []string) (Alias, error)
	DeleteAlias(ctx context.Context, address string) error

	AddSenderAddress(ctx context.Context, s SenderAddress) error
	ListSenderAddresses(ctx context.Context, accountID int64) ([]SenderAddress, error)
	RemoveSenderAddress(ctx context.Context, s SenderAddress) error

	AddForward(ctx context.Context, f Forward) error
	ListForwards(ctx context.Context, accountID int64) ([]Forward, error)
	RemoveForward(ctx context.Context, accountID int64, target string) error

	// Mailboxes (folders).
	CreateMailbox(ctx context.Context, accountID int64, spec MailboxSpec) (Mailbox, error)
	GetMailbox(ctx context.Context, accountID int64, name string) (Mailbox, error)
	GetMailboxByID(ctx context.Context, id int64) (Mailbox, error)
	ListMailboxes(ctx context.Context, accountID int64) ([]Mailbox, error)
	// RenameMailbox renames a folder and its children ("a" -> "b" also
	// moves "a/x" to "b/x"). UIDVALIDITY is kept.
	RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) error
	// DeleteMailbox removes a folder and its messages; returns their blobs.
	DeleteMailbox(ctx context.Context, id int64) (blobs []string, err error)
	SetSubscribed(ctx context.Context, id int64, subscribed bool) error

	// Messages. AppendMessages stores a batch in one transaction (group
	// commit): each message gets the next UID and MODSEQ of its mailbox and
	// the account's quota is checked (ErrOverQuota for that message alone).
	// The transaction is durable (fsynced) when it returns.
	AppendMessages(ctx context.Context, msgs []NewMessage) ([]AppendResult, error)
	// ListMessages returns every message of a mailbox in UID order.
	ListMessages(ctx context.Context, mailboxID int64) ([]Message, error)
	GetMessage(ctx context.Context, mailboxID int64, uid uint32) (Message, error)
	// GetMessages is GetMessage for many UIDs in one round trip (IMAP
	// FETCH and SEARCH over a range): the messages of uids that exist,
	// with Envelope and Structure, in UID order; other UIDs are left out.
	// At most MaxGetMessages UIDs per call.
	GetMessages(ctx context.Context, mailboxID int64, uids []uint32) ([]Message, error)
	// UpdateFlags changes flags of the given UIDs; each changed message
	// gets a new MODSEQ. With unchangedSince > 0, messages whose MODSEQ is
	// higher are left alone and their UIDs returned in modified
	// (RFC 7162 section 3.1.3). Returns the messages changed.
	UpdateFlags(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (changed []Message, modified []uint32, err error)
	// Expunge removes the given UIDs, leaving tombstones with a new MODSEQ
	// (RFC 7162 QRESYNC needs them). Returns the blobs no longer referenced.
	Expunge(ctx context.Context, mailboxID int64, uids []uint32) (blobs []string, err error)
	// CopyMessages copies the given UIDs into dst (same or another mailbox
	// of the same account) in UID order, giving them new UIDs and MODSEQs;
	// blobs are shared, not duplicated. Quota is checked for the whole copy
	// (ErrOverQuota, nothing copied).
	CopyMessages(ctx context.Context, src int64, uids []uint32, dst int64) ([]UIDPair, error)
	// MoveMessages is CopyMessages plus Expunge of the sources in one
	// transaction (RFC 6851: no state where both or neither exist).
	MoveMessages(ctx context.Context, src int64, uids []uint32, dst int64) ([]UIDPair, error)
	// SearchText returns, in UID order, the messages of a mailbox whose
	// indexed text in field contains substr, compared case-insensitively
	// (IMAP substring semantics, RFC 9051 section 6.4.4).
	SearchText(ctx context.Context, mailboxID int64, field TextField, substr string) ([]uint32, error)
	// SearchHeaderField returns, in UID order, the messages of a mailbox
	// whose indexed header text has a field called name (ASCII,
	// compared case-insensitively; ValidFieldName) whose value, as
	// mime.FieldText gives it, contains substr, compared
	// case-insensitively; substr "" matches every message with the field
	// (RFC 9051 section 6.4.4, FROM ... HEADER). Messages whose indexed
	// text does not tell (stored before the index kept one line per field,
	// or cut at its size bound) and that contain substr somewhere in their
	// header text are returned in unknown instead, for the caller to check
	// against the message; messages with no indexed text (UnindexedUIDs)
	// are in neither list.
	SearchHeaderField(ctx context.Context, mailboxID int64, name, substr string) (hits, unknown []uint32, err error)
	// UnindexedUIDs returns, in UID order, the messages of a mailbox with
	// no indexed text at all (SEARCH must read those from their blobs).
	UnindexedUIDs(ctx context.Context, mailboxID int64) ([]uint32, error)
	// ChangesSince reports messages with MODSEQ > since and UIDs expunged
	// with MODSEQ > since.
	ChangesSince(ctx context.Context, mailboxID int64, since uint64) (Changes, error)

	// Check runs the backend's integrity check (PRAGMA integrity_check).
	Check(ctx context.Context) error
	Close() error
}
