package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/dnsrecords"
	"mailport/internal/domainname"
	"mailport/internal/store"
)

// ErrLimitExceeded is a DomainAdmin creating past one of its limits.
var ErrLimitExceeded = access.ErrLimitExceeded

// Scope is the directory as one principal sees it. Every method checks the
// principal's permission once, enforces a DomainAdmin's limits on what it
// creates, and records each change in the audit log, so the CLI, the API
// and the portal, which all call these methods, cannot disagree about who
// may do what. Denials are access.ErrForbidden; they are decided from the
// names involved before anything is looked up, so they do not reveal
// whether an object exists.
//
// A Scope is meant for one request or one command; it is not safe for
// concurrent use (AddDomain extends its principal's domains).
type Scope struct {
	s *Service
	p access.Principal
}

// As returns the directory scoped to principal p.
func (s *Service) As(p access.Principal) *Scope { return &Scope{s: s, p: p} }

// Principal returns the scope's principal.
func (sc *Scope) Principal() access.Principal { return sc.p }

// audit records a change. The change is already committed, so a failure
// to record it is logged rather than reported as a failed operation.
func (sc *Scope) audit(ctx context.Context, action, objType, objID, domain string, before, after any) {
	e := store.AuditEntry{
		Actor: sc.p.Login(), ActorRole: sc.p.Role(), RemoteIP: sc.p.RemoteIP,
		Action: action, ObjectType: objType, ObjectID: objID, Domain: domain,
	}
	for _, v := range []struct {
		dst *json.RawMessage
		src any
	}{{&e.Before, before}, {&e.After, after}} {
		if v.src == nil {
			continue
		}
		b, err := json.Marshal(v.src)
		if err != nil {
			sc.s.log.Error("audit: encoding object", "action", action, "err", err)
			continue
		}
		*v.dst = b
	}
	if _, err := sc.s.st.AppendAudit(ctx, e); err != nil {
		sc.s.log.Error("audit: write failed", "action", action, "object", objID, "actor", e.Actor, "err", err)
	}
}

// Audit records a change made outside the directory (the outbound
// queue, the server settings) in the same log, as the principal's.
func (sc *Scope) Audit(ctx context.Context, action, objType, objID, domain string, before, after any) {
	sc.audit(ctx, action, objType, objID, domain, before, after)
}

func (sc *Scope) require(ok bool, what string) error { return access.Require(ok, sc.p, what) }

// limited runs create when the principal is not a DomainAdmin, or when
// check passes on its limits and current usage; the check and the
// creation are serialized.
func (sc *Scope) limited(ctx context.Context, check func(l store.AdminLimits, u store.AdminUsage) error, create func() error) error {
	if !sc.p.IsDomainAdmin() {
		return create()
	}
	sc.s.limitMu.Lock()
	defer sc.s.limitMu.Unlock()
	l, err := sc.s.st.AdminLimits(ctx, sc.p.Account.ID)
	if err != nil {
		return fmt.Errorf("limits of %s: %w", sc.p.Login(), err)
	}
	u, err := sc.s.st.AdminUsage(ctx, sc.p.Account.ID)
	if err != nil {
		return fmt.Errorf("usage of %s: %w", sc.p.Login(), err)
	}
	if err := check(l, u); err != nil {
		return err
	}
	return create()
}

// countLimit fails when have+1 would exceed max (0 = unlimited).
func (sc *Scope) countLimit(max, have int64, what string) error {
	if max > 0 && have+1 > max {
		return fmt.Errorf("%w: %d %s for admin %s", ErrLimitExceeded, max, what, sc.p.Login())
	}
	return nil
}

// storageLimit checks a DomainAdmin's total quota when a mailbox's quota
// goes from old to quota: with a storage limit every mailbox needs a quota,
// and the quotas together must fit.
func (sc *Scope) storageLimit(l store.AdminLimits, u store.AdminUsage, old, quota int64) error {
	if l.MaxStorageBytes == 0 {
		return nil
	}
	if quota <= 0 {
		return fmt.Errorf("%w: storage of %d bytes for admin %s: the mailbox needs a quota", ErrLimitExceeded, l.MaxStorageBytes, sc.p.Login())
	}
	if total := u.QuotaBytes - old + quota; total > l.MaxStorageBytes {
		return fmt.Errorf("%w: storage of %d bytes for admin %s (quotas would total %d)", ErrLimitExceeded, l.MaxStorageBytes, sc.p.Login(), total)
	}
	return nil
}

// ownedDomains returns nil for a MasterAdmin (all) or the DomainAdmin's
// domains; MailUsers get ErrForbidden.
func (sc *Scope) ownedDomains(what string) (all bool, domains []string, err error) {
	switch {
	case sc.p.IsMaster():
		return true, nil, nil
	case sc.p.IsDomainAdmin():
		return false, slices.Clone(sc.p.Domains), nil
	}
	return false, nil, access.Deny(sc.p, what)
}

// --- Domains ---

// AddDomain adds a hosted domain. A DomainAdmin may when its max_domains
// limit allows (0: it may not) and the name reaches into nothing hosted
// for others (checkDomainClaim); the domain is then assigned to it.
func (sc *Scope) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	if err := sc.require(access.CanCreateDomain(sc.p), "add domains"); err != nil {
		return store.Domain{}, err
	}
	n, err := domainname.Normalize(name)
	if err != nil {
		return store.Domain{}, inputErr("name", err)
	}
	var d store.Domain
	err = sc.limited(ctx, func(l store.AdminLimits, u store.AdminUsage) error {
		if err := sc.domainAllowance(l, u.Domains); err != nil {
			return err
		}
		return sc.checkDomainClaim(ctx, n)
	}, func() error {
		var err error
		if d, err = sc.s.AddDomain(ctx, n); err != nil {
			return err
		}
		if sc.p.IsDomainAdmin() {
			if err := sc.s.st.AddAdminDomain(ctx, sc.p.Account.ID, d.Name); err != nil {
				return fmt.Errorf("assign %s to %s: %w", d.Name, sc.p.Login(), err)
			}
			sc.p.Domains = append(sc.p.Domains, d.Name)
		}
		return nil
	})
	if err != nil {
		return store.Domain{}, err
	}
	sc.audit(ctx, "domain.create", "domain", d.Name, d.Name, nil, DomainView(d))
	return d, nil
}

// RemoveDomain removes a domain with everything in it.
func (sc *Scope) RemoveDomain(ctx context.Context, name string) error {
	d, err := domainname.Normalize(name)
	if err != nil {
		return inputErr("name", err)
	}
	if err := sc.require(access.CanManageDomain(sc.p, d), "remove domain "+d); err != nil {
		return err
	}
	before, err := sc.s.hostedDomain(ctx, d)
	if err != nil {
		return err
	}
	if err := sc.s.RemoveDomain(ctx, d); err != nil {
		return err
	}
	sc.audit(ctx, "domain.delete", "domain", d, d, DomainView(before), nil)
	return nil
}

// GetDomain returns a hosted domain with its split routing.
func (sc *Scope) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.Domain{}, inputErr("name", err)
	}
	if err := sc.require(access.CanManageDomain(sc.p, d), "read domain "+d); err != nil {
		return store.Domain{}, err
	}
	return sc.s.GetDomain(ctx, d)
}

// ListDomains lists the domains the principal administers.
func (sc *Scope) ListDomains(ctx context.Context) ([]store.Domain, error) {
	all, own, err := sc.ownedDomains("list domains")
	if err != nil {
		return nil, err
	}
	ds, err := sc.s.ListDomains(ctx)
	if err != nil || all {
		return ds, err
	}
	return slices.DeleteFunc(ds, func(d store.Domain) bool { return !slices.Contains(own, d.Name) }), nil
}

// SetSDR turns split domain routing on for a domain.
func (sc *Scope) SetSDR(ctx context.Context, domain, host string, port int) error {
	return sc.changeSDR(ctx, domain, func(d string) error { return sc.s.SetSDR(ctx, d, host, port) })
}

// ClearSDR turns split domain routing off.
func (sc *Scope) ClearSDR(ctx context.Context, domain string) error {
	return sc.changeSDR(ctx, domain, func(d string) error { return sc.s.ClearSDR(ctx, d) })
}

func (sc *Scope) changeSDR(ctx context.Context, domain string, change func(d string) error) error {
	d, err := domainname.Normalize(domain)
	if err != nil {
		return inputErr("name", err)
	}
	if err := sc.require(access.CanManageDomain(sc.p, d), "change split routing of "+d); err != nil {
		return err
	}
	before, err := sc.s.hostedDomain(ctx, d)
	if err != nil {
		return err
	}
	if err := change(d); err != nil {
		return err
	}
	after, err := sc.s.hostedDomain(ctx, d)
	if err != nil {
		return err
	}
	sc.audit(ctx, "domain.sdr", "domain", d, d, DomainView(before), DomainView(after))
	return nil
}

// --- DKIM and DNS ---

// manageDomain checks that the principal administers the domain called
// name, the domain an operation acts on ("name" in its path).
func (sc *Scope) manageDomain(name, what string) (string, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return "", inputErr("name", err)
	}
	return d, sc.require(access.CanManageDomain(sc.p, d), what+" of "+d)
}

// GenerateDKIM makes a new signing key for a domain (see Service.GenerateDKIM).
func (sc *Scope) GenerateDKIM(ctx context.Context, domain, algorithm, selector string) (DKIMKey, error) {
	d, err := sc.manageDomain(domain, "generate dkim keys")
	if err != nil {
		return DKIMKey{}, err
	}
	k, err := sc.s.GenerateDKIM(ctx, d, algorithm, selector)
	if err != nil {
		return DKIMKey{}, err
	}
	v := dkimView(k)
	sc.audit(ctx, "dkim.generate", "dkim_key", d+"/"+k.Selector, d, nil, v)
	return v, nil
}

// ListDKIM lists a domain's keys without their private parts.
func (sc *Scope) ListDKIM(ctx context.Context, domain string) ([]DKIMKey, error) {
	d, err := sc.manageDomain(domain, "read dkim keys")
	if err != nil {
		return nil, err
	}
	keys, err := sc.s.ListDKIM(ctx, d)
	if err != nil {
		return nil, err
	}
	out := make([]DKIMKey, len(keys))
	for i, k := range keys {
		out[i] = dkimView(k)
	}
	return out, nil
}

// ActivateDKIM makes a key the signing key.
func (sc *Scope) ActivateDKIM(ctx context.Context, domain, selector string) error {
	d, err := sc.manageDomain(domain, "activate dkim keys")
	if err != nil {
		return err
	}
	if err := sc.s.ActivateDKIM(ctx, d, selector); err != nil {
		return err
	}
	sel, _ := NormalizeSelector(selector)
	sc.audit(ctx, "dkim.activate", "dkim_key", d+"/"+sel, d, nil, map[string]any{"selector": sel, "active": true})
	return nil
}

// RemoveDKIM deletes a key.
func (sc *Scope) RemoveDKIM(ctx context.Context, domain, selector string) error {
	d, err := sc.manageDomain(domain, "remove dkim keys")
	if err != nil {
		return err
	}
	sel, err := NormalizeSelector(selector)
	if err != nil {
		return inputErr("selector", err)
	}
	var before any
	if keys, err := sc.s.ListDKIM(ctx, d); err == nil {
		for _, k := range keys {
			if k.Selector == sel {
				before = dkimView(k)
			}
		}
	}
	if err := sc.s.RemoveDKIM(ctx, d, sel); err != nil {
		return err
	}
	sc.audit(ctx, "dkim.delete", "dkim_key", d+"/"+sel, d, before, nil)
	return nil
}

// DKIMRecords returns the DKIM TXT records of a domain.
func (sc *Scope) DKIMRecords(ctx context.Context, domain string) ([]dnsrecords.Record, error) {
	d, err := sc.manageDomain(domain, "read dns records")
	if err != nil {
		return nil, err
	}
	return sc.s.DKIMRecords(ctx, d)
}

// DNSRecords returns every record a domain needs.
func (sc *Scope) DNSRecords(ctx context.Context, domain string, srv dnsrecords.Server, opts dnsrecords.Options) ([]dnsrecords.Record, error) {
	d, err := sc.manageDomain(domain, "read dns records")
	if err != nil {
		return nil, err
	}
	return sc.s.DNSRecords(ctx, d, srv, opts)
}

// --- Domain aliases ---

// AddDomainAlias makes alias a domain alias of domain; a DomainAdmin needs
// to administer domain and stay within its domain alias limit.
func (sc *Scope) AddDomainAlias(ctx context.Context, alias, domain string) error {
	a, err := domainname.Normalize(alias)
	if err != nil {
		return inputErr("alias", err)
	}
	d, err := sc.manageDomain(domain, "add domain aliases")
	if err != nil {
		return inputErr("domain", err)
	}
	err = sc.limited(ctx, func(l store.AdminLimits, u store.AdminUsage) error {
		return sc.countLimit(l.MaxDomainAliases, u.DomainAliases, "domain aliases")
	}, func() error { return sc.s.AddDomainAlias(ctx, a, d) })
	if err != nil {
		return err
	}
	sc.audit(ctx, "domain_alias.create", "domain_alias", a, d, nil, DomainAlias{Alias: a, Domain: d})
	return nil
}

// RemoveDomainAlias removes a domain alias of a domain the principal
// administers.
func (sc *Scope) RemoveDomainAlias(ctx context.Context, alias string) error {
	a, err := domainname.Normalize(alias)
	if err != nil {
		return inputErr("alias", err)
	}
	if !sc.p.IsMaster() && !sc.p.IsDomainAdmin() {
		return access.Deny(sc.p, "remove domain aliases")
	}
	da, err := sc.s.st.GetDomainAlias(ctx, a)
	if err != nil {
		return fmt.Errorf("domain alias %s: %w", a, err)
	}
	if err := sc.require(access.CanManageDomain(sc.p, da.Domain), "remove domain alias "+a); err != nil {
		return err
	}
	if err := sc.s.RemoveDomainAlias(ctx, a); err != nil {
		return err
	}
	sc.audit(ctx, "domain_alias.delete", "domain_alias", a, da.Domain, DomainAliasView(da), nil)
	return nil
}

// ListDomainAliases lists the domain aliases of the principal's domains.
func (sc *Scope) ListDomainAliases(ctx context.Context) ([]store.DomainAlias, error) {
	all, own, err := sc.ownedDomains("list domain aliases")
	if err != nil {
		return nil, err
	}
	das, err := sc.s.ListDomainAliases(ctx)
	if err != nil || all {
		return das, err
	}
	return slices.DeleteFunc(das, func(d store.DomainAlias) bool { return !slices.Contains(own, d.Domain) }), nil
}

// --- Relay domains ---

// AddRelayDomain adds a relay domain; a DomainAdmin only below one of its
// domains.
func (sc *Scope) AddRelayDomain(ctx context.Context, name, host string, port int, recipients []string) (store.RelayDomain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.RelayDomain{}, inputErr("name", err)
	}
	if err := sc.require(access.CanManageRelayDomain(sc.p, d), "add relay domain "+d); err != nil {
		return store.RelayDomain{}, err
	}
	rd, err := sc.s.AddRelayDomain(ctx, d, host, port, recipients)
	if err != nil {
		return store.RelayDomain{}, err
	}
	sc.audit(ctx, "relay_domain.create", "relay_domain", d, d, nil, RelayDomainView(rd))
	return rd, nil
}

// GetRelayDomain returns a relay domain with its recipients.
func (sc *Scope) GetRelayDomain(ctx context.Context, name string) (store.RelayDomain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.RelayDomain{}, inputErr("name", err)
	}
	if err := sc.require(access.CanManageRelayDomain(sc.p, d), "read relay domain "+d); err != nil {
		return store.RelayDomain{}, err
	}
	rd, err := sc.s.st.GetRelayDomain(ctx, d)
	if err != nil {
		return store.RelayDomain{}, fmt.Errorf("relay domain %s: %w", d, err)
	}
	return rd, nil
}

// RelayUpdate changes the fields of a relay domain that are not nil;
// Recipients replaces the list (empty: every address is accepted).
type RelayUpdate struct {
	Host       *string
	Port       *int
	Recipients *[]string
}

// UpdateRelayDomain changes a relay domain, under the rules of
// AddRelayDomain.
func (sc *Scope) UpdateRelayDomain(ctx context.Context, name string, up RelayUpdate) (store.RelayDomain, error) {
	before, err := sc.GetRelayDomain(ctx, name)
	if err != nil {
		return store.RelayDomain{}, err
	}
	next := before
	if up.Host != nil {
		next.Host = *up.Host
	}
	if up.Port != nil {
		next.Port = *up.Port
	}
	if up.Recipients != nil {
		next.Recipients = *up.Recipients
	}
	after, err := sc.s.UpdateRelayDomain(ctx, next)
	if err != nil {
		return store.RelayDomain{}, err
	}
	sc.audit(ctx, "relay_domain.update", "relay_domain", after.Name, after.Name, RelayDomainView(before), RelayDomainView(after))
	return after, nil
}

// RemoveRelayDomain removes a relay domain.
func (sc *Scope) RemoveRelayDomain(ctx context.Context, name string) error {
	before, err := sc.GetRelayDomain(ctx, name)
	if err != nil {
		return err
	}
	if err := sc.s.RemoveRelayDomain(ctx, before.Name); err != nil {
		return err
	}
	sc.audit(ctx, "relay_domain.delete", "relay_domain", before.Name, before.Name, RelayDomainView(before), nil)
	return nil
}

// ListRelayDomains lists the relay domains the principal manages.
func (sc *Scope) ListRelayDomains(ctx context.Context) ([]store.RelayDomain, error) {
	all, _, err := sc.ownedDomains("list relay domains")
	if err != nil {
		return nil, err
	}
	rds, err := sc.s.ListRelayDomains(ctx)
	if err != nil || all {
		return rds, err
	}
	return slices.DeleteFunc(rds, func(r store.RelayDomain) bool { return !access.CanManageRelayDomain(sc.p, r.Name) }), nil
}

// --- Mailboxes ---

// AddMailbox creates a mailbox. DomainAdmins stay within their mailbox and
// storage limits and create plain mailboxes only (admins are made with
// CreateAdmin).
func (sc *Scope) AddMailbox(ctx context.Context, u NewUser) (Mailbox, error) {
	addr, err := NormalizeAddress(strings.TrimSpace(u.Address))
	if err != nil {
		return Mailbox{}, inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, addr), "add mailbox "+addr); err != nil {
		return Mailbox{}, err
	}
	if u.Role != "" && u.Role != store.RoleUser && !sc.p.IsMaster() {
		return Mailbox{}, access.Deny(sc.p, "create a mailbox with role "+string(u.Role))
	}
	var acct store.Account
	err = sc.limited(ctx, func(l store.AdminLimits, us store.AdminUsage) error {
		if err := sc.countLimit(l.MaxMailboxes, us.Mailboxes, "mailboxes"); err != nil {
			return err
		}
		return sc.storageLimit(l, us, 0, u.QuotaBytes)
	}, func() error {
		u.Address = addr
		acct, err = sc.s.AddUser(ctx, u)
		return err
	})
	if err != nil {
		return Mailbox{}, err
	}
	v := mailboxView(acct)
	sc.audit(ctx, "mailbox.create", "mailbox", v.Address, v.Domain, nil, v)
	return v, nil
}

// mailbox looks up a mailbox account (one with a domain).
func (sc *Scope) mailbox(ctx context.Context, addr string) (store.Account, error) {
	a, err := sc.s.GetUser(ctx, addr)
	if err != nil {
		return store.Account{}, err
	}
	if a.DomainID == 0 {
		return store.Account{}, fmt.Errorf("mailbox %s: %w", addr, store.ErrNotFound)
	}
	return a, nil
}

// GetMailbox returns a mailbox to its managers and its owner.
func (sc *Scope) GetMailbox(ctx context.Context, address string) (Mailbox, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return Mailbox{}, inputErr("address", err)
	}
	if err := sc.require(access.CanReadMailbox(sc.p, addr), "read mailbox "+addr); err != nil {
		return Mailbox{}, err
	}
	a, err := sc.mailbox(ctx, addr)
	if err != nil {
		return Mailbox{}, err
	}
	return mailboxView(a), nil
}

// RemoveMailbox removes a mailbox and all its mail.
func (sc *Scope) RemoveMailbox(ctx context.Context, address string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, addr), "remove mailbox "+addr); err != nil {
		return err
	}
	a, err := sc.mailbox(ctx, addr)
	if err != nil {
		return err
	}
	if err := sc.s.RemoveUser(ctx, addr); err != nil {
		return err
	}
	v := mailboxView(a)
	sc.audit(ctx, "mailbox.delete", "mailbox", addr, v.Domain, v, nil)
	return nil
}

// MailboxUpdate changes the fields that are not nil.
type MailboxUpdate struct {
	DisplayName *string
	QuotaBytes  *int64
	Enabled     *bool
	Password    *string
}

// maxDisplayName bounds a display name.
const maxDisplayName = 256

// UpdateMailbox changes a mailbox. Its managers change every field; its
// owner only the display name and password. A DomainAdmin's quota change
// stays within its storage limit.
func (sc *Scope) UpdateMailbox(ctx context.Context, address string, up MailboxUpdate) (Mailbox, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return Mailbox{}, inputErr("address", err)
	}
	change := access.MailboxChange{DisplayName: up.DisplayName != nil, Password: up.Password != nil, Quota: up.QuotaBytes != nil, Enabled: up.Enabled != nil}
	if err := sc.require(access.CanUpdateMailbox(sc.p, addr, change), "change "+changedFields(change)+" of mailbox "+addr); err != nil {
		return Mailbox{}, err
	}
	if up.DisplayName != nil && (len(*up.DisplayName) > maxDisplayName || strings.ContainsAny(*up.DisplayName, "\r\n\x00")) {
		return Mailbox{}, inputErr("display_name", fmt.Errorf("mailbox %s: %w: display name longer than %d bytes or with a line break", addr, ErrInvalidValue, maxDisplayName))
	}
	if up.QuotaBytes != nil && *up.QuotaBytes < 0 {
		return Mailbox{}, inputErr("quota_bytes", fmt.Errorf("mailbox %s: %w: quota must not be negative", addr, ErrInvalidValue))
	}
	var before, after store.Account
	update := func() error {
		var err error
		if before, err = sc.mailbox(ctx, addr); err != nil {
			return err
		}
		after = before
		if up.DisplayName != nil {
			after.DisplayName = *up.DisplayName
		}
		if up.QuotaBytes != nil {
			after.QuotaBytes = *up.QuotaBytes
		}
		if up.Enabled != nil {
			after.Enabled = *up.Enabled
		}
		if up.Password != nil {
			if err := sc.s.setNewPassword(&after, *up.Password); err != nil {
				return fmt.Errorf("mailbox %s: %w", addr, err)
			}
		}
		if err := sc.s.st.UpdateAccount(ctx, after); err != nil {
			return fmt.Errorf("update mailbox %s: %w", addr, err)
		}
		return nil
	}
	if up.QuotaBytes != nil {
		err = sc.limited(ctx, func(l store.AdminLimits, u store.AdminUsage) error {
			cur, err := sc.mailbox(ctx, addr)
			if err != nil {
				return err
			}
			if *up.QuotaBytes == cur.QuotaBytes {
				return nil
			}
			return sc.storageLimit(l, u, cur.QuotaBytes, *up.QuotaBytes)
		}, update)
	} else {
		err = update()
	}
	if err != nil {
		return Mailbox{}, err
	}
	bv, av := mailboxView(before), mailboxView(after)
	type withPassword struct {
		Mailbox
		PasswordChanged bool `json:"password_changed,omitempty"`
	}
	sc.audit(ctx, "mailbox.update", "mailbox", addr, bv.Domain, bv, withPassword{av, up.Password != nil})
	return av, nil
}

func changedFields(c access.MailboxChange) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.DisplayName, "display name"}, {c.Password, "password"}, {c.Quota, "quota"}, {c.Enabled, "enabled"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "nothing"
	}
	return strings.Join(f, ", ")
}

// MailboxQuery selects a page of mailboxes. Domain "" means every domain
// the principal administers.
type MailboxQuery struct {
	Domain string
	Search string
	Sort   store.AccountSort
	Desc   bool
	Limit  int
	Offset int
}

// ListMailboxes pages through the mailboxes of the principal's domains.
func (sc *Scope) ListMailboxes(ctx context.Context, q MailboxQuery) (MailboxPage, error) {
	all, own, err := sc.ownedDomains("list mailboxes")
	if err != nil {
		return MailboxPage{}, err
	}
	sq := store.AccountQuery{AllDomains: all, Domains: own, Search: q.Search, Sort: q.Sort, Desc: q.Desc, Limit: q.Limit, Offset: q.Offset}
	if q.Domain != "" {
		d, err := sc.manageDomain(q.Domain, "list mailboxes")
		if err != nil {
			return MailboxPage{}, inputErr("domain", err)
		}
		sq.AllDomains, sq.Domains = false, []string{d}
	}
	if _, ok := map[store.AccountSort]bool{"": true, store.SortAddress: true, store.SortDisplayName: true,
		store.SortUsed: true, store.SortQuota: true, store.SortCreated: true}[q.Sort]; !ok {
		return MailboxPage{}, inputErr("sort", fmt.Errorf("%w: unknown sort %q (address, name, used, quota, created)", ErrInvalidQuery, q.Sort))
	}
	if q.Limit < 0 || q.Offset < 0 || len(q.Search) > maxAddressLength {
		return MailboxPage{}, fmt.Errorf("%w: negative limit or offset, or search too long", ErrInvalidQuery)
	}
	accts, total, err := sc.s.st.QueryAccounts(ctx, sq)
	if err != nil {
		return MailboxPage{}, err
	}
	page := MailboxPage{Mailboxes: make([]Mailbox, len(accts)), Total: total}
	for i, a := range accts {
		page.Mailboxes[i] = mailboxView(a)
	}
	return page, nil
}

// ErrInvalidQuery is a bad list parameter (sort, paging).
var ErrInvalidQuery = errors.New("invalid query")

// ChangePassword sets the password of a login: its owner, a MasterAdmin,
// or the DomainAdmin of a mailbox's domain.
func (sc *Scope) ChangePassword(ctx context.Context, login, password string) error {
	login = auth.LoginKey(login)
	ok := access.CanManageCredentials(sc.p, login) || (strings.Contains(login, "@") && access.CanManageMailbox(sc.p, login))
	if err := sc.require(ok, "change the password of "+login); err != nil {
		return err
	}
	if err := sc.s.SetPassword(ctx, login, password); err != nil {
		return err
	}
	sc.audit(ctx, "password.change", "account", login, domainPart(login), nil, map[string]any{"login": login, "password_changed": true})
	return nil
}

// --- Aliases ---

// AddAlias creates an alias within a DomainAdmin's alias limit (sender
// addresses count too).
func (sc *Scope) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	addr, err := NormalizeAddress(strings.TrimSpace(address))
	if err != nil {
		return store.Alias{}, inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, addr), "add alias "+addr); err != nil {
		return store.Alias{}, err
	}
	var al store.Alias
	err = sc.limited(ctx, func(l store.AdminLimits, u store.AdminUsage) error {
		return sc.countLimit(l.MaxAliases, u.Aliases, "aliases and sender addresses")
	}, func() error {
		al, err = sc.s.AddAlias(ctx, addr, targets)
		return err
	})
	if err != nil {
		return store.Alias{}, err
	}
	sc.audit(ctx, "alias.create", "alias", addr, domainPart(addr), nil, AliasView(al))
	return al, nil
}

// GetAlias returns an alias.
func (sc *Scope) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return store.Alias{}, inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, addr), "read alias "+addr); err != nil {
		return store.Alias{}, err
	}
	al, err := sc.s.st.GetAlias(ctx, addr)
	if err != nil {
		return store.Alias{}, fmt.Errorf("alias %s: %w", addr, err)
	}
	return al, nil
}

// SetAliasTargets replaces the targets of an alias.
func (sc *Scope) SetAliasTargets(ctx context.Context, address string, targets []string) (store.Alias, error) {
	before, err := sc.GetAlias(ctx, address)
	if err != nil {
		return store.Alias{}, err
	}
	after, err := sc.s.SetAliasTargets(ctx, before.Address, targets)
	if err != nil {
		return store.Alias{}, err
	}
	sc.audit(ctx, "alias.update", "alias", after.Address, domainPart(after.Address), AliasView(before), AliasView(after))
	return after, nil
}

// RemoveAlias removes an alias.
func (sc *Scope) RemoveAlias(ctx context.Context, address string) error {
	before, err := sc.GetAlias(ctx, address)
	if err != nil {
		return err
	}
	if err := sc.s.RemoveAlias(ctx, before.Address); err != nil {
		return err
	}
	sc.audit(ctx, "alias.delete", "alias", before.Address, domainPart(before.Address), AliasView(before), nil)
	return nil
}

// ListAliases lists the aliases of a domain, or of every domain the
// principal administers for "".
func (sc *Scope) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	all, own, err := sc.ownedDomains("list aliases")
	if err != nil {
		return nil, err
	}
	if domain != "" {
		d, err := sc.manageDomain(domain, "list aliases")
		if err != nil {
			return nil, inputErr("domain", err)
		}
		return sc.s.ListAliases(ctx, d)
	}
	if all {
		return sc.s.ListAliases(ctx, "")
	}
	var out []store.Alias
	for _, d := range own {
		as, err := sc.s.ListAliases(ctx, d)
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// --- Sender addresses ---

// AddSender lets a mailbox send as address. A DomainAdmin may only hand
// out addresses of its own domains (or their domain aliases), within its
// alias limit; MailUsers cannot give themselves addresses.
func (sc *Scope) AddSender(ctx context.Context, mailbox, address string) error {
	mb, err := NormalizeAddress(mailbox)
	if err != nil {
		return inputErr("mailbox", err)
	}
	addr, err := NormalizeAddress(address)
	if err != nil {
		return inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, mb), "add sender addresses to "+mb); err != nil {
		return err
	}
	if !sc.p.IsMaster() {
		canon, err := sc.s.senderDomain(ctx, addr)
		if err != nil {
			return inputErr("address", err)
		}
		if !access.CanManageDomain(sc.p, canon) {
			return access.Deny(sc.p, "hand out sender address "+addr+" outside its domains")
		}
	}
	err = sc.limited(ctx, func(l store.AdminLimits, u store.AdminUsage) error {
		return sc.countLimit(l.MaxAliases, u.Aliases, "aliases and sender addresses")
	}, func() error { return sc.s.AddSender(ctx, mb, addr) })
	if err != nil {
		return err
	}
	v := SenderAddress{Mailbox: mb, Address: addr}
	sc.audit(ctx, "sender.create", "sender_address", mb+" "+addr, domainPart(mb), nil, v)
	return nil
}

// RemoveSender removes an extra sender address of a mailbox.
func (sc *Scope) RemoveSender(ctx context.Context, mailbox, address string) error {
	mb, err := NormalizeAddress(mailbox)
	if err != nil {
		return inputErr("mailbox", err)
	}
	addr, err := NormalizeAddress(address)
	if err != nil {
		return inputErr("address", err)
	}
	if err := sc.require(access.CanManageMailbox(sc.p, mb), "remove sender addresses of "+mb); err != nil {
		return err
	}
	if err := sc.s.RemoveSender(ctx, mb, addr); err != nil {
		return err
	}
	v := SenderAddress{Mailbox: mb, Address: addr}
	sc.audit(ctx, "sender.delete", "sender_address", mb+" "+addr, domainPart(mb), v, nil)
	return nil
}

// mailboxFor normalizes the mailbox a request names (an input error at
// "mailbox" when it is malformed) and checks that the caller may do what
// to it.
func (sc *Scope) mailboxFor(mailbox string, may func(access.Principal, string) bool, what string) (string, error) {
	mb, err := NormalizeAddress(mailbox)
	if err != nil {
		return "", inputErr("mailbox", err)
	}
	if err := sc.require(may(sc.p, mb), what+" "+mb); err != nil {
		return "", err
	}
	return mb, nil
}

// ListSenders lists the extra sender addresses of a mailbox (its owner may
// read them).
func (sc *Scope) ListSenders(ctx context.Context, mailbox string) ([]SenderAddress, error) {
	mb, err := sc.mailboxFor(mailbox, access.CanReadMailbox, "read sender addresses of")
	if err != nil {
		return nil, err
	}
	ss, err := sc.s.ListSenders(ctx, mb)
	if err != nil {
		return nil, err
	}
	out := make([]SenderAddress, len(ss))
	for i, s := range ss {
		out[i] = SenderAddress{Mailbox: mb, Address: s.Address}
	}
	return out, nil
}

// --- Forwards ---

// AddForward adds a forward to a mailbox (its owner may, too).
func (sc *Scope) AddForward(ctx context.Context, mailbox, target string, keepCopy bool) error {
	mb, err := sc.mailboxFor(mailbox, access.CanManageForwards, "add forwards to")
	if err != nil {
		return err
	}
	if err := sc.s.AddForward(ctx, mb, target, keepCopy); err != nil {
		return err
	}
	t, _ := NormalizeAddress(target)
	sc.audit(ctx, "forward.create", "forward", mb+" "+t, domainPart(mb), nil, Forward{Mailbox: mb, Target: t, KeepCopy: keepCopy})
	return nil
}

// RemoveForward removes a forward of a mailbox.
func (sc *Scope) RemoveForward(ctx context.Context, mailbox, target string) error {
	mb, err := sc.mailboxFor(mailbox, access.CanManageForwards, "remove forwards of")
	if err != nil {
		return err
	}
	t, err := NormalizeAddress(target)
	if err != nil {
		return inputErr("target", err)
	}
	var before any
	if fs, err := sc.ListForwards(ctx, mb); err == nil {
		for _, f := range fs {
			if f.Target == t {
				before = f
			}
		}
	}
	if err := sc.s.RemoveForward(ctx, mb, t); err != nil {
		return err
	}
	sc.audit(ctx, "forward.delete", "forward", mb+" "+t, domainPart(mb), before, nil)
	return nil
}

// ListForwards lists the forwards of a mailbox.
func (sc *Scope) ListForwards(ctx context.Context, mailbox string) ([]Forward, error) {
	mb, err := sc.mailboxFor(mailbox, access.CanManageForwards, "read forwards of")
	if err != nil {
		return nil, err
	}
	fs, err := sc.s.ListForwards(ctx, mb)
	if err != nil {
		return nil, err
	}
	out := make([]Forward, len(fs))
	for i, f := range fs {
		out[i] = Forward{Mailbox: mb, Target: f.Target, KeepCopy: f.KeepCopy}
	}
	return out, nil
}

// --- Statistics and audit ---

// DomainStats returns the storage of the principal's domains.
func (sc *Scope) DomainStats(ctx context.Context) ([]store.DomainStats, error) {
	all, own, err := sc.ownedDomains("read statistics")
	if err != nil {
		return nil, err
	}
	if all {
		return sc.s.st.DomainStats(ctx, nil)
	}
	if own == nil {
		own = []string{}
	}
	return sc.s.st.DomainStats(ctx, own)
}

// MailboxStats pages through the storage of the mailboxes of a domain;
// total is the domain's number of mailboxes.
func (sc *Scope) MailboxStats(ctx context.Context, q store.MailboxStatsQuery) (stats []store.MailboxStats, total int, err error) {
	if q.Domain, err = sc.manageDomain(q.Domain, "read statistics"); err != nil {
		return nil, 0, err
	}
	switch q.Sort {
	case "", store.StatsByAddress, store.StatsByUsed, store.StatsByQuota, store.StatsByMessages:
	default:
		return nil, 0, inputErr("sort", fmt.Errorf("%w: unknown sort %q (address, used, quota, messages)", ErrInvalidQuery, q.Sort))
	}
	if q.Limit < 0 || q.Offset < 0 {
		return nil, 0, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	return sc.s.st.MailboxStats(ctx, q)
}

// AuditQuery selects audit entries, newest first. Domain "" means all the
// principal may read.
type AuditQuery struct {
	Domain   string
	Actor    string
	Since    time.Time
	Until    time.Time
	BeforeID int64
	Limit    int
}

// ListAudit returns audit entries: all to a MasterAdmin, those of its
// domains (and relay domains below them) to a DomainAdmin.
func (sc *Scope) ListAudit(ctx context.Context, q AuditQuery) ([]store.AuditEntry, error) {
	if err := sc.require(access.CanReadAudit(sc.p), "read the audit log"); err != nil {
		return nil, err
	}
	f := store.AuditFilter{Since: q.Since, Until: q.Until, Actor: q.Actor, BeforeID: q.BeforeID, Limit: q.Limit}
	switch {
	case q.Domain != "":
		d, err := sc.manageDomain(q.Domain, "read the audit log")
		if err != nil {
			return nil, inputErr("domain", err)
		}
		f.Domains = []string{d}
	case sc.p.IsMaster():
		f.AllDomains = true
	default:
		f.Domains = slices.Clone(sc.p.Domains)
	}
	return sc.s.st.ListAudit(ctx, f)
}
