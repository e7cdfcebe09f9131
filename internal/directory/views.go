package directory

import (
	"time"

	"mailport/internal/store"
)

// The types below are what a Scope returns and what the audit log records:
// views of stored objects without their secrets (password hashes, DKIM
// private keys, token hashes, CSRF tokens), so no caller can leak one by
// serializing a result.

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
	Login     string            `json:"login"`
	Role      store.Role        `json:"role"`
	Enabled   bool              `json:"enabled"`
	Domains   []string          `json:"domains"`
	Limits    store.AdminLimits `json:"limits"`
	Usage     store.AdminUsage  `json:"usage"`
	CreatedAt time.Time         `json:"created_at"`
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

// domainView is what the audit log records of a domain.
type domainView struct {
	Name    string `json:"name"`
	SDRHost string `json:"sdr_host,omitempty"`
	SDRPort int    `json:"sdr_port,omitempty"`
}

func domainPart(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return ""
}
