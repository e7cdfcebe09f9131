package store

import (
	"context"
	"encoding/json"
	"time"
)

// AdminLimits are what a MasterAdmin allows a DomainAdmin: how many
// domains, mailboxes, aliases (sender addresses count as aliases) and
// domain aliases it may have across its domains, and the total of its
// mailboxes' quotas. 0 means unlimited, except for MaxDomains: there 0
// means the DomainAdmin may not add domains (directory.Scope.AddDomain).
type AdminLimits struct {
	AccountID        int64
	MaxDomains       int64
	MaxMailboxes     int64
	MaxAliases       int64
	MaxDomainAliases int64
	MaxStorageBytes  int64
}

// AdminUsage is what a DomainAdmin's assigned domains hold, counted the way
// AdminLimits limits it.
type AdminUsage struct {
	Domains       int64
	Mailboxes     int64
	Aliases       int64 // aliases plus sender addresses of the domains' mailboxes
	DomainAliases int64 // domain aliases pointing at the domains
	QuotaBytes    int64 // sum of the mailboxes' quotas (0 = unlimited not counted)
	UsedBytes     int64 // sum of the mailboxes' usage
	Unlimited     int64 // mailboxes with no quota
}

// AuditEntry is one change, recorded after it happened. Before and After
// are JSON views of the object without secrets (no password hashes,
// private keys or token hashes); either is empty for a create or delete.
type AuditEntry struct {
	ID         int64
	Time       time.Time
	Actor      string // login of the account, or "cli"
	ActorRole  Role
	RemoteIP   string
	Action     string // "domain.create", "mailbox.update", ...
	ObjectType string
	ObjectID   string
	// Domain is the hosted domain the object belongs to ("" for
	// server-wide objects such as admins); DomainAdmins read the entries
	// of their domains by it.
	Domain string
	Before json.RawMessage
	After  json.RawMessage
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	// AllDomains selects entries of every domain and server-wide ones;
	// otherwise only entries whose Domain is one of Domains or a
	// subdomain of one (relay domains under a hosted domain). An empty
	// Domains without AllDomains selects nothing.
	AllDomains bool
	Domains    []string
	Since      time.Time // zero = no lower bound (inclusive)
	Until      time.Time // zero = no upper bound (exclusive)
	Actor      string    // "" = any
	BeforeID   int64     // > 0: only entries with a smaller ID (paging)
	Limit      int       // <= 0 or above MaxAuditPage: MaxAuditPage
}

// MaxAuditPage bounds one ListAudit answer.
const MaxAuditPage = 1000

// APIToken is a bearer secret of an account. Only the SHA-256 hash of the
// secret is stored; Prefix is the secret's first characters, shown in lists
// and used to find the row before the hash is compared.
type APIToken struct {
	ID         int64
	AccountID  int64
	Name       string
	Hash       []byte
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero = never used
	ExpiresAt  *time.Time
}

// Session is a portal login. ID is the hex SHA-256 of the cookie value, so
// a database leak does not hand out sessions.
type Session struct {
	ID         string
	AccountID  int64
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RemoteIP   string
	UserAgent  string
}

// AccountSort orders QueryAccounts results.
type AccountSort string

const (
	SortAddress     AccountSort = "address"
	SortDisplayName AccountSort = "name"
	SortUsed        AccountSort = "used"
	SortQuota       AccountSort = "quota"
	SortCreated     AccountSort = "created"
)

// AccountQuery selects mailbox accounts (accounts with a domain).
type AccountQuery struct {
	// AllDomains, or only accounts of Domains (empty selects nothing).
	AllDomains bool
	Domains    []string
	// Search matches a substring of the address or display name,
	// case-insensitively.
	Search string
	Sort   AccountSort // "" = address
	Desc   bool
	Limit  int // <= 0 or above MaxAccountPage: MaxAccountPage
	Offset int
}

// MaxAccountPage bounds one QueryAccounts answer.
const MaxAccountPage = 1000

// LinkQuery selects forwards (QueryForwards) or sender addresses
// (QuerySenderAddresses) of mailbox accounts. Results are ordered by the
// mailbox's address, then by the target or sender address.
type LinkQuery struct {
	// AllDomains, or only mailboxes of Domains (empty selects nothing).
	AllDomains bool
	Domains    []string
	// Mailbox, when not "", selects that mailbox's rows only.
	Mailbox string
	// Search matches a substring of the mailbox's address or of the
	// target or sender address, case-insensitively.
	Search string
	Desc   bool
	Limit  int // <= 0 or above MaxLinkPage: MaxLinkPage
	Offset int
}

// MaxLinkPage bounds one QueryForwards or QuerySenderAddresses answer.
const MaxLinkPage = 1000

// DomainStats is the storage of one hosted domain.
type DomainStats struct {
	Domain    string
	Mailboxes int64
	Aliases   int64
	Messages  int64
	Bytes     int64
	// QuotaBytes is the sum of the mailboxes' quotas; mailboxes without a
	// quota are not in it.
	QuotaBytes int64
}

// MailboxStats is the storage of one mailbox account.
type MailboxStats struct {
	Address    string
	Messages   int64
	Bytes      int64
	QuotaBytes int64
}

// StatsSort orders MailboxStats results.
type StatsSort string

const (
	StatsByAddress  StatsSort = "address"
	StatsByUsed     StatsSort = "used" // Bytes
	StatsByQuota    StatsSort = "quota"
	StatsByMessages StatsSort = "messages"
)

// MailboxStatsQuery selects a page of the mailboxes of one domain.
type MailboxStatsQuery struct {
	Domain string
	Sort   StatsSort // "" = address; ties by address, in the same direction
	Desc   bool
	Limit  int // <= 0 or above MaxAccountPage: MaxAccountPage
	Offset int
}

// AdminStore is the part of Store behind the permission model: DomainAdmin
// assignments and limits, the audit log, API tokens and portal sessions,
// and the aggregate queries the admin API shows.
type AdminStore interface {
	// SetAdminDomains replaces the domains a DomainAdmin administers
	// (names of hosted domains; ErrNotFound for an unknown one).
	SetAdminDomains(ctx context.Context, accountID int64, domains []string) error
	// AddAdminDomain assigns one more domain (no error if already).
	AddAdminDomain(ctx context.Context, accountID int64, domain string) error
	// AdminDomains lists the domains of an admin, by name.
	AdminDomains(ctx context.Context, accountID int64) ([]string, error)
	// DomainAdmins lists the accounts that administer a domain.
	DomainAdmins(ctx context.Context, domain string) ([]int64, error)

	// AdminLimits returns an admin's limits; an admin without any set
	// gets zero (unlimited) limits, not ErrNotFound.
	AdminLimits(ctx context.Context, accountID int64) (AdminLimits, error)
	SetAdminLimits(ctx context.Context, l AdminLimits) error
	// AdminUsage counts what the admin's assigned domains hold.
	AdminUsage(ctx context.Context, accountID int64) (AdminUsage, error)

	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	ListAPITokens(ctx context.Context, accountID int64) ([]APIToken, error)
	// APITokensByPrefix returns the tokens whose Prefix is prefix (almost
	// always one); the caller compares hashes in constant time.
	APITokensByPrefix(ctx context.Context, prefix string) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, accountID, id int64) error
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession sets LastSeenAt and ExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	ListSessions(ctx context.Context, accountID int64) ([]Session, error)
	// DeleteAccountSessions removes every session of an account (after a
	// password change) except keep ("" keeps none).
	DeleteAccountSessions(ctx context.Context, accountID int64, keep string) error
	// DeleteExpiredSessions removes sessions that expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// QueryAccounts pages through mailbox accounts; total is the number
	// of matches without paging.
	QueryAccounts(ctx context.Context, q AccountQuery) (accounts []Account, total int, err error)
	// QueryForwards and QuerySenderAddresses page through the forwards
	// and sender addresses of mailbox accounts, each with its mailbox's
	// address; total is the number of matches without paging.
	QueryForwards(ctx context.Context, q LinkQuery) (forwards []MailboxForward, total int, err error)
	QuerySenderAddresses(ctx context.Context, q LinkQuery) (senders []MailboxSender, total int, err error)
	// DomainStats returns the storage of each domain in domains (all
	// hosted domains when domains is nil), ordered by name.
	DomainStats(ctx context.Context, domains []string) ([]DomainStats, error)
	// MailboxStats pages through the storage of the mailboxes of a domain
	// (ErrNotFound for an unknown one); total is the domain's number of
	// mailboxes.
	MailboxStats(ctx context.Context, q MailboxStatsQuery) (stats []MailboxStats, total int, err error)
}
