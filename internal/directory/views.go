package directory

import (
	"time"

	"mailport/internal/domainname"
	"mailport/internal/store"
)

// The types below are what a Scope returns, what the API answers and what
// the audit log records as an object's before and after: views of stored
// objects without internal IDs and without their secrets (password
// hashes, DKIM private keys, token hashes, CSRF tokens), so no caller can
// leak one by serializing a result, and an audit entry reads with the
// field names of the API. Tags other than json (doc, example, minimum,
// ...) describe the fields in the API's OpenAPI document, which also
// takes some of these types as request bodies.

// Mailbox is a mailbox account without its password hash.
type Mailbox struct {
	Address     string     `json:"address"`
	Domain      string     `json:"domain"`
	DisplayName string     `json:"display_name"`
	QuotaBytes  int64      `json:"quota_bytes"`
	UsedBytes   int64      `json:"used_bytes"`
	Enabled     bool       `json:"enabled"`
	Role        store.Role `json:"role"`
	CreatedAt   time.Time  `json:"created_at"`
}

func mailboxView(a store.Account) Mailbox {
	return Mailbox{
		Address: a.Address, Domain: domainPart(a.Address), DisplayName: a.DisplayName,
		QuotaBytes: a.QuotaBytes, UsedBytes: a.UsedBytes, Enabled: a.Enabled, Role: a.Role, CreatedAt: a.CreatedAt,
	}
}

// MailboxPage is one page of ListMailboxes; Total counts every match.
type MailboxPage struct {
	Mailboxes []Mailbox `json:"mailboxes"`
	Total     int       `json:"total"`
}

// Admin is a DomainAdmin or MasterAdmin login with its domains, limits and
// what its domains use.
type Admin struct {
	Login     string     `json:"login"`
	Role      store.Role `json:"role" enum:"masteradmin,domainadmin"`
	Enabled   bool       `json:"enabled"`
	Domains   []string   `json:"domains"`
	Limits    Limits     `json:"limits"`
	Usage     Usage      `json:"usage"`
	CreatedAt time.Time  `json:"created_at"`
}

// Limits are a DomainAdmin's limits (store.AdminLimits): 0 means
// unlimited, except for max_domains, where 0 means the DomainAdmin may not
// add domains.
type Limits struct {
	MaxDomains       int64 `json:"max_domains" minimum:"0" required:"false" doc:"How many domains the DomainAdmin may hold when it adds domains itself; 0 (the default) means it may not add domains and only runs those assigned to it"`
	MaxMailboxes     int64 `json:"max_mailboxes" minimum:"0" required:"false"`
	MaxAliases       int64 `json:"max_aliases" minimum:"0" required:"false" doc:"Aliases and sender addresses together"`
	MaxDomainAliases int64 `json:"max_domain_aliases" minimum:"0" required:"false"`
	MaxStorageBytes  int64 `json:"max_storage_bytes" minimum:"0" required:"false" doc:"Sum of the mailboxes' quotas"`
}

func limitsView(l store.AdminLimits) Limits {
	return Limits{MaxDomains: l.MaxDomains, MaxMailboxes: l.MaxMailboxes, MaxAliases: l.MaxAliases, MaxDomainAliases: l.MaxDomainAliases, MaxStorageBytes: l.MaxStorageBytes}
}

// stored returns l as the limits of the admin account id.
func (l Limits) stored(id int64) store.AdminLimits {
	return store.AdminLimits{AccountID: id, MaxDomains: l.MaxDomains, MaxMailboxes: l.MaxMailboxes, MaxAliases: l.MaxAliases, MaxDomainAliases: l.MaxDomainAliases, MaxStorageBytes: l.MaxStorageBytes}
}

// Usage is what a DomainAdmin's domains hold (store.AdminUsage).
type Usage struct {
	Domains       int64 `json:"domains"`
	Mailboxes     int64 `json:"mailboxes"`
	Aliases       int64 `json:"aliases"`
	DomainAliases int64 `json:"domain_aliases"`
	QuotaBytes    int64 `json:"quota_bytes"`
	UsedBytes     int64 `json:"used_bytes"`
	Unlimited     int64 `json:"unlimited_mailboxes" doc:"Mailboxes without a quota"`
}

func usageView(u store.AdminUsage) Usage {
	return Usage{Domains: u.Domains, Mailboxes: u.Mailboxes, Aliases: u.Aliases, DomainAliases: u.DomainAliases, QuotaBytes: u.QuotaBytes, UsedBytes: u.UsedBytes, Unlimited: u.Unlimited}
}

// DKIMKey is a DKIM key without its private part.
type DKIMKey struct {
	Domain    string    `json:"domain"`
	Selector  string    `json:"selector"`
	Algorithm string    `json:"algorithm"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

func dkimView(k store.DKIMKey) DKIMKey {
	return DKIMKey{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, Active: k.Active, CreatedAt: k.CreatedAt}
}

// Token is an API token without its hash.
type Token struct {
	ID         int64      `json:"id"`
	Login      string     `json:"login"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

func tokenView(login string, t store.APIToken) Token {
	v := Token{ID: t.ID, Login: login, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	if !t.LastUsedAt.IsZero() {
		lu := t.LastUsedAt
		v.LastUsedAt = &lu
	}
	return v
}

// SessionInfo is a portal session without its CSRF token. ID is the
// stored (hashed) ID, safe to show and to revoke by.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RemoteIP   string    `json:"remote_ip"`
	UserAgent  string    `json:"user_agent"`
}

// SenderAddress is an extra sender address with its mailbox's address.
type SenderAddress struct {
	Mailbox string `json:"mailbox"`
	Address string `json:"address"`
}

// Forward is a forward with its mailbox's address.
type Forward struct {
	Mailbox  string `json:"mailbox"`
	Target   string `json:"target"`
	KeepCopy bool   `json:"keep_copy"`
}

// Domain is a hosted domain. Name is the key, in A-labels; UnicodeName
// is the same name for people.
type Domain struct {
	Name        string    `json:"name" example:"example.test" doc:"The domain in its canonical form: lower case, internationalized labels as A-labels (xn--bcher-kva.example, RFC 5890), the form DNS records and DKIM use. Requests accept either form in any case."`
	UnicodeName string    `json:"unicode_name" example:"example.test" doc:"The name to show people: A-labels turned into U-labels (bücher.example); the same as name for an ASCII name."`
	CreatedAt   time.Time `json:"created_at"`
	// SDR is split domain routing: mail for addresses of the domain that
	// match no mailbox or alias goes to this host instead of bouncing.
	SDR *SDR `json:"sdr,omitempty"`
}

// SDR is a split domain routing destination.
type SDR struct {
	Host string `json:"host" minLength:"1" maxLength:"255" example:"legacy.example.test"`
	Port int    `json:"port" minimum:"1" maximum:"65535" example:"25"`
}

// DomainView is the view of a stored domain.
func DomainView(d store.Domain) Domain {
	v := Domain{Name: d.Name, UnicodeName: domainname.Display(d.Name), CreatedAt: d.CreatedAt}
	if d.SDRHost != "" {
		v.SDR = &SDR{Host: d.SDRHost, Port: d.SDRPort}
	}
	return v
}

// DomainAlias makes every address at Alias the same address at Domain.
type DomainAlias struct {
	Alias  string `json:"alias" example:"example.org" doc:"Lower case, internationalized labels as A-labels (RFC 5890); requests accept U-labels too"`
	Domain string `json:"domain" example:"example.test" doc:"Lower case, internationalized labels as A-labels (RFC 5890); requests accept U-labels too"`
}

// DomainAliasView is the view of a stored domain alias.
func DomainAliasView(d store.DomainAlias) DomainAlias {
	return DomainAlias{Alias: d.Alias, Domain: d.Domain}
}

// RelayDomain is a domain mailport accepts mail for and relays to Host.
type RelayDomain struct {
	Name       string   `json:"name" example:"branch.example.test" doc:"Lower case, internationalized labels as A-labels (RFC 5890); requests accept U-labels too"`
	Host       string   `json:"host"`
	Port       int      `json:"port"`
	Recipients []string `json:"recipients" doc:"When not empty, the only addresses accepted"`
}

// RelayDomainView is the view of a stored relay domain; no recipients
// is an empty list, not null.
func RelayDomainView(rd store.RelayDomain) RelayDomain {
	return RelayDomain{Name: rd.Name, Host: rd.Host, Port: rd.Port, Recipients: nonNil(rd.Recipients)}
}

// Alias is an address that delivers to other addresses.
type Alias struct {
	Address string   `json:"address" example:"info@example.test"`
	Targets []string `json:"targets"`
}

// AliasView is the view of a stored alias, without its row ID.
func AliasView(al store.Alias) Alias {
	return Alias{Address: al.Address, Targets: nonNil(al.Targets)}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func domainPart(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return ""
}
