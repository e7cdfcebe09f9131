// Package access is mailport's permission model: who is acting (the
// Principal), what each role may do (the Can* functions), and how the API
// and the portal learn who is acting (API tokens, portal sessions) and
// keep clients from hammering them (rate limits). The checks are pure
// functions of the principal and the names involved, so the decision never
// depends on whether an object exists and cannot leak that it does.
//
// The directory service calls these checks once per operation; the CLI,
// the API and the portal all go through it (DESIGN.md section 1).
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mailport/internal/store"
)

// Errors the API maps to HTTP statuses: ErrUnauthenticated 401,
// ErrForbidden and ErrCSRF 403, ErrLimitExceeded 409 (a conflict with the
// admin's limits, fixed by raising them or removing something),
// ErrTooManyRequests 429.
var (
	ErrUnauthenticated = errors.New("authentication required")
	ErrForbidden       = errors.New("permission denied")
	ErrCSRF            = errors.New("missing or wrong CSRF token")
	ErrLimitExceeded   = errors.New("limit reached")
	ErrTooManyRequests = errors.New("too many requests")
)

// How a principal reached the service layer.
const (
	ViaCLI    = "cli"
	ViaAPI    = "api"
	ViaPortal = "portal"
)

// CLILogin is the actor name of the mailport command: whoever can run it
// on the host owns the data directory anyway, so it acts as a MasterAdmin.
const CLILogin = "cli"

// Principal is who performs an operation. Domains are the hosted domains a
// DomainAdmin administers (lower case); they are loaded once per request
// by Load.
type Principal struct {
	Account  store.Account
	Domains  []string
	RemoteIP string
	Via      string
}

// CLI returns the principal of the mailport command.
func CLI() Principal {
	return Principal{
		Account: store.Account{Address: CLILogin, Role: store.RoleMasterAdmin, Enabled: true},
		Via:     ViaCLI,
	}
}

// Load builds the principal of an authenticated account, reading a
// DomainAdmin's domains from st.
func Load(ctx context.Context, st store.AdminStore, acct store.Account, via, remoteIP string) (Principal, error) {
	p := Principal{Account: acct, RemoteIP: remoteIP, Via: via}
	if acct.Role == store.RoleDomainAdmin {
		ds, err := st.AdminDomains(ctx, acct.ID)
		if err != nil {
			return Principal{}, fmt.Errorf("access: domains of %s: %w", acct.Address, err)
		}
		p.Domains = ds
	}
	return p, nil
}

// Login is the principal's login ("cli" for the command line).
func (p Principal) Login() string { return p.Account.Address }

// Role is the principal's role.
func (p Principal) Role() store.Role { return p.Account.Role }

// IsMaster reports a MasterAdmin (or the CLI).
func (p Principal) IsMaster() bool { return p.Account.Role == store.RoleMasterAdmin }

// IsDomainAdmin reports a DomainAdmin.
func (p Principal) IsDomainAdmin() bool { return p.Account.Role == store.RoleDomainAdmin }

// hasDomain reports whether domain is one of a DomainAdmin's domains.
func (p Principal) hasDomain(domain string) bool {
	return p.IsDomainAdmin() && domain != "" && slices.Contains(p.Domains, strings.ToLower(domain))
}

// domainOf returns the domain part of an address ("" without "@").
func domainOf(address string) string {
	i := strings.LastIndexByte(address, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(address[i+1:])
}

// CanCreateDomain: MasterAdmins, and DomainAdmins within their domain
// limit (the new domain is assigned to them).
func CanCreateDomain(p Principal) bool { return p.IsMaster() || p.IsDomainAdmin() }

// CanManageDomain: the domain's settings (SDR, DKIM, DNS), its removal,
// and everything in it — mailboxes, aliases, sender addresses, domain
// aliases pointing at it.
func CanManageDomain(p Principal, domain string) bool {
	return p.IsMaster() || p.hasDomain(domain)
}

// CanManageRelayDomain: MasterAdmins, and DomainAdmins for relay domains
// below one of their domains (branch.example.com under example.com), so
// a DomainAdmin cannot claim another customer's name.
func CanManageRelayDomain(p Principal, name string) bool {
	if p.IsMaster() {
		return true
	}
	name = strings.ToLower(name)
	for _, d := range p.Domains {
		if p.IsDomainAdmin() && strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// CanManageMailbox: full control of a mailbox (create, remove, quota,
// enabled, sender addresses): MasterAdmins and the DomainAdmins of its
// domain. A MailUser's own rights are in CanUpdateMailbox.
func CanManageMailbox(p Principal, address string) bool {
	return CanManageDomain(p, domainOf(address))
}

// IsSelf reports whether address is the principal's own login.
func IsSelf(p Principal, address string) bool {
	return p.Account.Address != "" && strings.EqualFold(p.Account.Address, address)
}

// CanReadMailbox: the mailbox's managers and its owner.
func CanReadMailbox(p Principal, address string) bool {
	return CanManageMailbox(p, address) || IsSelf(p, address)
}

// MailboxChange says which fields an update touches.
type MailboxChange struct {
	DisplayName, Password, Quota, Enabled bool
}

// CanUpdateMailbox: managers change every field; the owner only its
// display name and password (quota and enabled are the admin's).
func CanUpdateMailbox(p Principal, address string, c MailboxChange) bool {
	if CanManageMailbox(p, address) {
		return true
	}
	return IsSelf(p, address) && !c.Quota && !c.Enabled
}

// CanManageForwards: a mailbox's forwards are its managers' and its
// owner's (self-service).
func CanManageForwards(p Principal, address string) bool { return CanReadMailbox(p, address) }

// CanManageAdmins: creating, changing and removing DomainAdmins and
// MasterAdmins, their domains and limits — MasterAdmins only.
func CanManageAdmins(p Principal) bool { return p.IsMaster() }

// CanManageServer: server-wide settings and the whole queue.
func CanManageServer(p Principal) bool { return p.IsMaster() }

// CanReadAudit: MasterAdmins read everything, DomainAdmins their
// domains' entries, MailUsers nothing.
func CanReadAudit(p Principal) bool { return p.IsMaster() || p.IsDomainAdmin() }

// CanManageCredentials: API tokens, sessions and the password of a login:
// its owner and MasterAdmins.
func CanManageCredentials(p Principal, login string) bool { return p.IsMaster() || IsSelf(p, login) }

// Deny returns ErrForbidden for the principal doing what.
func Deny(p Principal, what string) error {
	return fmt.Errorf("%w: %s (%s) may not %s", ErrForbidden, p.Login(), p.Role(), what)
}

// Require returns nil when ok and Deny otherwise.
func Require(ok bool, p Principal, what string) error {
	if ok {
		return nil
	}
	return Deny(p, what)
}
