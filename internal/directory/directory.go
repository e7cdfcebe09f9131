// Package directory holds the service functions for domains, mailboxes,
// aliases, domain aliases, sender addresses and forwards, and the one
// address-resolution function that SMTP, the API and the CLI all use. The
// CLI and the API call these functions, never the store, so they cannot
// disagree about what is valid.
package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/blob"
	"mailport/internal/domainname"
	"mailport/internal/store"
)

// DefaultFolders are created for every new mailbox, with their special-use
// attributes (RFC 6154).
var DefaultFolders = []store.MailboxSpec{
	{Name: "INBOX"},
	{Name: "Drafts", SpecialUse: store.SpecialDrafts},
	{Name: "Sent", SpecialUse: store.SpecialSent},
	{Name: "Junk", SpecialUse: store.SpecialJunk},
	{Name: "Trash", SpecialUse: store.SpecialTrash},
	{Name: "Archive", SpecialUse: store.SpecialArchive},
}

// Options tune a Service.
type Options struct {
	// PlusSeparator splits user+detail@domain; "" disables subaddressing.
	PlusSeparator string
	Logger        *slog.Logger
	// Access issues API tokens for Scope.CreateToken; nil makes one with
	// default options (the API server passes its own to share limits).
	Access *access.Manager
}

// Service implements directory operations on a store.
type Service struct {
	st    store.Store
	blobs *blob.Store
	sep   string
	log   *slog.Logger

	// signers caches parsed DKIM private keys by domain and selector, so
	// signing does not parse PEM (and check an RSA key) per message.
	signerMu sync.Mutex
	signers  map[string]cachedSigner

	acc *access.Manager
	// limitMu serializes a DomainAdmin's limit check with the creation
	// it allows, so two concurrent requests cannot both take the last
	// slot (within this process).
	limitMu sync.Mutex
}

// New returns a Service. blobs may be nil when nothing is ever deleted
// (tests); otherwise removed mailboxes' message files are deleted too.
func New(st store.Store, blobs *blob.Store, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	acc := opts.Access
	if acc == nil {
		acc = access.NewManager(st, access.Options{})
	}
	return &Service{st: st, blobs: blobs, sep: opts.PlusSeparator, log: log, acc: acc}
}

// Access returns the token and session manager.
func (s *Service) Access() *access.Manager { return s.acc }

// Store returns the underlying store (for the protocol servers).
func (s *Service) Store() store.Store { return s.st }

func (s *Service) deleteBlobs(ids []string) {
	if s.blobs == nil || len(ids) == 0 {
		return
	}
	if err := s.blobs.Delete(ids...); err != nil {
		// The rows are gone; a leftover file costs disk, not correctness.
		s.log.Warn("deleting message files", "err", err, "count", len(ids))
	}
}

// AddDomain adds a hosted domain.
func (s *Service) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.Domain{}, inputErr("name", err)
	}
	if _, err := s.st.GetDomainAlias(ctx, d); err == nil {
		return store.Domain{}, fmt.Errorf("domain %s: %w as a domain alias", d, store.ErrExists)
	}
	dom, err := s.st.CreateDomain(ctx, d)
	if err != nil {
		return store.Domain{}, fmt.Errorf("add domain %s: %w", d, err)
	}
	s.log.Info("domain added", "domain", d)
	return dom, nil
}

// ListDomains lists hosted domains.
func (s *Service) ListDomains(ctx context.Context) ([]store.Domain, error) {
	return s.st.ListDomains(ctx)
}

// RemoveDomain removes a domain with its mailboxes, aliases and domain
// aliases, and deletes their message files.
func (s *Service) RemoveDomain(ctx context.Context, name string) error {
	d, err := domainname.Normalize(name)
	if err != nil {
		return err
	}
	blobs, err := s.st.DeleteDomain(ctx, d)
	if err != nil {
		return fmt.Errorf("remove domain %s: %w", d, err)
	}
	s.deleteBlobs(blobs)
	s.log.Info("domain removed", "domain", d, "messages", len(blobs))
	return nil
}

// AddDomainAlias makes every address at alias the same address at domain.
func (s *Service) AddDomainAlias(ctx context.Context, alias, domain string) error {
	a, err := domainname.Normalize(alias)
	if err != nil {
		return inputErr("alias", err)
	}
	d, err := domainname.Normalize(domain)
	if err != nil {
		return inputErr("domain", err)
	}
	if _, err := s.st.GetDomain(ctx, d); err != nil {
		return fmt.Errorf("domain alias %s: target domain %s: %w", a, d, err)
	}
	if _, err := s.st.GetDomain(ctx, a); err == nil {
		return fmt.Errorf("domain alias %s: %w as a domain", a, store.ErrExists)
	}
	if err := s.st.CreateDomainAlias(ctx, a, d); err != nil {
		return fmt.Errorf("add domain alias %s: %w", a, err)
	}
	s.log.Info("domain alias added", "alias", a, "domain", d)
	return nil
}

// ListDomainAliases lists domain aliases.
func (s *Service) ListDomainAliases(ctx context.Context) ([]store.DomainAlias, error) {
	return s.st.ListDomainAliases(ctx)
}

// RemoveDomainAlias removes a domain alias.
func (s *Service) RemoveDomainAlias(ctx context.Context, alias string) error {
	a, err := domainname.Normalize(alias)
	if err != nil {
		return err
	}
	if err := s.st.DeleteDomainAlias(ctx, a); err != nil {
		return fmt.Errorf("remove domain alias %s: %w", a, err)
	}
	return nil
}

// NewUser describes a mailbox to create.
type NewUser struct {
	Address     string
	Password    string
	DisplayName string
	QuotaBytes  int64
	Role        store.Role // default RoleUser
}

// AddUser creates a mailbox account with its default folders. The domain
// must be hosted (not a domain alias) and the address must not already be
// an alias.
func (s *Service) AddUser(ctx context.Context, u NewUser) (store.Account, error) {
	local, domain, err := ParseAddress(strings.TrimSpace(u.Address))
	if err != nil {
		return store.Account{}, inputErr("address", err)
	}
	addr := local + "@" + domain
	if s.sep != "" && strings.Contains(local, s.sep) {
		return store.Account{}, inputErr("address", fmt.Errorf("%w: %s: the local part may not contain the subaddress separator %q", ErrInvalidAddress, addr, s.sep))
	}
	dom, err := s.addressDomain(ctx, "add user "+addr, domain)
	if err != nil {
		return store.Account{}, inputErr("address", err)
	}
	if _, err := s.st.GetAlias(ctx, addr); err == nil {
		return store.Account{}, fmt.Errorf("add user %s: %w as an alias", addr, store.ErrExists)
	}
	if u.QuotaBytes < 0 {
		return store.Account{}, inputErr("quota_bytes", fmt.Errorf("add user %s: %w: quota must not be negative", addr, ErrInvalidValue))
	}
	role := u.Role
	if role == "" {
		role = store.RoleUser
	}
	acct := store.Account{
		Address: addr, DomainID: dom.ID, DisplayName: u.DisplayName,
		QuotaBytes: u.QuotaBytes, Enabled: true, Role: role,
	}
	if err := s.setNewPassword(&acct, u.Password); err != nil {
		return store.Account{}, fmt.Errorf("add user %s: %w", addr, err)
	}
	a, err := s.st.CreateAccount(ctx, acct, DefaultFolders)
	if err != nil {
		return store.Account{}, fmt.Errorf("add user %s: %w", addr, err)
	}
	s.log.Info("mailbox added", "address", addr)
	return a, nil
}

// EnsureAdmin creates the MasterAdmin login (no domain, no folders) if it
// does not exist yet.
func (s *Service) EnsureAdmin(ctx context.Context, login, password string) error {
	if _, err := s.st.GetAccountByAddress(ctx, login); err == nil {
		return nil
	}
	acct := store.Account{Address: login, Enabled: true, Role: store.RoleMasterAdmin}
	if err := s.setNewPassword(&acct, password); err != nil {
		return fmt.Errorf("admin %s: %w", login, err)
	}
	if _, err := s.st.CreateAccount(ctx, acct, nil); err != nil {
		return fmt.Errorf("create admin %s: %w", login, err)
	}
	return nil
}

// setNewPassword gives a its credentials for a password someone chose
// (auth.SetPassword: the argon2id hash and the SCRAM-SHA-256 credential),
// refusing a weak one; every operation calls its password input
// "password".
func (s *Service) setNewPassword(a *store.Account, pw string) error {
	if err := auth.CheckPasswordStrength(pw); err != nil {
		return inputErr("password", err)
	}
	return auth.SetPassword(a, pw)
}

// ListUsers lists mailbox accounts of a domain, or of all domains for "".
func (s *Service) ListUsers(ctx context.Context, domain string) ([]store.Account, error) {
	if domain != "" {
		d, err := domainname.Normalize(domain)
		if err != nil {
			return nil, err
		}
		if _, err := s.st.GetDomain(ctx, d); err != nil {
			return nil, fmt.Errorf("domain %s: %w", d, err)
		}
		domain = d
	}
	all, err := s.st.ListAccounts(ctx, domain)
	if err != nil {
		return nil, err
	}
	users := all[:0]
	for _, a := range all {
		if a.DomainID != 0 {
			users = append(users, a)
		}
	}
	return users, nil
}

// GetUser returns a mailbox account by address.
func (s *Service) GetUser(ctx context.Context, address string) (store.Account, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.st.GetAccountByAddress(ctx, addr)
	if err != nil {
		return store.Account{}, fmt.Errorf("mailbox %s: %w", addr, err)
	}
	return a, nil
}

// RemoveUser removes a mailbox and all its mail.
func (s *Service) RemoveUser(ctx context.Context, address string) error {
	a, err := s.GetUser(ctx, address)
	if err != nil {
		return err
	}
	blobs, err := s.st.DeleteAccount(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("remove mailbox %s: %w", a.Address, err)
	}
	s.deleteBlobs(blobs)
	s.log.Info("mailbox removed", "address", a.Address, "messages", len(blobs))
	return nil
}

// SetPassword changes a login's password (mailbox or admin).
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	login = auth.LoginKey(login)
	a, err := s.st.GetAccountByAddress(ctx, login)
	if err != nil {
		return fmt.Errorf("login %s: %w", login, err)
	}
	if err := s.setNewPassword(&a, password); err != nil {
		return err
	}
	if err := s.st.UpdateAccount(ctx, a); err != nil {
		return fmt.Errorf("set password of %s: %w", login, err)
	}
	return nil
}

// AddAlias creates an alias. Its address must be in a hosted domain and
// not be a mailbox; targets may be local or external addresses.
func (s *Service) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	local, domain, err := ParseAddress(strings.TrimSpace(address))
	if err != nil {
		return store.Alias{}, inputErr("address", err)
	}
	addr := local + "@" + domain
	if _, err := s.addressDomain(ctx, "alias "+addr, domain); err != nil {
		return store.Alias{}, inputErr("address", err)
	}
	if _, err := s.st.GetAccountByAddress(ctx, addr); err == nil {
		return store.Alias{}, fmt.Errorf("alias %s: %w as a mailbox", addr, store.ErrExists)
	}
	norm, err := aliasTargets(addr, targets)
	if err != nil {
		return store.Alias{}, inputErr("targets", err)
	}
	a, err := s.st.CreateAlias(ctx, store.Alias{Address: addr, Targets: norm})
	if err != nil {
		return store.Alias{}, fmt.Errorf("add alias %s: %w", addr, err)
	}
	s.log.Info("alias added", "address", addr, "targets", norm)
	return a, nil
}

// SetAliasTargets replaces the targets of the alias addr.
func (s *Service) SetAliasTargets(ctx context.Context, address string, targets []string) (store.Alias, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return store.Alias{}, inputErr("address", err)
	}
	norm, err := aliasTargets(addr, targets)
	if err != nil {
		return store.Alias{}, inputErr("targets", err)
	}
	a, err := s.st.SetAliasTargets(ctx, addr, norm)
	if err != nil {
		return store.Alias{}, fmt.Errorf("alias %s: %w", addr, err)
	}
	s.log.Info("alias changed", "address", addr, "targets", norm)
	return a, nil
}

// aliasTargets normalizes the targets of alias addr, dropping duplicates:
// at least one, none of them the alias itself.
func aliasTargets(addr string, targets []string) ([]string, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("alias %s: %w: at least one target is needed", addr, ErrInvalidValue)
	}
	seen := make(map[string]bool)
	var norm []string
	for _, t := range targets {
		n, err := NormalizeAddress(t)
		if err != nil {
			return nil, fmt.Errorf("alias %s: target: %w", addr, err)
		}
		if n == addr {
			return nil, fmt.Errorf("alias %s: %w: points to itself", addr, ErrLoop)
		}
		if !seen[n] {
			seen[n] = true
			norm = append(norm, n)
		}
	}
	return norm, nil
}

// ListAliases lists aliases of a domain, or all for "".
func (s *Service) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	if domain != "" {
		d, err := domainname.Normalize(domain)
		if err != nil {
			return nil, err
		}
		domain = d
	}
	return s.st.ListAliases(ctx, domain)
}

// RemoveAlias removes an alias.
func (s *Service) RemoveAlias(ctx context.Context, address string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	if err := s.st.DeleteAlias(ctx, addr); err != nil {
		return fmt.Errorf("remove alias %s: %w", addr, err)
	}
	return nil
}

// AddSender lets mailbox send as address (enforced by submission).
// The address must be in a hosted domain or one of its domain aliases.
func (s *Service) AddSender(ctx context.Context, mailbox, address string) error {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return inputErr("mailbox", err)
	}
	addr, err := NormalizeAddress(address)
	if err != nil {
		return inputErr("address", err)
	}
	if _, err := s.senderDomain(ctx, addr); err != nil {
		return inputErr("address", err)
	}
	if err := s.st.AddSenderAddress(ctx, store.SenderAddress{AccountID: a.ID, Address: addr}); err != nil {
		return fmt.Errorf("add sender %s for %s: %w", addr, a.Address, err)
	}
	return nil
}

// ListSenders lists the extra sender addresses of a mailbox.
func (s *Service) ListSenders(ctx context.Context, mailbox string) ([]store.SenderAddress, error) {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	return s.st.ListSenderAddresses(ctx, a.ID)
}

// RemoveSender removes an extra sender address of a mailbox.
func (s *Service) RemoveSender(ctx context.Context, mailbox, address string) error {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return err
	}
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	if err := s.st.RemoveSenderAddress(ctx, store.SenderAddress{AccountID: a.ID, Address: addr}); err != nil {
		return fmt.Errorf("remove sender %s for %s: %w", addr, a.Address, err)
	}
	return nil
}

// AddForward sends copies of a mailbox's mail to target; keepCopy keeps
// the mailbox's own copy too.
func (s *Service) AddForward(ctx context.Context, mailbox, target string, keepCopy bool) error {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return inputErr("mailbox", err)
	}
	t, err := NormalizeAddress(target)
	if err != nil {
		return inputErr("target", err)
	}
	if t == a.Address {
		return inputErr("target", fmt.Errorf("forward of %s: %w: points to itself", a.Address, ErrLoop))
	}
	if err := s.st.AddForward(ctx, store.Forward{AccountID: a.ID, Target: t, KeepCopy: keepCopy}); err != nil {
		return fmt.Errorf("add forward %s -> %s: %w", a.Address, t, err)
	}
	return nil
}

// ListForwards lists the forwards of a mailbox.
func (s *Service) ListForwards(ctx context.Context, mailbox string) ([]store.Forward, error) {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	return s.st.ListForwards(ctx, a.ID)
}

// RemoveForward removes a forward of a mailbox.
func (s *Service) RemoveForward(ctx context.Context, mailbox, target string) error {
	a, err := s.GetUser(ctx, mailbox)
	if err != nil {
		return err
	}
	t, err := NormalizeAddress(target)
	if err != nil {
		return err
	}
	if err := s.st.RemoveForward(ctx, a.ID, t); err != nil {
		return fmt.Errorf("remove forward %s -> %s: %w", a.Address, t, err)
	}
	return nil
}

// IsNotFound reports whether err means a missing domain, address or row.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
