package store

import "context"

// ImportBatch is a set of directory objects created together by Import:
// either all of them or, when anything fails, none. References between
// them are by name, so a batch can hold a domain and the mailboxes in it.
type ImportBatch struct {
	// Domains to create, with their split domain routing (SDRHost ""
	// means off). ID and CreatedAt are ignored.
	Domains []Domain
	// DomainAliases point at domains that exist or are in Domains.
	DomainAliases []DomainAlias
	RelayDomains  []RelayDomain
	// Accounts are mailbox accounts; each one's domain (the part of
	// Address after "@") must exist or be in Domains. DomainID, ID and
	// UsedBytes are ignored; an empty Role means RoleUser. Each account
	// gets Folders.
	Accounts []Account
	Folders  []MailboxSpec
	// Aliases of addresses in hosted domains (existing or in Domains).
	Aliases []Alias
	// SenderAddresses and Forwards name their account by address.
	SenderAddresses []MailboxSender
	Forwards        []MailboxForward
	// AssignTo, when not 0, is the DomainAdmin every domain of Domains is
	// assigned to (a DomainAdmin importing domains administers them).
	AssignTo int64
}

// ImportStore is the part of Store that writes many directory objects in
// one transaction, the compare-and-swap of credentials the Authenticator
// uses to upgrade an imported hash and add a missing SCRAM credential, and
// the installation's secret for SCRAM's mock salts.
type ImportStore interface {
	// Import creates everything in b in one transaction, in dependency
	// order: domains (with their SDR and assignment), domain aliases,
	// relay domains, accounts with their folders, aliases, sender
	// addresses, forwards. Each object gets the checks its single-object
	// method makes (ErrExists for a name in use, also across hosted
	// domains, domain aliases and relay domains; ErrNotFound for a
	// missing domain or account); the first failure rolls back the whole
	// batch and is returned.
	Import(ctx context.Context, b ImportBatch) error
	// ReplaceCredentials sets the password hash of account id to newHash
	// and its SCRAM credential to newSCRAM only if the hash is still
	// oldHash, and reports whether it did; credentials changed meanwhile
	// (a password change racing a login) are left alone.
	ReplaceCredentials(ctx context.Context, id int64, oldHash, newHash, newSCRAM string) (bool, error)
	// InstanceSecret returns a random key made once for this installation
	// under name ("scram-mock-salt"); ErrNotFound for an unknown name.
	InstanceSecret(ctx context.Context, name string) ([]byte, error)
}
